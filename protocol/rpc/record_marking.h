// Record marking for ONC RPC over TCP (RFC 5531 §11).
//
// Each record is a sequence of fragments; a fragment starts with a 4-byte
// big-endian header whose top bit marks the last fragment and whose low 31
// bits give the fragment length in bytes.  RecordAssembler is the pure state
// machine a connection drives: it validates each header against the maximum
// record size and fragment count, so oversize or endless records are refused
// before any memory is taken for them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nasd::rpc {

constexpr std::uint32_t kLastFragmentBit = 0x80000000u;
constexpr std::size_t kRecordMarkBytes = 4;

/// Builds a fragment header.  `length` must be < 2^31.
constexpr std::uint32_t make_fragment_header(std::uint32_t length, bool last) {
  return (length & ~kLastFragmentBit) | (last ? kLastFragmentBit : 0);
}

/// Tracks one record being received.
class RecordAssembler {
 public:
  /// What to do after a fragment header.
  enum class Step : std::uint8_t {
    kReadFragment,    // read `fragment_length()` bytes, then call on_fragment_done()
    kRecordTooLarge,  // record would exceed the maximum: close the connection
    kTooManyFragments,
  };

  /// `max_record_bytes`: largest reassembled record accepted.
  /// `max_fragments`: most fragments per record (guards against endless
  /// zero-length fragments).
  explicit RecordAssembler(std::size_t max_record_bytes, std::size_t max_fragments = 1024)
      : max_record_(max_record_bytes), max_fragments_(max_fragments) {}

  /// Feeds the 4-byte header (host byte order already applied).
  Step on_header(std::uint32_t header) {
    fragment_length_ = header & ~kLastFragmentBit;
    last_ = (header & kLastFragmentBit) != 0;
    if (++fragments_ > max_fragments_) return Step::kTooManyFragments;
    if (fragment_length_ > max_record_ || record_length_ > max_record_ - fragment_length_) {
      return Step::kRecordTooLarge;
    }
    return Step::kReadFragment;
  }

  /// Call after the fragment body is in; returns true when the record is
  /// complete (its total length is record_length()).  Resets for the next
  /// record after returning true.
  bool on_fragment_done() {
    record_length_ += fragment_length_;
    if (!last_) return false;
    completed_length_ = record_length_;
    record_length_ = 0;
    fragments_ = 0;
    return true;
  }

  /// Length of the current fragment (after on_header).
  std::size_t fragment_length() const { return fragment_length_; }
  /// Bytes of the current record received before the current fragment.
  std::size_t received() const { return record_length_; }
  /// True when the current fragment is the first of its record.
  bool first_fragment() const { return fragments_ == 1; }
  /// Whether the current fragment is the record's last.
  bool last_fragment() const { return last_; }
  /// Length of the record completed by the last on_fragment_done() == true.
  std::size_t record_length() const { return completed_length_; }

 private:
  const std::size_t max_record_;
  const std::size_t max_fragments_;
  std::size_t fragment_length_ = 0;
  std::size_t record_length_ = 0;
  std::size_t completed_length_ = 0;
  std::size_t fragments_ = 0;
  bool last_ = false;
};

}  // namespace nasd::rpc
