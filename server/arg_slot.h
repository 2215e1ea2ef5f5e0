// ArgSlot: inline, fixed-size storage for one decoded procedure argument
// object, so a pooled Packet can carry any program's arguments without a heap
// allocation per request.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace nasd::server {

/// Holds at most one object of any type up to kBytes bytes.  Not copyable or
/// movable (it lives inside a pooled Packet).  emplace() destroys the previous
/// object; reset() destroys it and leaves the slot empty.
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

  void reset() {
    if (destroy_) {
      destroy_(storage_);
      destroy_ = nullptr;
    }
  }

 private:
  alignas(std::max_align_t) std::byte storage_[kBytes];
  void (*destroy_)(void*) = nullptr;
};

}  // namespace nasd::server
