#include "drain/retry_policy.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <set>

namespace experiture {
namespace drain {
namespace {

RetryPolicy policy(int64_t base_ms, double factor, int64_t cap_ms) {
  RetryPolicy p;
  p.base_ms = base_ms;
  p.factor = factor;
  p.cap_ms = cap_ms;
  return p;
}

constexpr uint64_t kMaxBits = std::numeric_limits<uint64_t>::max();

TEST_CASE("the backoff ceiling is base times factor to the attempt, capped", "[drain][unit]") {
  struct Row {
    int64_t base_ms;
    double factor;
    int64_t cap_ms;
    int attempt;
    int64_t ceiling_ms;
  };
  const Row row = GENERATE(values<Row>({
      {1000, 2.0, 300000, 0, 1000},
      {1000, 2.0, 300000, 1, 2000},
      {1000, 2.0, 300000, 5, 32000},
      {1000, 2.0, 300000, 8, 256000},
      {1000, 2.0, 300000, 9, 300000},
      {1000, 2.0, 300000, 1000000, 300000},
      {1000, 2.0, 300000, std::numeric_limits<int>::max(), 300000},
      {1000, 2.0, 300000, -3, 1000},
      {100, 1.5, 10000, 2, 225},
      {10, 3.0, 1000, 4, 810},
      {500, 1.0, 1000, 50, 500},
      {500, 0.5, 1000, 3, 500},
      {500, std::numeric_limits<double>::quiet_NaN(), 1000, 3, 500},
      {500, std::numeric_limits<double>::infinity(), 1000, 1, 1000},
      {2000, 2.0, 1000, 0, 1000},
      {-5, 2.0, 1000, 3, 0},
      {1000, 2.0, -1, 3, 0},
      {std::numeric_limits<int64_t>::max(), 10.0, std::numeric_limits<int64_t>::max(), 30,
       std::numeric_limits<int64_t>::max()},
  }));
  CAPTURE(row.base_ms, row.factor, row.cap_ms, row.attempt);
  CHECK(backoff_ceiling_ms(policy(row.base_ms, row.factor, row.cap_ms), row.attempt) ==
        row.ceiling_ms);
}

TEST_CASE("backoff ceilings never decrease with the attempt and never pass the cap",
          "[drain][unit]") {
  const RetryPolicy p = GENERATE(policy(1000, 2.0, 300000), policy(1, 1.1, 60000),
                                 policy(250, 3.0, std::numeric_limits<int64_t>::max()),
                                 policy(7, 1.0, 7), policy(0, 2.0, 1000));
  int64_t previous = 0;
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const int64_t ceiling = backoff_ceiling_ms(p, attempt);
    REQUIRE(ceiling >= previous);
    REQUIRE(ceiling <= p.cap_ms);
    REQUIRE(ceiling >= 0);
    previous = ceiling;
  }
  CHECK(previous == p.cap_ms);
}

TEST_CASE("a full-jitter delay lies between zero and the ceiling, both reachable",
          "[drain][unit]") {
  const RetryPolicy p = policy(1000, 2.0, 300000);
  const int attempt = GENERATE(0, 1, 4, 9, 100, std::numeric_limits<int>::max());
  const int64_t ceiling = backoff_ceiling_ms(p, attempt);
  CHECK(full_jitter_delay_ms(p, attempt, 0) == 0);
  CHECK(full_jitter_delay_ms(p, attempt, kMaxBits) == ceiling);
  std::mt19937_64 rng(static_cast<uint64_t>(attempt) + 42);
  for (int i = 0; i < 1000; ++i) {
    const int64_t delay = full_jitter_delay_ms(p, attempt, rng());
    REQUIRE(delay >= 0);
    REQUIRE(delay <= ceiling);
  }
}

TEST_CASE("a one-millisecond ceiling gives 0 or 1 ms, a zero ceiling always 0", "[drain][unit]") {
  const RetryPolicy one = policy(1, 2.0, 1);  // base >= cap: the ceiling is the cap, 1 ms
  REQUIRE(backoff_ceiling_ms(one, 0) == 1);
  CHECK(full_jitter_delay_ms(one, 0, 0) == 0);
  CHECK(full_jitter_delay_ms(one, 0, kMaxBits / 2) == 0);      // just under half: 0
  CHECK(full_jitter_delay_ms(one, 0, kMaxBits / 2 + 1) == 1);  // half and above: 1
  CHECK(full_jitter_delay_ms(one, 0, kMaxBits) == 1);
  // Retry-After 10 ms: up to 10% (1 ms) of jitter, both ends reachable.
  CHECK(rate_limit_delay_ms(10, one, 0) == 10);
  CHECK(rate_limit_delay_ms(10, one, kMaxBits) == 11);
  const RetryPolicy zero = policy(0, 2.0, 0);
  CHECK(full_jitter_delay_ms(zero, 3, kMaxBits) == 0);
}

TEST_CASE("full-jitter delays spread over the whole range", "[drain][unit]") {
  const RetryPolicy p = policy(1000, 2.0, 300000);
  const int attempt = 3;  // ceiling 8000 ms
  std::mt19937_64 rng(7);
  const int kSamples = 20000;
  int buckets[10] = {};
  double sum = 0;
  std::set<int64_t> distinct;
  for (int i = 0; i < kSamples; ++i) {
    const int64_t delay = full_jitter_delay_ms(p, attempt, rng());
    ++buckets[std::min<int64_t>(9, delay / 800)];
    sum += static_cast<double>(delay);
    distinct.insert(delay);
  }
  for (int b : buckets) CHECK(b > kSamples / 10 * 8 / 10);  // each tenth within 20% of its share
  CHECK(sum / kSamples == Approx(4000).epsilon(0.05));
  CHECK(distinct.size() > 4000);
}

TEST_CASE("the same random bits give the same delay", "[drain][unit]") {
  const RetryPolicy p = policy(1000, 2.0, 300000);
  const uint64_t bits = GENERATE(uint64_t{1}, uint64_t{0x123456789abcdefULL}, kMaxBits / 3);
  CHECK(full_jitter_delay_ms(p, 4, bits) == full_jitter_delay_ms(p, 4, bits));
  CHECK(rate_limit_delay_ms(5000, p, bits) == rate_limit_delay_ms(5000, p, bits));
}

TEST_CASE("a rate-limit delay is Retry-After plus at most 10% or one second of jitter",
          "[drain][unit]") {
  struct Row {
    int64_t retry_after_ms;
    int64_t min_ms;
    int64_t max_ms;
  };
  const Row row = GENERATE(values<Row>({
      {0, 0, 0},
      {5, 5, 5},
      {1000, 1000, 1100},
      {2500, 2500, 2750},
      {10000, 10000, 11000},
      {120000, 120000, 121000},
      {-1, 1000, 1100},  // no Retry-After: the policy's base delay, 1000 ms
      {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
       std::numeric_limits<int64_t>::max()},
  }));
  CAPTURE(row.retry_after_ms);
  const RetryPolicy p = policy(1000, 2.0, 300000);
  CHECK(rate_limit_delay_ms(row.retry_after_ms, p, 0) == row.min_ms);
  CHECK(rate_limit_delay_ms(row.retry_after_ms, p, kMaxBits) == row.max_ms);
  std::mt19937_64 rng(static_cast<uint64_t>(row.min_ms));
  for (int i = 0; i < 500; ++i) {
    const int64_t delay = rate_limit_delay_ms(row.retry_after_ms, p, rng());
    REQUIRE(delay >= row.min_ms);
    REQUIRE(delay <= row.max_ms);
  }
}

}  // namespace
}  // namespace drain
}  // namespace experiture
