#include "emulated_clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace experiture {
namespace emulator {

int64_t EmulatedClock::now_ms() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() + offset_ms_;
}

namespace {

std::tm utc_tm(int64_t epoch_ms) {
  time_t seconds = static_cast<time_t>(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
  std::tm out{};
  gmtime_r(&seconds, &out);
  return out;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::string EmulatedClock::imf_fixdate(int64_t epoch_ms) {
  std::tm tm = utc_tm(epoch_ms);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buffer;
}

std::string EmulatedClock::iso8601(int64_t epoch_ms) {
  std::tm tm = utc_tm(epoch_ms);
  int millis = static_cast<int>(((epoch_ms % 1000) + 1000) % 1000);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

bool EmulatedClock::parse_iso8601(const std::string& text, int64_t* epoch_ms) {
  // YYYY-MM-DDThh:mm[:ss[.fraction]](Z|+hh:mm|+hhmm|-...). Hand-written: runs per record.
  size_t pos = 0;
  auto digits = [&text, &pos](size_t count, int* out) {
    if (pos + count > text.size()) return false;
    int value = 0;
    for (size_t i = 0; i < count; ++i) {
      char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos += count;
    *out = value;
    return true;
  };
  auto literal = [&text, &pos](char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(4, &year) || !literal('-') || !digits(2, &month) || !literal('-') ||
      !digits(2, &day) || !(literal('T') || literal('t')) || !digits(2, &hour) || !literal(':') ||
      !digits(2, &minute)) {
    return false;
  }
  if (literal(':')) {
    if (!digits(2, &second)) return false;
    if (literal('.')) {
      size_t start = pos;
      int scale = 100;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        millis += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start || pos - start > 9) return false;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  int64_t offset_minutes = 0;
  if (literal('Z') || literal('z')) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    bool negative = text[pos++] == '-';
    int offset_hours = 0, offset_mins = 0;
    if (!digits(2, &offset_hours)) return false;
    literal(':');
    if (!digits(2, &offset_mins) || offset_hours > 23 || offset_mins > 59) return false;
    offset_minutes = offset_hours * 60 + offset_mins;
    if (negative) offset_minutes = -offset_minutes;
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  if (epoch_ms != nullptr) *epoch_ms = seconds * 1000 + millis;
  return true;
}

}  // namespace emulator
}  // namespace experiture
