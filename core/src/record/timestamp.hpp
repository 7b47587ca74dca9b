// ISO 8601 timestamps: parsing with a zone into epoch milliseconds (UTC) and formatting back.
// Pure functions: no locale, no time zone database, no libc time calls; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace experiture {
namespace record {

// Parses an ISO 8601 date-time WITH a zone (the RFC 3339 profile) and returns milliseconds since
// the Unix epoch, UTC. Accepted: "YYYY-MM-DDTHH:MM:SS", optional fraction ".f" (1 to 9 digits,
// truncated to ms), then a zone: "Z", "+hh:mm", "-hh:mm", "+hhmm" or "-hhmm".
// Year 0000..9999; the date must exist (leap years checked); hour 00..23, offset at most 23:59.
// A leap second (":60") is accepted and counts as the first second of the next minute.
// nullopt for anything else: no zone, a plain date (see is_iso8601_date), lower-case 't'/'z',
// a space instead of 'T', missing seconds, surrounding white space.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

// True for a plain calendar date "YYYY-MM-DD" that exists. A date has no time of day, so it has
// no zone problem: `_at` fields accept it (the server rejects only date-times without a zone).
bool is_iso8601_date(std::string_view text);

// True when an `_at` field value is acceptable: parse_iso8601_ms succeeds or is_iso8601_date.
bool is_zoned_timestamp_or_date(std::string_view text);

// "2026-04-21T15:30:00.123Z": always millisecond precision, always 'Z'. Negative values (before
// 1970) are fine; years outside 0000..9999 are printed with as many digits as they need.
std::string format_iso8601_utc_ms(int64_t epoch_ms);

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, d 1..31; the one
// implementation, H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
// 28 to 31: the days of month `m` (1..12) of year `y`.
unsigned days_in_month(int64_t y, unsigned m);

}  // namespace record
}  // namespace experiture
