#include "crypto/random.hpp"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace experiture {
namespace crypto {

struct Random::State {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;

  State() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~State() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

Random::Random() : state_(std::make_unique<State>()) {}

Random::~Random() = default;

Result<std::unique_ptr<Random>> Random::create(std::string_view personalization) {
  std::unique_ptr<Random> random(new Random());
  State& state = *random->state_;
  const int rc = mbedtls_ctr_drbg_seed(
      &state.drbg, mbedtls_entropy_func, &state.entropy,
      reinterpret_cast<const unsigned char*>(personalization.data()), personalization.size());
  if (rc != 0) {
    return Status(Code::kInternal,
                  "random: seeding CTR_DRBG from the entropy source failed (mbedTLS error " +
                      std::to_string(rc) + ")");
  }
  return random;
}

void Random::fill(void* out, size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  std::lock_guard<std::mutex> lock(mutex_);
  while (size > 0) {
    const size_t chunk = std::min<size_t>(size, MBEDTLS_CTR_DRBG_MAX_REQUEST);
    if (mbedtls_ctr_drbg_random(&state_->drbg, bytes, chunk) != 0) {
      std::fputs("experiture: CTR_DRBG failed; refusing to continue without randomness\n", stderr);
      std::abort();
    }
    bytes += chunk;
    size -= chunk;
  }
}

uint64_t Random::next_u64() {
  unsigned char bytes[8];
  fill(bytes, sizeof bytes);
  uint64_t value = 0;
  for (unsigned char b : bytes) value = (value << 8) | b;
  return value;
}

}  // namespace crypto
}  // namespace experiture
