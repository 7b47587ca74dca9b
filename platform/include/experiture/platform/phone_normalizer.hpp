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
  // the number has no country prefix. Returns "+<digits>" or nullopt when it is not a valid number.
  // Thread-safe.
  virtual std::optional<std::string> to_e164(std::string_view raw,
                                             std::string_view default_region) const = 0;
};

}  // namespace platform
}  // namespace experiture
