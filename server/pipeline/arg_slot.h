// ArgSlot: inline, fixed-size storage for one decoded procedure argument
// object, so a pooled Packet can carry any program's arguments without a heap
// allocation per request, and an array area for arguments that are a list
// (an NFSv4 COMPOUND's operations).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace nasd::server {

/// Holds at most one object of any type up to kBytes bytes, and at most one
/// array (emplace_array).  Not copyable or movable (it lives inside a pooled
/// Packet).  emplace() destroys the previous object and array; reset()
/// destroys both and leaves the slot empty.
class ArgSlot {
 public:
  static constexpr std::size_t kBytes = 1024;

  ArgSlot() = default;
  ArgSlot(const ArgSlot&) = delete;
  ArgSlot& operator=(const ArgSlot&) = delete;
  ~ArgSlot() { reset(); }

  /// Constructs a T in the slot and returns it.
  template <class T, class... A>
  T& emplace(A&&... a) {
    static_assert(sizeof(T) <= kBytes, "argument type too large for ArgSlot");
    static_assert(alignof(T) <= alignof(std::max_align_t));
    reset();
    T* p = new (storage_) T(std::forward<A>(a)...);
    destroy_ = [](void* v) { static_cast<T*>(v)->~T(); };
    return *p;
  }

  /// The object emplace<T>() made.  Undefined if the slot holds another type.
  template <class T>
  T& get() {
    return *std::launder(reinterpret_cast<T*>(storage_));
  }
  template <class T>
  const T& get() const {
    return *std::launder(reinterpret_cast<const T*>(storage_));
  }

  bool empty() const { return destroy_ == nullptr; }

  /// Constructs `n` value-initialised Ts in the array area and returns
  /// them; the previous array is destroyed.  The area is heap memory kept
  /// for the life of the slot and grown only when a larger array is asked
  /// for: a pooled packet that once held `n` elements allocates nothing for
  /// the next call of that size.  The caller bounds `n` (its memory is
  /// n * sizeof(T) bytes per slot, held while the packet is pooled).
  template <class T>
  std::span<T> emplace_array(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    reset_array();
    const std::size_t bytes = n * sizeof(T);
    if (bytes > array_capacity_) {
      array_ = std::make_unique_for_overwrite<std::byte[]>(bytes);
      array_capacity_ = bytes;
    }
    T* p = reinterpret_cast<T*>(array_.get());
    for (std::size_t i = 0; i < n; ++i) new (p + i) T();
    array_count_ = n;
    array_destroy_ = [](void* v, std::size_t count) {
      T* t = static_cast<T*>(v);
      for (std::size_t i = 0; i < count; ++i) t[i].~T();
    };
    return {std::launder(p), n};
  }

  /// Bytes of the array area (kept across calls), for accounting and tests.
  std::size_t array_capacity() const { return array_capacity_; }

  void reset() {
    if (destroy_) {
      destroy_(storage_);
      destroy_ = nullptr;
    }
    reset_array();
  }

 private:
  void reset_array() {
    if (array_destroy_) {
      array_destroy_(array_.get(), array_count_);
      array_destroy_ = nullptr;
      array_count_ = 0;
    }
  }

  std::unique_ptr<std::byte[]> array_;
  std::size_t array_capacity_ = 0;
  std::size_t array_count_ = 0;
  void (*array_destroy_)(void*, std::size_t) = nullptr;

  alignas(std::max_align_t) std::byte storage_[kBytes];
  void (*destroy_)(void*) = nullptr;
};

}  // namespace nasd::server
