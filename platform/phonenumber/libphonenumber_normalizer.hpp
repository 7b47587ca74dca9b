// PhoneNormalizer over Google's libphonenumber (Debian: libphonenumber-dev).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "experiture/platform/phone_normalizer.hpp"

namespace experiture {
namespace platform {

// Parses with the default region, keeps only numbers libphonenumber calls valid
// (IsValidNumber), and formats them as E.164. Rules, chosen so that nothing is guessed:
// - Input may contain ASCII digits, spaces, tabs, '-', '.', '(', ')' and one leading '+'.
//   Anything else is rejected: letters (vanity numbers, "ext", "x123", "tel:"), '/', ',', ';', '#',
//   '*' and non-ASCII text, which libphonenumber would otherwise read leniently (a second number,
//   an extension, letters mapped to digits).
// - Numbers carrying an extension are rejected: dropping it would guess what the caller wants.
// - A leading "00" is the international prefix where it is the region's IDD (libphonenumber does
//   that). Where the IDD is something else (US "011", JP "010", AU "0011"), a number starting
//   "00" that is not valid as dialled is read as "+<rest>" and kept only if that is valid: a
//   national number never starts with "00" in those regions, so the reading is unambiguous.
// - `default_region` is an ISO 3166-1 alpha-2 code; an unknown or empty region means only
//   numbers with '+' or "00" can pass.
// Thread-safe: PhoneNumberUtil is an immutable process-wide singleton (it takes an internal lock
// in its regex cache); no I/O.
class LibPhoneNumberNormalizer final : public PhoneNormalizer {
 public:
  std::optional<std::string> to_e164(std::string_view raw,
                                     std::string_view default_region) const override;
};

}  // namespace platform
}  // namespace experiture
