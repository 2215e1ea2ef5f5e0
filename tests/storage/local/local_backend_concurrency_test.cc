// LocalBackend under concurrent callers: one thread's identity never leaks
// into another's permission checks, parallel writes all land, and listings
// served from recorded attributes (READDIRPLUS, blocking and try_ forms)
// never show a file older than a write that completed before the call;
// lookups during renames pair every handle with its own attributes.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/storage/test_util.h"

namespace nasd::storage {
namespace {

using testing::BackendTest;
using testing::make_cred;

TEST_F(BackendTest, ConcurrentCallersKeepTheirOwnIdentity) {
  testing::write_file(exp_ / "secret", "only 1001", 0600);
  ASSERT_EQ(::chown((exp_ / "secret").c_str(), 1001, 1001), 0);
  FileHandle fh = lookup(root_, "secret");
  std::atomic<int> leaked{0}, refused{0};
  auto reader = [&](std::uint32_t uid, bool should_read) {
    for (int i = 0; i < 300; ++i) {
      std::vector<std::uint8_t> buf(64);
      std::uint32_t n = 0;
      bool eof = false;
      std::optional<Attr> a;
      Status s = be_->read(make_cred(uid, uid), fh, 0, buf, &n, &eof, &a);
      if (should_read && s != Status::kOk) ++refused;
      if (!should_read && s != Status::kAccess) ++leaked;
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(reader, 1000, false);
  threads.emplace_back(reader, 1001, true);
  threads.emplace_back(reader, 0, true);
  threads.emplace_back(reader, 1002, false);
  for (auto& t : threads) t.join();
  EXPECT_EQ(leaked.load(), 0);
  EXPECT_EQ(refused.load(), 0);
}

TEST_F(BackendTest, ParallelWritersToDistinctRangesAllLand) {
  FileHandle fh;
  Attr a;
  WccData w;
  ASSERT_EQ(be_->create(testing::root_cred(), root_, "f", CreateMode::kGuarded, {}, {}, &fh, &a, &w),
            Status::kOk);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::uint8_t> block(8192, static_cast<std::uint8_t>('A' + t));
      std::uint32_t count = 0;
      StableHow committed;
      WccData ww;
      for (int i = 0; i < 20; ++i)
        EXPECT_EQ(be_->write(testing::root_cred(), fh, static_cast<std::uint64_t>(t) * 8192, block,
                             StableHow::kUnstable, &count, &committed, &ww),
                  Status::kOk);
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::uint8_t> all(4 * 8192);
  std::uint32_t n = 0;
  bool eof = false;
  std::optional<Attr> ra;
  ASSERT_EQ(be_->read(testing::root_cred(), fh, 0, all, &n, &eof, &ra), Status::kOk);
  ASSERT_EQ(n, all.size());
  EXPECT_TRUE(eof);
  for (int t = 0; t < 4; ++t) EXPECT_EQ(all[static_cast<std::size_t>(t) * 8192 + 100], 'A' + t);
}

TEST_F(BackendTest, ReaddirplusDuringWritesNeverShowsASizeOlderThanACompletedWrite) {
  // Writers append to the files behind nasd's back (the directory's inotify
  // watch must report it); readers list with readdir and try_readdir at the
  // same time and compare each size with what had completed before the call.
  constexpr int kFiles = 16;
  ASSERT_EQ(::mkdir((exp_ / "d").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i) testing::write_file(exp_ / ("d/f" + std::to_string(i)), "");
  const FileHandle d = lookup(root_, "d");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the listing may be cached
  std::array<std::atomic<std::uint64_t>, kFiles> completed{};  // size after each finished append
  std::atomic<bool> done{false};
  std::atomic<int> stale{0}, listed{0}, served_without_wait{0};
  auto writer = [&](int first) {
    for (int round = 0; round < 60; ++round) {
      for (int i = first; i < kFiles; i += 2) {
        UniqueFd fd(::open((exp_ / ("d/f" + std::to_string(i))).c_str(),
                           O_WRONLY | O_APPEND | O_CLOEXEC));
        ASSERT_TRUE(fd.valid());
        ASSERT_EQ(::write(fd.get(), "x", 1), 1);
        completed[static_cast<std::size_t>(i)].fetch_add(1);
      }
    }
  };
  auto reader = [&](bool nowait) {
    while (!done.load()) {
      std::array<std::uint64_t, kFiles> before{};
      for (std::size_t i = 0; i < before.size(); ++i) before[i] = completed[i].load();
      std::vector<DirEntry> page;
      Verifier verf{};
      bool eof = false;
      std::optional<Attr> da;
      auto fits = [](const DirEntry&) { return true; };
      const Status s =
          nowait ? be_->try_readdir(testing::root_cred(), d, 0, {}, true, fits, &page, &verf, &eof, &da)
                 : be_->readdir(testing::root_cred(), d, 0, {}, true, fits, &page, &verf, &eof, &da);
      if (s == Status::kWouldBlock) continue;
      ASSERT_EQ(s, Status::kOk);
      ++listed;
      if (nowait) ++served_without_wait;
      for (const DirEntry& e : page) {
        if (e.name.size() < 2 || e.name[0] != 'f') continue;
        const int i = std::stoi(e.name.substr(1));
        ASSERT_TRUE(e.attr) << e.name;
        if (e.attr->size < before[static_cast<std::size_t>(i)]) ++stale;
      }
    }
  };
  std::vector<std::thread> readers;
  readers.emplace_back(reader, false);
  readers.emplace_back(reader, true);
  readers.emplace_back(reader, true);
  std::thread w0(writer, 0), w1(writer, 1);
  w0.join();
  w1.join();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_GT(listed.load(), 0);
  // Once the writers stop, the records are taken again and served without waiting.
  std::vector<DirEntry> page;
  Verifier verf{};
  bool eof = false;
  std::optional<Attr> da;
  auto fits = [](const DirEntry&) { return true; };
  ASSERT_EQ(be_->readdir(testing::root_cred(), d, 0, {}, true, fits, &page, &verf, &eof, &da),
            Status::kOk);
  page.clear();
  ASSERT_EQ(be_->try_readdir(testing::root_cred(), d, 0, {}, true, fits, &page, &verf, &eof, &da),
            Status::kOk);
  for (const DirEntry& e : page) {
    if (e.name.size() < 2 || e.name[0] != 'f') continue;
    EXPECT_EQ(e.attr->size, 60u) << e.name;
  }
}

TEST_F(BackendTest, LookupsDuringRenamesNeverPairAHandleWithAnotherFilesAttributes) {
  // Names swapped behind nasd's back while lookups run in all three forms
  // (the try_ forms answer repeated names by statx alone, lookup_hints.h):
  // the handle a lookup returns always names the object whose attributes
  // it returns.
  testing::write_file(exp_ / "a", "1");
  testing::write_file(exp_ / "b", "22");
  std::atomic<bool> stop{false};
  std::thread renamer([&] {
    const std::string a = exp_ / "a", b = exp_ / "b", t = exp_ / "t";
    while (!stop.load()) {
      if (::rename(a.c_str(), t.c_str()) != 0 || ::rename(b.c_str(), a.c_str()) != 0 ||
          ::rename(t.c_str(), b.c_str()) != 0) {
        ADD_FAILURE() << "rename: " << std::strerror(errno);
        return;
      }
    }
  });
  std::atomic<int> mismatched{0}, answered{0};
  auto looker = [&](int form) {
    for (int i = 0; i < 3000; ++i) {
      FileHandle fh;
      Attr a;
      std::optional<Attr> da;
      const Credentials cred = testing::root_cred();
      const char* name = (i & 1) ? "a" : "b";
      std::optional<Attr>* dap = (i & 2) ? &da : nullptr;  // with and without
      const Status s = form == 0   ? be_->lookup(cred, root_, name, &fh, &a, dap)
                       : form == 1 ? be_->try_lookup(cred, root_, name, &fh, &a, dap)
                                   : be_->try_lookup_for_attrs(cred, root_, name, &fh, &a, dap);
      if (s != Status::kOk) continue;  // between two renames, or not cached
      ++answered;
      Attr by_handle;
      if (be_->getattr(fh, &by_handle) == Status::kOk && by_handle.fileid != a.fileid) ++mismatched;
    }
  };
  std::vector<std::thread> lookers;
  for (int form : {0, 1, 2}) lookers.emplace_back(looker, form);
  for (auto& t : lookers) t.join();
  stop = true;
  renamer.join();
  EXPECT_EQ(mismatched.load(), 0);
  EXPECT_GT(answered.load(), 0);
}

}  // namespace
}  // namespace nasd::storage
