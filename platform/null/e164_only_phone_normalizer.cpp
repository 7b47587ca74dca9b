#include "experiture/platform/backends.hpp"

namespace experiture {
namespace platform {

namespace {

// Separators people type inside a number: removing them cannot change which number it is.
bool is_separator(char c) {
  return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')';
}

}  // namespace

bool is_e164(std::string_view value) {
  if (value.size() < 9 || value.size() > 16 || value[0] != '+' || value[1] == '0') return false;
  for (size_t i = 1; i < value.size(); ++i) {
    if (value[i] < '0' || value[i] > '9') return false;
  }
  return true;
}

std::optional<std::string> E164OnlyPhoneNormalizer::to_e164(std::string_view raw,
                                                            std::string_view) const {
  // Only separators are forgiven; a number without its country code would need a guess.
  std::string digits;
  digits.reserve(raw.size());
  size_t group_start = std::string::npos;  // where the digits of an open "(" group begin
  for (char c : raw) {
    if (c == '(') group_start = digits.size();
    // "+44 (0)20 ...": the bracketed trunk 0 is dialled only nationally. Dropping it would be a
    // guess about the writer's intent and keeping it makes a wrong number: reject instead.
    if (c == ')' && group_start != std::string::npos && digits.size() > group_start &&
        digits.find_first_not_of('0', group_start) == std::string::npos) {
      return std::nullopt;
    }
    if (c == ')') group_start = std::string::npos;
    if (!is_separator(c)) digits.push_back(c);
  }
  if (!is_e164(digits)) return std::nullopt;
  return digits;
}

#ifndef EXPERITURE_HAVE_PHONENUMBER
std::unique_ptr<PhoneNormalizer> make_default_phone_normalizer() {
  return std::make_unique<E164OnlyPhoneNormalizer>();
}
#endif

}  // namespace platform
}  // namespace experiture
