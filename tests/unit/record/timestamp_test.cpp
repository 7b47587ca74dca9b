#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "record/timestamp.hpp"

using experiture::record::format_iso8601_utc_ms;
using experiture::record::is_iso8601_date;
using experiture::record::is_zoned_timestamp_or_date;
using experiture::record::parse_iso8601_ms;

TEST_CASE("ISO 8601 date-times with a zone parse to epoch milliseconds UTC", "[record][unit]") {
  std::string text;
  int64_t expected_ms = 0;
  // clang-format off
  std::tie(text, expected_ms) = GENERATE(table<std::string, int64_t>({
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00.001Z", 1},
      {"2026-04-21T15:30:00Z", 1776785400000},
      {"2026-04-21T15:30:00.123Z", 1776785400123},
      {"2026-04-21T15:30:00.1Z", 1776785400100},
      {"2026-04-21T15:30:00.12Z", 1776785400120},
      {"2026-04-21T15:30:00.123999999Z", 1776785400123},
      {"2026-04-21T17:30:00+02:00", 1776785400000},
      {"2026-04-21T17:30:00+0200", 1776785400000},
      {"2026-04-21T10:00:00-05:30", 1776785400000},
      {"2026-04-21T10:00:00-0530", 1776785400000},
      {"2026-04-21T15:30:00+00:00", 1776785400000},
      {"2026-04-21T15:30:00-00:00", 1776785400000},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"2000-02-29T12:00:00Z", 951825600000},
      {"2026-02-28T00:00:00Z", 1772236800000},  // the last day of a common year's February
      {"2023-02-15T08:30:00Z", 1676449800000},
      {"1969-12-31T23:59:59.999Z", -1},
      {"1900-01-01T00:00:00Z", -2208988800000},
      {"2016-12-31T23:59:60Z", 1483228800000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
      {"0000-01-01T00:00:00Z", -62167219200000},
  }));
  // clang-format on
  CAPTURE(text);
  const std::optional<int64_t> parsed = parse_iso8601_ms(text);
  REQUIRE(parsed.has_value());
  CHECK(*parsed == expected_ms);
}

TEST_CASE("date-times without a zone or malformed ones do not parse", "[record][unit]") {
  // clang-format off
  const std::string text = GENERATE(as<std::string>{},
      "", "2026-04-21T15:30:00", "2026-04-21T15:30:00.123", "2026-04-21", "2026-04-21T15:30Z",
      "2026-04-21 15:30:00Z", "2026-04-21t15:30:00Z", "2026-04-21T15:30:00z",
      " 2026-04-21T15:30:00Z", "2026-04-21T15:30:00Z ", "2026-04-21T15:30:00ZZ",
      "2026-04-21T15:30:00.Z", "2026-04-21T15:30:00.1234567890Z", "2026-04-21T24:00:00Z",
      "2026-04-21T15:60:00Z", "2026-04-21T15:30:61Z", "2026-13-01T00:00:00Z",
      "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z", "2026-04-00T00:00:00Z", "26-04-21T15:30:00Z",
      "2026-4-21T15:30:00Z", "2026-04-21T15:30:00+2", "2026-04-21T15:30:00+02",
      "2026-04-21T15:30:00+24:00", "2026-04-21T15:30:00+02:60", "2026-04-21T15:30:00+02:0",
      "2026-04-21T15:30:00+02:000", "2026-04-21T15:30:00 +02:00", "+2026-04-21T15:30:00Z",
      "2026-04-21T15:30:00UTC", "1776785400", "now", "２０２６-04-21T15:30:00Z");
  // clang-format on
  CAPTURE(text);
  CHECK_FALSE(parse_iso8601_ms(text).has_value());
}

TEST_CASE("a plain calendar date is accepted for _at fields, a datetime without zone is not",
          "[record][unit]") {
  std::string text;
  bool is_date = false;
  bool acceptable = false;
  // clang-format off
  std::tie(text, is_date, acceptable) = GENERATE(table<std::string, bool, bool>({
      {"2026-04-21", true, true},
      {"2024-02-29", true, true},
      {"2026-02-28", true, true},
      {"2026-02-29", false, false},
      {"2026-04-21T15:30:00Z", false, true},
      {"2026-04-21T15:30:00", false, false},
      {"2026-04-21Z", false, false},
      {"2026-04", false, false},
      {"20260421", false, false},
      {"", false, false},
  }));
  // clang-format on
  CAPTURE(text);
  CHECK(is_iso8601_date(text) == is_date);
  CHECK(is_zoned_timestamp_or_date(text) == acceptable);
}

TEST_CASE("epoch milliseconds format as UTC with millisecond precision and Z", "[record][unit]") {
  int64_t epoch_ms = 0;
  std::string expected;
  // clang-format off
  std::tie(epoch_ms, expected) = GENERATE(table<int64_t, std::string>({
      {0, "1970-01-01T00:00:00.000Z"},
      {1, "1970-01-01T00:00:00.001Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {1776785400123, "2026-04-21T15:30:00.123Z"},
      {1709164800000, "2024-02-29T00:00:00.000Z"},
      {951825600000, "2000-02-29T12:00:00.000Z"},
      {-2208988800000, "1900-01-01T00:00:00.000Z"},
      {253402300799999, "9999-12-31T23:59:59.999Z"},
  }));
  // clang-format on
  CHECK(format_iso8601_utc_ms(epoch_ms) == expected);
}

TEST_CASE("formatting then parsing gives back the same milliseconds", "[record][unit]") {
  // clang-format off
  const int64_t epoch_ms = GENERATE(int64_t{0}, int64_t{-86400001}, int64_t{1776785400123},
                                    int64_t{4102444799999}, int64_t{-62167219200000});
  // clang-format on
  const std::optional<int64_t> parsed = parse_iso8601_ms(format_iso8601_utc_ms(epoch_ms));
  REQUIRE(parsed.has_value());
  CHECK(*parsed == epoch_ms);
}
