#include "record/timestamp.hpp"

#include <cstdio>

namespace experiture {
namespace record {
namespace {

constexpr int64_t kMsPerDay = 86400000;

// Howard Hinnant's civil_from_days (days_from_civil is below): proleptic Gregorian, no libc.
void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly `n` digits at `pos`; advances `pos` on success.
bool read_digits(std::string_view s, size_t* pos, size_t n, unsigned* out) {
  if (*pos + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

struct Date {
  unsigned year = 0;
  unsigned month = 0;
  unsigned day = 0;
};

bool read_date(std::string_view s, size_t* pos, Date* date) {
  if (!read_digits(s, pos, 4, &date->year) || !expect(s, pos, '-') ||
      !read_digits(s, pos, 2, &date->month) || !expect(s, pos, '-') ||
      !read_digits(s, pos, 2, &date->day)) {
    return false;
  }
  return date->month >= 1 && date->month <= 12 && date->day >= 1 &&
         date->day <= days_in_month(date->year, date->month);
}

// The zone suffix, as an offset east of UTC in minutes. Must end the text.
bool read_zone(std::string_view s, size_t* pos, int* offset_minutes) {
  if (*pos >= s.size()) return false;
  const char sign = s[*pos];
  if (sign == 'Z') {
    ++*pos;
    *offset_minutes = 0;
    return *pos == s.size();
  }
  if (sign != '+' && sign != '-') return false;
  ++*pos;
  unsigned hh = 0;
  unsigned mm = 0;
  if (!read_digits(s, pos, 2, &hh)) return false;
  if (*pos < s.size() && s[*pos] == ':') ++*pos;
  if (!read_digits(s, pos, 2, &mm) || *pos != s.size()) return false;
  if (hh > 23 || mm > 59) return false;
  const int minutes = static_cast<int>(hh * 60 + mm);
  *offset_minutes = sign == '-' ? -minutes : minutes;
  return true;
}

}  // namespace

// Howard Hinnant's days_from_civil: proleptic Gregorian, no libc, no locale.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  size_t pos = 0;
  Date date;
  unsigned hh = 0;
  unsigned mi = 0;
  unsigned ss = 0;
  if (!read_date(text, &pos, &date) || !expect(text, &pos, 'T') ||
      !read_digits(text, &pos, 2, &hh) || !expect(text, &pos, ':') ||
      !read_digits(text, &pos, 2, &mi) || !expect(text, &pos, ':') ||
      !read_digits(text, &pos, 2, &ss)) {
    return std::nullopt;
  }
  if (hh > 23 || mi > 59 || ss > 60) return std::nullopt;
  int64_t ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t first = pos;
    int64_t scale = 100;
    while (pos < text.size() && is_digit(text[pos])) {
      ms += (text[pos] - '0') * scale;  // digits past the millisecond are truncated
      scale /= 10;
      ++pos;
    }
    if (pos == first || pos - first > 9) return std::nullopt;
  }
  int offset_minutes = 0;
  if (!read_zone(text, &pos, &offset_minutes)) return std::nullopt;
  const int64_t days = days_from_civil(date.year, date.month, date.day);
  const int64_t seconds_of_day = static_cast<int64_t>(hh) * 3600 + mi * 60 + ss;
  return days * kMsPerDay + seconds_of_day * 1000 + ms -
         static_cast<int64_t>(offset_minutes) * 60000;
}

bool is_iso8601_date(std::string_view text) {
  size_t pos = 0;
  Date date;
  return read_date(text, &pos, &date) && pos == text.size();
}

bool is_zoned_timestamp_or_date(std::string_view text) {
  return is_iso8601_date(text) || parse_iso8601_ms(text).has_value();
}

std::string format_iso8601_utc_ms(int64_t epoch_ms) {
  int64_t days = epoch_ms / kMsPerDay;
  int64_t ms_of_day = epoch_ms % kMsPerDay;
  if (ms_of_day < 0) {
    ms_of_day += kMsPerDay;
    --days;
  }
  int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, &y, &m, &d);
  const auto hh = static_cast<int>(ms_of_day / 3600000);
  const auto mi = static_cast<int>(ms_of_day / 60000 % 60);
  const auto ss = static_cast<int>(ms_of_day / 1000 % 60);
  const auto ms = static_cast<int>(ms_of_day % 1000);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y),
                m, d, hh, mi, ss, ms);
  return buf;
}

}  // namespace record
}  // namespace experiture
