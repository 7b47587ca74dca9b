#include "crypto/uuid.hpp"

#include <set>
#include <string>

#include <catch2/catch.hpp>

using experiture::crypto::is_uuid_v4;
using experiture::crypto::Random;
using experiture::crypto::uuid_v4;

TEST_CASE("uuid_v4 gives lower-case canonical version 4 variant 10 UUIDs", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  for (int i = 0; i < 1000; ++i) {
    const std::string uuid = uuid_v4(*random.value());
    REQUIRE(uuid.size() == 36);
    CHECK(uuid[8] == '-');
    CHECK(uuid[13] == '-');
    CHECK(uuid[18] == '-');
    CHECK(uuid[23] == '-');
    CHECK(uuid[14] == '4');
    CHECK(std::string("89ab").find(uuid[19]) != std::string::npos);
    CHECK(uuid.find_first_not_of("0123456789abcdef-") == std::string::npos);
    CHECK(is_uuid_v4(uuid));
  }
}

TEST_CASE("uuid_v4 never repeats over many draws", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) seen.insert(uuid_v4(*random.value()));
  CHECK(seen.size() == 100000);
}

TEST_CASE("is_uuid_v4 accepts only lower-case canonical version 4 UUIDs", "[crypto][unit]") {
  const auto text =
      GENERATE(as<std::string>{}, "1b4e28ba-2fa1-4d2b-883f-0016d3cca427",
               "00000000-0000-4000-8000-000000000000", "ffffffff-ffff-4fff-bfff-ffffffffffff");
  CHECK(is_uuid_v4(text));
}

TEST_CASE("is_uuid_v4 rejects other versions, variants, cases and shapes", "[crypto][unit]") {
  const auto text = GENERATE(as<std::string>{}, "",
                             "1b4e28ba-2fa1-1d2b-883f-0016d3cca427",    // version 1
                             "1b4e28ba-2fa1-4d2b-c83f-0016d3cca427",    // variant 110
                             "1B4E28BA-2FA1-4D2B-883F-0016D3CCA427",    // upper case
                             "1b4e28ba2fa14d2b883f0016d3cca427",        // no dashes
                             "{1b4e28ba-2fa1-4d2b-883f-0016d3cca427}",  // braces
                             "1b4e28ba-2fa1-4d2b-883f-0016d3cca42g",    // not hex
                             "1b4e28ba-2fa1-4d2b-883f-0016d3cca4270",   // too long
                             "1b4e28ba-2fa14-d2b-883f-0016d3cca427");   // dash misplaced
  CHECK_FALSE(is_uuid_v4(text));
}
