#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <tuple>

#include "experiture/platform/backends.hpp"

using experiture::platform::E164OnlyPhoneNormalizer;

TEST_CASE("without libphonenumber only numbers already in E.164 pass", "[record][unit]") {
  std::string raw;
  std::string expected;
  // clang-format off
  std::tie(raw, expected) = GENERATE(table<std::string, std::string>({
      {"+12125550123", "+12125550123"},
      {"  +442079460958\t", "+442079460958"},
      {"+4930123456", "+4930123456"},
      {"+919876543210", "+919876543210"},
      {"+123456789012345", "+123456789012345"},
      {"+1234567", ""},
      {"+1234567890123456", ""},
      {"+02125550123", ""},
      {"2125550123", ""},
      {"12125550123", ""},
      {"(212) 555-0123", ""},
      {"+1 212 555 0123", ""},
      {"+1-212-555-0123", ""},
      {"0044 20 7946 0958", ""},
      {"00442079460958", ""},
      {"+12125550123 ext 7", ""},
      {"+1212555CALL", ""},
      {"", ""},
      {"+", ""},
  }));
  // clang-format on
  CAPTURE(raw);
  const std::optional<std::string> e164 = E164OnlyPhoneNormalizer().to_e164(raw, "US");
  if (expected.empty()) {
    CHECK_FALSE(e164.has_value());
  } else {
    REQUIRE(e164.has_value());
    CHECK(*e164 == expected);
  }
}
