#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "client/payload_pool.hpp"

using experiture::PayloadPool;

namespace {

std::string& self(std::string& s) {
  return s;
}

}  // namespace

TEST_CASE("the payload pool hands back emptied buffers with their capacity", "[client][unit]") {
  PayloadPool pool;
  REQUIRE(pool.take().capacity() < 32);  // nothing pooled yet: a plain empty string

  std::vector<std::string> done(3, std::string(200, 'x'));
  pool.give_all(done, self);
  REQUIRE(pool.pooled_bytes() >= 3 * 200);
  for (const std::string& s : done) REQUIRE(s.empty());  // moved into the pool

  for (int i = 0; i < 3; ++i) {
    std::string s = pool.take();
    REQUIRE(s.empty());
    REQUIRE(s.capacity() >= 200);
  }
  REQUIRE(pool.pooled_bytes() == 0);
  REQUIRE(pool.take().capacity() < 32);
}

TEST_CASE("the payload pool keeps neither oversized buffers nor more than its cap",
          "[client][unit]") {
  PayloadPool pool;
  std::vector<std::string> big(1, std::string(PayloadPool::kMaxBufferBytes + 1, 'x'));
  pool.give_all(big, self);
  REQUIRE(pool.pooled_bytes() == 0);
  REQUIRE(big[0].size() == PayloadPool::kMaxBufferBytes + 1);  // left to its owner

  std::vector<std::string> many(PayloadPool::kMaxPooledBytes / 1000 + 100, std::string(1000, 'y'));
  pool.give_all(many, self);
  REQUIRE(pool.pooled_bytes() <= PayloadPool::kMaxPooledBytes);
  REQUIRE(pool.pooled_bytes() > PayloadPool::kMaxPooledBytes - 2000);
  REQUIRE_FALSE(many.back().empty());  // past the cap: not taken
}

TEST_CASE("clearing the payload pool releases every buffer", "[client][unit]") {
  PayloadPool pool;
  std::vector<std::string> done(10, std::string(300, 'z'));
  pool.give_all(done, self);
  REQUIRE(pool.pooled_bytes() >= 3000);
  pool.clear();
  REQUIRE(pool.pooled_bytes() == 0);
  REQUIRE(pool.take().capacity() < 32);
}
