// UUID version 4 (RFC 4122 / 9562) from the CSPRNG.
#pragma once

#include <string>
#include <string_view>

#include "crypto/random.hpp"

namespace experiture {
namespace crypto {

// A fresh random UUID in lower-case canonical form, e.g. "1b4e28ba-2fa1-4d2b-883f-0016d3cca427":
// 122 random bits, version nibble 4, variant bits 10. Thread-safe as Random is.
std::string uuid_v4(Random& random);

// True when `text` is exactly a lower-case canonical UUID with version 4 and variant 10xx.
bool is_uuid_v4(std::string_view text);

}  // namespace crypto
}  // namespace experiture
