#include "libphonenumber_normalizer.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <memory>

#include "experiture/platform/backends.hpp"

namespace experiture {
namespace platform {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

bool is_allowed_char(char c) {
  return (c >= '0' && c <= '9') || c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' ||
         c == ')';
}

// The input without white space at either end, or nullopt when it holds a character outside the
// allowed set (see the header) or a '+' anywhere but first.
std::optional<std::string> screen(std::string_view raw) {
  size_t begin = 0;
  size_t end = raw.size();
  while (begin < end && (raw[begin] == ' ' || raw[begin] == '\t')) ++begin;
  while (end > begin && (raw[end - 1] == ' ' || raw[end - 1] == '\t')) --end;
  const std::string_view v = raw.substr(begin, end - begin);
  if (v.empty()) return std::nullopt;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!is_allowed_char(v[i]) && !(i == 0 && v[i] == '+')) return std::nullopt;
  }
  return std::string(v);
}

std::optional<std::string> parse_valid(const std::string& text, const std::string& region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  if (number.has_extension() || !util.IsValidNumber(number)) return std::nullopt;
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

// Index of the first digit, skipping '(' and separators, so "(00) 44 ..." is seen as "00...".
bool starts_with_00(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') digits.push_back(c);
    if (digits.size() == 2) break;
  }
  return digits == "00";
}

}  // namespace

std::optional<std::string> LibPhoneNumberNormalizer::to_e164(
    std::string_view raw, std::string_view default_region) const {
  const std::optional<std::string> text = screen(raw);
  if (!text) return std::nullopt;
  const std::string region(default_region);
  if (std::optional<std::string> e164 = parse_valid(*text, region)) return e164;
  if ((*text)[0] != '+' && starts_with_00(*text)) {
    const size_t second_zero = text->find('0', text->find('0') + 1);
    return parse_valid("+" + text->substr(second_zero + 1), "ZZ");
  }
  return std::nullopt;
}

std::unique_ptr<PhoneNormalizer> make_default_phone_normalizer() {
  return std::make_unique<LibPhoneNumberNormalizer>();
}

}  // namespace platform
}  // namespace experiture
