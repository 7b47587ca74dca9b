#include "crypto/sealer.hpp"

#include <mbedtls/gcm.h>

namespace experiture {
namespace crypto {
namespace {

const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

Status authentication_failed() {
  return Status(Code::kStorageError, "sealed payload failed authentication");
}

// The version byte is authenticated with the caller's data, so it cannot be swapped unnoticed.
std::string full_associated_data(uint8_t version, std::string_view associated_data) {
  std::string aad(1, static_cast<char>(version));
  aad.append(associated_data.data(), associated_data.size());
  return aad;
}

}  // namespace

struct Sealer::State {
  mbedtls_gcm_context gcm;
  State() { mbedtls_gcm_init(&gcm); }
  ~State() { mbedtls_gcm_free(&gcm); }  // wipes the key schedule
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

Sealer::Sealer(Random& random) : state_(std::make_unique<State>()), random_(random) {}

Sealer::~Sealer() = default;

Result<std::unique_ptr<Sealer>> Sealer::create(std::string_view key, Random& random) {
  if (key.size() != kKeyBytes) {
    return Status(Code::kInvalidConfig, "encryption_key must be exactly 32 bytes (got " +
                                            std::to_string(key.size()) + ")");
  }
  std::unique_ptr<Sealer> sealer(new Sealer(random));
  const int rc = mbedtls_gcm_setkey(&sealer->state_->gcm, MBEDTLS_CIPHER_ID_AES, bytes_of(key),
                                    static_cast<unsigned int>(kKeyBytes * 8));
  if (rc != 0) {
    return Status(Code::kInternal, "encryption_key: AES-256-GCM key setup failed (mbedTLS error " +
                                       std::to_string(rc) + ")");
  }
  return sealer;
}

Result<std::string> Sealer::seal(std::string_view plaintext, std::string_view associated_data) {
  std::string blob(kOverheadBytes + plaintext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(&blob[0]);
  out[0] = kFormatVersion;
  unsigned char* nonce = out + 1;
  unsigned char* ciphertext = nonce + kNonceBytes;
  unsigned char* tag = ciphertext + plaintext.size();
  random_.fill(nonce, kNonceBytes);
  const std::string aad = full_associated_data(kFormatVersion, associated_data);

  std::lock_guard<std::mutex> lock(mutex_);
  const int rc = mbedtls_gcm_crypt_and_tag(&state_->gcm, MBEDTLS_GCM_ENCRYPT, plaintext.size(),
                                           nonce, kNonceBytes, bytes_of(aad), aad.size(),
                                           bytes_of(plaintext), ciphertext, kTagBytes, tag);
  if (rc != 0) {
    return Status(Code::kInternal, "sealing failed (mbedTLS error " + std::to_string(rc) + ")");
  }
  return blob;
}

Result<std::string> Sealer::open(std::string_view blob, std::string_view associated_data) {
  if (blob.size() < kOverheadBytes || static_cast<uint8_t>(blob[0]) != kFormatVersion) {
    return authentication_failed();
  }
  const unsigned char* nonce = bytes_of(blob) + 1;
  const unsigned char* ciphertext = nonce + kNonceBytes;
  const size_t ciphertext_size = blob.size() - kOverheadBytes;
  const unsigned char* tag = ciphertext + ciphertext_size;
  const std::string aad = full_associated_data(kFormatVersion, associated_data);
  std::string plaintext(ciphertext_size, '\0');

  std::lock_guard<std::mutex> lock(mutex_);
  // Checks the tag in constant time and wipes the output when it does not match.
  const int rc = mbedtls_gcm_auth_decrypt(&state_->gcm, ciphertext_size, nonce, kNonceBytes,
                                          bytes_of(aad), aad.size(), tag, kTagBytes, ciphertext,
                                          reinterpret_cast<unsigned char*>(&plaintext[0]));
  if (rc != 0) return authentication_failed();
  return plaintext;
}

}  // namespace crypto
}  // namespace experiture
