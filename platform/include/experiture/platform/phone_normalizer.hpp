// Phone numbers to E.164. The SDK never guesses: a number it cannot normalise is rejected.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace experiture {
namespace platform {

class PhoneNormalizer {
 public:
  PhoneNormalizer() = default;
  PhoneNormalizer(const PhoneNormalizer&) = delete;
  PhoneNormalizer& operator=(const PhoneNormalizer&) = delete;
  virtual ~PhoneNormalizer() = default;

  // `raw` as the user typed it; `default_region` an ISO 3166-1 alpha-2 code ("US", "GB") used when
  // the number has no country prefix. Returns "+<digits>" or nullopt when it is not a valid number;
  // a number already in E.164 comes back unchanged (the SDK may pass its own results again).
  // Called on the app's writing threads: thread-safe and quick. The SDK stores only answers that
  // are E.164 ('+' then 8 to 15 digits, no leading 0): anything else is INVALID_PHONE.
  virtual std::optional<std::string> to_e164(std::string_view raw,
                                             std::string_view default_region) const = 0;
};

}  // namespace platform
}  // namespace experiture
