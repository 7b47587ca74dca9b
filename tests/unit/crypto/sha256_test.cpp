#include "crypto/sha256.hpp"

#include <string>
#include <utility>

#include <catch2/catch.hpp>

using experiture::crypto::sha256;
using experiture::crypto::sha256_hex;

TEST_CASE("sha256_hex matches the known test vectors", "[crypto][unit]") {
  using Vector = std::pair<std::string, std::string>;
  const auto vector =
      GENERATE(Vector{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
               Vector{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
               Vector{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
               Vector{std::string(1000000, 'a'),
                      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"});
  CHECK(sha256_hex(vector.first) == vector.second);
}

TEST_CASE("sha256 returns the raw digest of binary input", "[crypto][unit]") {
  const std::string input("\x00\xff\x10", 3);
  const auto digest = sha256(input);
  const std::string hex = sha256_hex(input);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string from_raw;
  for (uint8_t b : digest) {
    from_raw.push_back(kHex[b >> 4]);
    from_raw.push_back(kHex[b & 0x0F]);
  }
  CHECK(from_raw == hex);
  CHECK(sha256_hex(std::string("\x00", 1)) ==
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}
