#include "crypto/sealer.hpp"

#include <set>
#include <string>

#include <catch2/catch.hpp>

using experiture::Code;
using experiture::crypto::Random;
using experiture::crypto::Sealer;

namespace {

const std::string kKey = "0123456789abcdef0123456789ABCDEF";
const std::string kPlaintext =
    std::string("{\"email\":\"zo\xC3\xAB@example.com\",\"note\":\"\xF0\x9F\x98\x80\"}") +
    std::string(1, '\0');

}  // namespace

TEST_CASE("a sealed payload opens to the same bytes", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  auto sealer = Sealer::create(kKey, *random.value());
  REQUIRE(sealer.is_ok());
  for (const std::string& plaintext : {std::string(), kPlaintext, std::string(100000, 'x')}) {
    auto blob = sealer.value()->seal(plaintext, "outbox:42");
    REQUIRE(blob.is_ok());
    CHECK(blob.value().size() == plaintext.size() + Sealer::kOverheadBytes);
    CHECK(static_cast<uint8_t>(blob.value()[0]) == Sealer::kFormatVersion);
    if (!plaintext.empty()) CHECK(blob.value().find(plaintext) == std::string::npos);
    auto opened = sealer.value()->open(blob.value(), "outbox:42");
    REQUIRE(opened.is_ok());
    CHECK(opened.value() == plaintext);
  }
}

TEST_CASE("every single flipped bit of a sealed payload is detected", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  auto sealer = Sealer::create(kKey, *random.value());
  REQUIRE(sealer.is_ok());
  const std::string blob = sealer.value()->seal(kPlaintext, "row").value();
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = blob;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      auto opened = sealer.value()->open(tampered, "row");
      REQUIRE_FALSE(opened.is_ok());
      CHECK(opened.status().code() == Code::kStorageError);
      CHECK(opened.status().message() == "sealed payload failed authentication");
    }
  }
}

TEST_CASE("a truncated payload or other associated data is detected", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  auto sealer = Sealer::create(kKey, *random.value());
  REQUIRE(sealer.is_ok());
  const std::string blob = sealer.value()->seal(kPlaintext, "row 1").value();
  CHECK(sealer.value()->open(blob, "row 2").status().code() == Code::kStorageError);
  CHECK(sealer.value()->open(blob.substr(0, blob.size() - 1), "row 1").status().code() ==
        Code::kStorageError);
  CHECK(sealer.value()->open("", "row 1").status().code() == Code::kStorageError);
  CHECK(sealer.value()->open(blob + "x", "row 1").status().code() == Code::kStorageError);
}

TEST_CASE("a payload sealed with another key does not open", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  auto sealer = Sealer::create(kKey, *random.value());
  std::string other_key = kKey;
  other_key[31] = static_cast<char>(other_key[31] ^ 1);
  auto other = Sealer::create(other_key, *random.value());
  REQUIRE(sealer.is_ok());
  REQUIRE(other.is_ok());
  const std::string blob = sealer.value()->seal(kPlaintext, "row").value();
  auto opened = other.value()->open(blob, "row");
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == Code::kStorageError);
  CHECK(opened.status().message() == "sealed payload failed authentication");
}

TEST_CASE("every seal uses a fresh nonce", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  auto sealer = Sealer::create(kKey, *random.value());
  REQUIRE(sealer.is_ok());
  std::set<std::string> nonces;
  std::set<std::string> blobs;
  for (int i = 0; i < 1000; ++i) {
    const std::string blob = sealer.value()->seal(kPlaintext, "row").value();
    nonces.insert(blob.substr(1, Sealer::kNonceBytes));
    blobs.insert(blob);
  }
  CHECK(nonces.size() == 1000);
  CHECK(blobs.size() == 1000);
}

TEST_CASE("a key that is not 32 bytes is rejected naming encryption_key", "[crypto][unit]") {
  auto random = Random::create();
  REQUIRE(random.is_ok());
  const auto length = GENERATE(0, 16, 31, 33, 64);
  auto sealer = Sealer::create(std::string(static_cast<size_t>(length), 'k'), *random.value());
  REQUIRE_FALSE(sealer.is_ok());
  CHECK(sealer.status().code() == Code::kInvalidConfig);
  CHECK(sealer.status().message().find("encryption_key") != std::string::npos);
}
