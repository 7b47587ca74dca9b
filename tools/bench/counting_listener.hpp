// A loopback TCP listener that counts connections and closes each at once: an endpoint that
// refuses service, where every SDK connection attempt is visible.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace experiture {
namespace bench {

class CountingListener {
 public:
  CountingListener();  // listens on 127.0.0.1, ephemeral port
  ~CountingListener();
  CountingListener(const CountingListener&) = delete;
  CountingListener& operator=(const CountingListener&) = delete;

  int port() const { return port_; }
  uint64_t accepted() const { return accepted_.load(); }

 private:
  void run();

  int fd_ = -1;
  int port_ = 0;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace bench
}  // namespace experiture
