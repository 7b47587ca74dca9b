#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <tuple>

#include "experiture/platform/backends.hpp"

using experiture::platform::E164OnlyPhoneNormalizer;

TEST_CASE("without libphonenumber only E.164 numbers pass, separators removed", "[record][unit]") {
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
      {"+1 212 555 0123", "+12125550123"},
      {"+1-212-555-0123", "+12125550123"},
      {"+1 (212) 555.0123", "+12125550123"},
      {"+44 (0)20 7946 0958", ""},
      {"+44 (20) 7946 0958", "+442079460958"},
      {" + 4 4 2 0 7 9 4 6 0 9 5 8 ", "+442079460958"},
      {"(+0) 212 555 0123", ""},
      {"+1 212 555 012345678", ""},
      {"+1/212/555/0123", ""},
      {"+1_212_555_0123", ""},
      {"+1 212 555 0123#", ""},
      {"\u00a0+12125550123", ""},
      {"030 1234567", ""},
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

TEST_CASE("is_e164 accepts exactly a plus and 8 to 15 digits without a leading 0",
          "[record][unit]") {
  using experiture::platform::is_e164;
  CHECK(is_e164("+12345678"));
  CHECK(is_e164("+123456789012345"));
  CHECK_FALSE(is_e164("+1234567"));
  CHECK_FALSE(is_e164("+1234567890123456"));
  CHECK_FALSE(is_e164("+02125550123"));
  CHECK_FALSE(is_e164("12125550123"));
  CHECK_FALSE(is_e164("+1 2125550123"));
  CHECK_FALSE(is_e164(""));
}
