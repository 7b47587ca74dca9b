// SHA-256 (mbedTLS).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace experiture {
namespace crypto {

using Sha256Digest = std::array<uint8_t, 32>;

// The 32-byte digest of `data` (any bytes). Pure; thread-safe.
Sha256Digest sha256(std::string_view data);

// The digest as 64 lower-case hex characters.
std::string sha256_hex(std::string_view data);

}  // namespace crypto
}  // namespace experiture
