#include "crypto/sha256.hpp"

#include "crypto/mbedtls_compat.hpp"

namespace experiture {
namespace crypto {

Sha256Digest sha256(std::string_view data) {
  Sha256Digest digest{};
  // Cannot fail for in-memory input with the software implementation mbedTLS ships.
  (void)compat::sha256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                       digest.data());
  return digest;
}

std::string sha256_hex(std::string_view data) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  const Sha256Digest digest = sha256(data);
  std::string text;
  text.reserve(digest.size() * 2);
  for (uint8_t b : digest) {
    text.push_back(kHexDigits[b >> 4]);
    text.push_back(kHexDigits[b & 0x0F]);
  }
  return text;
}

}  // namespace crypto
}  // namespace experiture
