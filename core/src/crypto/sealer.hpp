// At-rest sealing of outbox payloads: AES-256-GCM with a fresh random nonce per seal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "crypto/random.hpp"
#include "experiture/status.hpp"

namespace experiture {
namespace crypto {

// Sealed blob layout (binary, kOverheadBytes longer than the plaintext):
//   [1 byte version = kFormatVersion][12 bytes nonce][ciphertext][16 bytes GCM tag]
// The version byte and the caller's associated data are authenticated but not stored
// (associated data, e.g. the outbox row's identity, binds a blob to its place).
// Thread-safe: seal() and open() may be called from any thread (one mutex around the cipher).
class Sealer {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;
  static constexpr uint8_t kFormatVersion = 1;
  static constexpr size_t kOverheadBytes = 1 + kNonceBytes + kTagBytes;

  // `key` is the raw 32-byte AES-256 key (copied; the copy is wiped on destruction).
  // `random` is borrowed and must outlive the Sealer; it supplies the nonces.
  // Returns kInvalidConfig naming encryption_key when the key is not 32 bytes.
  static Result<std::unique_ptr<Sealer>> create(std::string_view key, Random& random);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // Encrypts and authenticates `plaintext` (any bytes) with `associated_data`.
  // Returns kInternal only if mbedTLS fails (inputs above 64 GiB).
  Result<std::string> seal(std::string_view plaintext, std::string_view associated_data);

  // Verifies and decrypts a blob from seal() with the same key and associated data.
  // Returns kStorageError "sealed payload failed authentication" when any byte was changed,
  // the key or associated data differ, or the blob is truncated or of an unknown version.
  Result<std::string> open(std::string_view blob, std::string_view associated_data);

 private:
  explicit Sealer(Random& random);
  struct State;
  std::unique_ptr<State> state_;  // guarded by mutex_
  Random& random_;
  std::mutex mutex_;
};

}  // namespace crypto
}  // namespace experiture
