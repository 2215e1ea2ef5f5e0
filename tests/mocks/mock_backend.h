// gmock stand-in for storage::Backend, for driving the protocol programs.
#pragma once

#include <gmock/gmock.h>

#include "storage/backend.h"

namespace nasd::testutil {

class MockBackend : public storage::Backend {
 public:
  using Status = storage::Status;
  using Attr = storage::Attr;
  using FileHandle = storage::FileHandle;
  using Credentials = storage::Credentials;
  using OptAttr = std::optional<storage::Attr>;
  using OptTime = std::optional<storage::Time>;
  using FitsFn = std::function<bool(const storage::DirEntry&)>;

  MOCK_METHOD(Status, root_handle, (std::uint32_t, FileHandle*), (override));
  MOCK_METHOD(Status, export_of, (const FileHandle&, std::uint32_t*), (override));
  MOCK_METHOD(Status, getattr, (const FileHandle&, Attr*), (override));
  MOCK_METHOD(Status, setattr,
              (const Credentials&, const FileHandle&, const storage::SetAttr&, const OptTime&,
               storage::WccData*),
              (override));
  MOCK_METHOD(Status, lookup,
              (const Credentials&, const FileHandle&, std::string_view, FileHandle*, Attr*,
               OptAttr*),
              (override));
  MOCK_METHOD(Status, access,
              (const Credentials&, const FileHandle&, std::uint32_t, std::uint32_t*, OptAttr*),
              (override));
  MOCK_METHOD(Status, readlink, (const Credentials&, const FileHandle&, std::string*, OptAttr*),
              (override));
  MOCK_METHOD(Status, read,
              (const Credentials&, const FileHandle&, std::uint64_t, std::span<std::uint8_t>,
               std::uint32_t*, bool*, OptAttr*),
              (override));
  MOCK_METHOD(Status, write,
              (const Credentials&, const FileHandle&, std::uint64_t,
               std::span<const std::uint8_t>, storage::StableHow, std::uint32_t*,
               storage::StableHow*, storage::WccData*),
              (override));
  MOCK_METHOD(Status, create,
              (const Credentials&, const FileHandle&, std::string_view, storage::CreateMode,
               const storage::SetAttr&, const storage::Verifier&, FileHandle*, Attr*,
               storage::WccData*),
              (override));
  MOCK_METHOD(Status, mkdir,
              (const Credentials&, const FileHandle&, std::string_view, const storage::SetAttr&,
               FileHandle*, Attr*, storage::WccData*),
              (override));
  MOCK_METHOD(Status, symlink,
              (const Credentials&, const FileHandle&, std::string_view, std::string_view,
               const storage::SetAttr&, FileHandle*, Attr*, storage::WccData*),
              (override));
  MOCK_METHOD(Status, mknod,
              (const Credentials&, const FileHandle&, std::string_view, storage::FileType,
               const storage::SetAttr&, std::uint32_t, std::uint32_t, FileHandle*, Attr*,
               storage::WccData*),
              (override));
  MOCK_METHOD(Status, remove,
              (const Credentials&, const FileHandle&, std::string_view, storage::WccData*),
              (override));
  MOCK_METHOD(Status, rmdir,
              (const Credentials&, const FileHandle&, std::string_view, storage::WccData*),
              (override));
  MOCK_METHOD(Status, rename,
              (const Credentials&, const FileHandle&, std::string_view, const FileHandle&,
               std::string_view, storage::WccData*, storage::WccData*),
              (override));
  MOCK_METHOD(Status, link,
              (const Credentials&, const FileHandle&, const FileHandle&, std::string_view,
               OptAttr*, storage::WccData*),
              (override));
  MOCK_METHOD(Status, readdir,
              (const Credentials&, const FileHandle&, std::uint64_t, const storage::Verifier&,
               bool, const FitsFn&, std::vector<storage::DirEntry>*, storage::Verifier*, bool*,
               OptAttr*),
              (override));
  MOCK_METHOD(Status, fsstat, (const FileHandle&, storage::FsStat*, OptAttr*), (override));
  MOCK_METHOD(Status, commit,
              (const Credentials&, const FileHandle&, std::uint64_t, std::uint32_t,
               storage::WccData*),
              (override));
  MOCK_METHOD(Status, try_getattr, (const FileHandle&, Attr*), (override));
  MOCK_METHOD(Status, try_lookup,
              (const Credentials&, const FileHandle&, std::string_view, FileHandle*, Attr*,
               OptAttr*),
              (override));
  MOCK_METHOD(Status, try_lookup_for_attrs,
              (const Credentials&, const FileHandle&, std::string_view, FileHandle*, Attr*,
               OptAttr*),
              (override));
  MOCK_METHOD(Status, try_access,
              (const Credentials&, const FileHandle&, std::uint32_t, std::uint32_t*, OptAttr*),
              (override));
  MOCK_METHOD(Status, try_read,
              (const Credentials&, const FileHandle&, std::uint64_t, std::span<std::uint8_t>,
               std::uint32_t*, bool*, OptAttr*),
              (override));
  MOCK_METHOD(Status, try_readdir,
              (const Credentials&, const FileHandle&, std::uint64_t, const storage::Verifier&,
               bool, const FitsFn&, std::vector<storage::DirEntry>*, storage::Verifier*, bool*,
               OptAttr*),
              (override));
  // NFSv4.2 / xattrs
  MOCK_METHOD(Status, seek,
              (const Credentials&, const FileHandle&, std::uint64_t, bool, std::uint64_t*, bool*),
              (override));
  MOCK_METHOD(Status, allocate,
              (const Credentials&, const FileHandle&, std::uint64_t, std::uint64_t,
               storage::WccData*),
              (override));
  MOCK_METHOD(Status, deallocate,
              (const Credentials&, const FileHandle&, std::uint64_t, std::uint64_t,
               storage::WccData*),
              (override));
  MOCK_METHOD(Status, copy,
              (const Credentials&, const FileHandle&, std::uint64_t, const FileHandle&,
               std::uint64_t, std::uint64_t, std::uint64_t*, storage::WccData*),
              (override));
  MOCK_METHOD(Status, clone,
              (const Credentials&, const FileHandle&, std::uint64_t, const FileHandle&,
               std::uint64_t, std::uint64_t, storage::WccData*),
              (override));
  MOCK_METHOD(Status, getxattr,
              (const Credentials&, const FileHandle&, std::string_view,
               std::vector<std::uint8_t>*),
              (override));
  MOCK_METHOD(Status, setxattr,
              (const Credentials&, const FileHandle&, std::string_view,
               std::span<const std::uint8_t>, storage::XattrSetMode, storage::WccData*),
              (override));
  MOCK_METHOD(Status, listxattrs,
              (const Credentials&, const FileHandle&, std::vector<std::string>*), (override));
  MOCK_METHOD(Status, removexattr,
              (const Credentials&, const FileHandle&, std::string_view, storage::WccData*),
              (override));
};

}  // namespace nasd::testutil
