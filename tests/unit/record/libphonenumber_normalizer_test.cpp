#include <catch2/catch.hpp>

// The library, and with it this header, exists only when the SDK is built with libphonenumber.
#if __has_include("libphonenumber_normalizer.hpp")

#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "experiture/platform/backends.hpp"
#include "libphonenumber_normalizer.hpp"
#include "record/record_validator.hpp"

using experiture::platform::LibPhoneNumberNormalizer;

TEST_CASE("libphonenumber normalises US, UK, DE and IN numbers to E.164", "[record][unit]") {
  std::string region;
  std::string raw;
  std::string expected;
  // clang-format off
  std::tie(region, raw, expected) = GENERATE(table<std::string, std::string, std::string>({
      {"US", "(212) 555-1234", "+12125551234"},
      {"US", "212-555-1234", "+12125551234"},
      {"US", "212.555.1234", "+12125551234"},
      {"US", "212 555 1234", "+12125551234"},
      {"US", "2125551234", "+12125551234"},
      {"US", "1-212-555-1234", "+12125551234"},
      {"US", "+1 (212) 555-1234", "+12125551234"},
      {"US", " +12125551234 ", "+12125551234"},
      {"US", "011 44 20 7946 0958", "+442079460958"},
      {"US", "0044 20 7946 0958", "+442079460958"},
      {"US", "00 49 30 12345678", "+493012345678"},
      {"US", "+44 20 7946 0958", "+442079460958"},
      {"GB", "020 7946 0958", "+442079460958"},
      {"GB", "(020) 7946-0958", "+442079460958"},
      {"GB", "+44 (0)20 7946 0958", "+442079460958"},
      {"GB", "0044 20 7946 0958", "+442079460958"},
      {"GB", "07400 123456", "+447400123456"},
      {"GB", "001 212 555 1234", "+12125551234"},
      {"DE", "030 12345678", "+493012345678"},
      {"DE", "030-123456", "+4930123456"},
      {"DE", "0151 23456789", "+4915123456789"},
      {"DE", "+49 (0)30 12345678", "+493012345678"},
      {"DE", "0049 30 12345678", "+493012345678"},
      {"IN", "98765 43210", "+919876543210"},
      {"IN", "+91 98765-43210", "+919876543210"},
      {"IN", "022 2345 6789", "+912223456789"},
      {"IN", "0091 98765 43210", "+919876543210"},
      {"ZZ", "+1 212 555 1234", "+12125551234"},
      {"", "+91 98765 43210", "+919876543210"},
  }));
  // clang-format on
  CAPTURE(region, raw);
  const std::optional<std::string> e164 = LibPhoneNumberNormalizer().to_e164(raw, region);
  REQUIRE(e164.has_value());
  CHECK(*e164 == expected);
}

TEST_CASE("libphonenumber rejects what it cannot normalise without guessing", "[record][unit]") {
  std::string region;
  std::string raw;
  // clang-format off
  std::tie(region, raw) = GENERATE(table<std::string, std::string>({
      {"US", ""},
      {"US", "   "},
      {"US", "123"},
      {"US", "555-1234"},
      {"US", "+1 212 555 12345"},
      {"US", "212 555 1234 ext 5"},
      {"US", "212-555-1234 x5"},
      {"US", "+1 212 555 1234;ext=5"},
      {"US", "+1 212 555 1234#5"},
      {"US", "212 555 1234,5"},
      {"US", "1-800-FLOWERS"},
      {"US", "phone: 212 555 1234"},
      {"US", "tel:+1-212-555-1234"},
      {"US", "212 555 1234 / 212 555 9876"},
      {"US", "+1 212 555 1234 +1 212 555 9876"},
      {"US", "abc"},
      {"US", "44 20 7946 0958"},
      {"GB", "2125551234"},
      {"GB", "020 7946 095"},
      {"DE", "+49 30"},
      {"IN", "98765 4321"},
      {"ZZ", "212 555 1234"},
      {"", "020 7946 0958"},
      {"US", "＋１ ２１２ ５５５ １２３４"},
  }));
  // clang-format on
  CAPTURE(region, raw);
  CHECK_FALSE(LibPhoneNumberNormalizer().to_e164(raw, region).has_value());
}

TEST_CASE("the default phone normaliser is libphonenumber when it is built in", "[record][unit]") {
  const auto normalizer = experiture::platform::make_default_phone_normalizer();
  CHECK(normalizer->to_e164("(212) 555-1234", "US") == std::optional<std::string>("+12125551234"));

  experiture::record::RecordValidator::Rules rules;
  rules.default_phone_region = "DE";
  const experiture::record::RecordValidator validator(rules, nullptr);
  const auto result = validator.upsert_text("profiles", R"({"phone":"030 12345678"})", "phone");
  REQUIRE(result.is_ok());
  CHECK(nlohmann::json::parse(result.value()).at("phone") == "+493012345678");
}

#endif
