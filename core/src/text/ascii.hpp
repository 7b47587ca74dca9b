// ASCII text helpers, one implementation each for the SDK and its CLI. Locale-free; pure.
#pragma once

#include <cstddef>
#include <string_view>

namespace experiture {
namespace text {

// ASCII white space: space, tab, newline, carriage return, form feed, vertical tab.
inline constexpr std::string_view kAsciiSpace = " \t\n\r\f\v";
// HTTP's optional white space around header values (RFC 9110 OWS): space and tab only.
inline constexpr std::string_view kHttpSpace = " \t";

// `text` without the leading and trailing characters found in `blanks`. A view into `text`.
// Pure; any thread.
inline std::string_view trim(std::string_view text, std::string_view blanks = kAsciiSpace) {
  const size_t begin = text.find_first_not_of(blanks);
  if (begin == std::string_view::npos) return std::string_view();
  return text.substr(begin, text.find_last_not_of(blanks) - begin + 1);
}

// True when `a` and `b` are equal but for the case of ASCII letters.
inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace text
}  // namespace experiture
