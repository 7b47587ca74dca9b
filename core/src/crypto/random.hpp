// Cryptographically secure random bytes: mbedTLS CTR_DRBG seeded from the OS entropy source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "experiture/status.hpp"

namespace experiture {
namespace crypto {

// Thread-safe: every member may be called from any thread (one mutex around the generator).
// Non-copyable; create() hands out the only instance the caller owns.
class Random {
 public:
  // Seeds a generator from the platform entropy source, with `personalization` mixed in.
  // Returns kInternal when the entropy source fails.
  static Result<std::unique_ptr<Random>> create(std::string_view personalization = "experiture");
  ~Random();
  Random(const Random&) = delete;
  Random& operator=(const Random&) = delete;

  // Fills [out, out + size) with random bytes. If the generator fails after seeding (the OS
  // entropy source broke during a reseed) the process is aborted: handing out predictable keys
  // or nonces would be worse than stopping.
  void fill(void* out, size_t size);
  uint64_t next_u64();

 private:
  Random();
  struct State;
  std::unique_ptr<State> state_;  // guarded by mutex_
  std::mutex mutex_;
};

}  // namespace crypto
}  // namespace experiture
