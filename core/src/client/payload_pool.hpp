// Recycles payload buffers from the store thread back to the app threads that accept writes.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace experiture {

// Every accepted write needs one buffer for its stored form; the store thread is done with it
// once the write is durable. Without recycling, each accept is a malloc on the app thread and a
// free on the store thread, and the allocator keeps handing the app thread freshly faulted pages
// (its heap top is trimmed behind the frees): the page faults showed in accept latency's tail.
// The pool holds at most kMaxPooledBytes of capacity in buffers of at most kMaxBufferBytes.
// Thread-safe; each call holds the lock for a few pointer moves.
class PayloadPool {
 public:
  static constexpr size_t kMaxPooledBytes = 1024 * 1024;
  static constexpr size_t kMaxBufferBytes = 4 * 1024;

  // An empty string, with capacity from an earlier write when one is pooled.
  std::string take() {
    std::string s;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (free_.empty()) return s;
      s.swap(free_.back());
      free_.pop_back();
      pooled_bytes_ -= s.capacity();
    }
    s.clear();
    return s;
  }

  // Takes back the strings payload_of(item) of every item in `items` (each left empty or as it
  // was) while the pool has room: one lock for the lot.
  template <typename Items, typename PayloadOf>
  void give_all(Items& items, PayloadOf payload_of) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& item : items) {
      std::string& s = payload_of(item);
      const size_t capacity = s.capacity();
      if (capacity > kMaxBufferBytes || capacity < 32) continue;  // SSO-sized: nothing to keep
      if (pooled_bytes_ + capacity > kMaxPooledBytes) return;
      pooled_bytes_ += capacity;
      free_.emplace_back();
      free_.back().swap(s);
    }
  }

  // Gives every pooled buffer back to the allocator (the SDK is idle: nothing queued).
  void clear() {
    std::vector<std::string> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released.swap(free_);
      pooled_bytes_ = 0;
    }
  }

  size_t pooled_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return pooled_bytes_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> free_;
  size_t pooled_bytes_ = 0;
};

}  // namespace experiture
