// The one place where mbedTLS 2.x and 3.x differ for the SDK. Everything else in crypto/ uses
// APIs that are identical in both.
#pragma once

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include <cstddef>

namespace experiture {
namespace crypto {
namespace compat {

// SHA-256 of [data, data + size) into out[32]. Returns mbedTLS's status (0 on success).
inline int sha256(const unsigned char* data, size_t size, unsigned char* out) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
  return mbedtls_sha256(data, size, out, 0);
#else
  return mbedtls_sha256_ret(data, size, out, 0);
#endif
}

}  // namespace compat
}  // namespace crypto
}  // namespace experiture
