#include "drain/http_date.hpp"

#include <cctype>
#include <vector>

#include "record/timestamp.hpp"
#include "text/ascii.hpp"

namespace experiture {
namespace drain {
namespace {

const char* const kShortDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
const char* const kLongDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                 "Friday", "Saturday", "Sunday"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_day_name(std::string_view name) {
  for (int i = 0; i < 7; ++i) {
    if (text::equals_ignore_case(name, kShortDays[i]) ||
        text::equals_ignore_case(name, kLongDays[i])) {
      return true;
    }
  }
  return false;
}

int month_number(std::string_view name) {
  for (int i = 0; i < 12; ++i) {
    if (text::equals_ignore_case(name, kMonths[i])) return i + 1;
  }
  return 0;
}

// Exactly `min_digits` to `max_digits` digits and nothing else; -1 otherwise.
int all_digits(std::string_view text, size_t min_digits, size_t max_digits) {
  if (text.size() < min_digits || text.size() > max_digits) return -1;
  int value = 0;
  for (char ch : text) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return -1;
    value = value * 10 + (ch - '0');
  }
  return value;
}

bool parse_clock(std::string_view text, int& hour, int& minute, int& second) {
  if (text.size() != 8 || text[2] != ':' || text[5] != ':') return false;
  hour = all_digits(text.substr(0, 2), 2, 2);
  minute = all_digits(text.substr(3, 2), 2, 2);
  second = all_digits(text.substr(6, 2), 2, 2);
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 60;
}

bool is_gmt(std::string_view zone) {
  return text::equals_ignore_case(zone, "GMT") || text::equals_ignore_case(zone, "UTC");
}

std::vector<std::string_view> split_blanks(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) tokens.push_back(text.substr(start, i - start));
  }
  return tokens;
}

}  // namespace

std::optional<int64_t> parse_http_date_ms(std::string_view text) {
  const std::vector<std::string_view> t = split_blanks(text);
  int year = -1;
  int month = 0;
  int day = -1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  std::string_view clock;
  if (!t.empty() && t[0].size() > 1 && t[0].back() == ',') {
    if (!is_day_name(t[0].substr(0, t[0].size() - 1))) return std::nullopt;
    if (t.size() == 6) {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
      day = all_digits(t[1], 1, 2);
      month = month_number(t[2]);
      year = all_digits(t[3], 4, 4);
      clock = t[4];
      if (!is_gmt(t[5])) return std::nullopt;
    } else if (t.size() == 4) {  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
      const std::string_view date = t[1];
      const size_t dash1 = date.find('-');
      const size_t dash2 = dash1 == std::string_view::npos ? dash1 : date.find('-', dash1 + 1);
      if (dash2 == std::string_view::npos) return std::nullopt;
      day = all_digits(date.substr(0, dash1), 1, 2);
      month = month_number(date.substr(dash1 + 1, dash2 - dash1 - 1));
      const std::string_view year_text = date.substr(dash2 + 1);
      year = all_digits(year_text, 2, 4);
      if (year_text.size() == 3) return std::nullopt;
      if (year_text.size() == 2 && year >= 0) year += year >= 70 ? 1900 : 2000;
      clock = t[2];
      if (!is_gmt(t[3])) return std::nullopt;
    } else {
      return std::nullopt;
    }
  } else if (t.size() == 5) {  // asctime: Sun Nov  6 08:49:37 1994
    if (!is_day_name(t[0])) return std::nullopt;
    month = month_number(t[1]);
    day = all_digits(t[2], 1, 2);
    clock = t[3];
    year = all_digits(t[4], 4, 4);
  } else {
    return std::nullopt;
  }
  if (year < 1900 || month == 0 || day < 1 ||
      day > static_cast<int>(record::days_in_month(year, static_cast<unsigned>(month)))) {
    return std::nullopt;
  }
  if (!parse_clock(clock, hour, minute, second)) return std::nullopt;
  const int64_t days =
      record::days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * 60000 + int64_t{second} * 1000;
}

}  // namespace drain
}  // namespace experiture
