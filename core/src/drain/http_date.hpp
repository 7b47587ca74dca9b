// HTTP-date parsing (the Date and Retry-After headers).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace experiture {
namespace drain {

// Parses an HTTP-date (RFC 9110 5.6.7) to Unix ms: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
// and the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years: 70-99 -> 19xx,
// 00-69 -> 20xx) and asctime "Sun Nov  6 08:49:37 1994". "UTC" is accepted for "GMT"; the day
// name must be a day name but is not checked against the date. nullopt for anything else.
// Pure; any thread.
std::optional<int64_t> parse_http_date_ms(std::string_view text);

}  // namespace drain
}  // namespace experiture
