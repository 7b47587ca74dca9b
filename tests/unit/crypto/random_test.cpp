#include "crypto/random.hpp"

#include <cstdint>
#include <set>
#include <string>

#include <catch2/catch.hpp>

using experiture::crypto::Random;

TEST_CASE("random fills buffers larger than one generator request", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  std::string a(5000, '\0');
  std::string b(5000, '\0');
  random.value()->fill(&a[0], a.size());
  random.value()->fill(&b[0], b.size());
  CHECK(a != b);
  CHECK(a.substr(4000) != std::string(1000, '\0'));  // the tail past the first chunks is filled
}

TEST_CASE("random 64-bit draws do not repeat", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(random.value()->next_u64());
  CHECK(seen.size() == 10000);
}
