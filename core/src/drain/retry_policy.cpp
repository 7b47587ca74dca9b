#include "drain/retry_policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace experiture {
namespace drain {
namespace {

// A uniform integer in [0, max_inclusive] from 64 random bits. 53 bits of the input scale a
// double in [0, 1): unbiased enough for delays, and free of the modulo bias of `%` at large
// ranges.
int64_t uniform_up_to(int64_t max_inclusive, uint64_t random_u64) {
  if (max_inclusive <= 0) return 0;
  const double unit = static_cast<double>(random_u64 >> 11) * 0x1.0p-53;
  const double scaled = unit * (static_cast<double>(max_inclusive) + 1.0);
  if (!(scaled < static_cast<double>(max_inclusive))) return max_inclusive;
  return static_cast<int64_t>(scaled);
}

}  // namespace

int64_t backoff_ceiling_ms(const RetryPolicy& policy, int attempt) {
  const int64_t cap_ms = std::max<int64_t>(0, policy.cap_ms);
  const int64_t base_ms = std::max<int64_t>(0, policy.base_ms);
  if (base_ms >= cap_ms) return cap_ms;
  const double factor = (policy.factor >= 1.0) ? policy.factor : 1.0;  // NaN fails >= too
  const int exponent = std::max(0, attempt);
  // pow() of a huge exponent is +inf, and inf * base is inf: both land on the cap below.
  const double ceiling = static_cast<double>(base_ms) * std::pow(factor, exponent);
  if (!(ceiling < static_cast<double>(cap_ms))) return cap_ms;
  return static_cast<int64_t>(ceiling);
}

int64_t full_jitter_delay_ms(const RetryPolicy& policy, int attempt, uint64_t random_u64) {
  return uniform_up_to(backoff_ceiling_ms(policy, attempt), random_u64);
}

int64_t rate_limit_delay_ms(int64_t retry_after_ms, const RetryPolicy& policy,
                            uint64_t random_u64) {
  const int64_t wait_ms = retry_after_ms >= 0 ? retry_after_ms : backoff_ceiling_ms(policy, 0);
  const int64_t jitter_cap_ms =
      std::min(kRateLimitJitterCapMs, wait_ms / 100 * kRateLimitJitterPercent +
                                          wait_ms % 100 * kRateLimitJitterPercent / 100);
  const int64_t jitter_ms = uniform_up_to(jitter_cap_ms, random_u64);
  if (wait_ms > std::numeric_limits<int64_t>::max() - jitter_ms) {
    return std::numeric_limits<int64_t>::max();
  }
  return wait_ms + jitter_ms;
}

}  // namespace drain
}  // namespace experiture
