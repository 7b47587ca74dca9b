// Backoff delays as pure functions of (policy, attempt, random bits): no clock, no state.
#pragma once

#include <cstdint>

#include "experiture/config.hpp"

namespace experiture {
namespace drain {

// The jitter added on top of a server's Retry-After: uniform in [0, min(10% of it, 1 s)].
inline constexpr int64_t kRateLimitJitterCapMs = 1000;
inline constexpr int64_t kRateLimitJitterPercent = 10;

// The largest delay ceiling for retry number `attempt` (0 = the first retry after the first
// failed send): min(cap_ms, base_ms * factor^attempt), computed without overflow for any
// attempt. Sanitised inputs: attempt < 0 counts as 0; base_ms < 0 and cap_ms < 0 count as 0;
// factor < 1 or NaN counts as 1 (so ceilings never decrease with attempt). Pure; any thread.
int64_t backoff_ceiling_ms(const RetryPolicy& policy, int attempt);

// Full jitter: a delay uniform in [0, backoff_ceiling_ms(policy, attempt)], both ends
// inclusive, chosen by `random_u64` (64 uniformly random bits from the caller's RNG; the same
// bits give the same delay). Pure; any thread.
int64_t full_jitter_delay_ms(const RetryPolicy& policy, int attempt, uint64_t random_u64);

// The pause after a 429 (or a 503 with Retry-After): retry_after_ms plus a jitter uniform in
// [0, min(retry_after_ms * 10%, 1000 ms)], so clients that were throttled together do not all
// come back in the same millisecond, yet never earlier than the server asked. Saturates instead
// of overflowing. When retry_after_ms < 0 (no usable Retry-After) it is taken to be
// backoff_ceiling_ms(policy, 0) (the base delay); callers that count consecutive 429s without
// Retry-After may prefer full_jitter_delay_ms() with their attempt number. Pure; any thread.
int64_t rate_limit_delay_ms(int64_t retry_after_ms, const RetryPolicy& policy, uint64_t random_u64);

}  // namespace drain
}  // namespace experiture
