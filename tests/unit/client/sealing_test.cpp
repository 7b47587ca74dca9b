// At-rest sealing: with an app key, no personal data is readable in the outbox files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "crypto/sealer.hpp"
#include "experiture/client.hpp"
#include "fakes.hpp"
#include "outbox/sqlite_db.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Config;
using experiture::test::FakeHttpClient;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

const std::string kKeyA(32, 'A');
const std::string kKeyB = "0123456789abcdef0123456789abcdef";

Config sealed_config(const TempDir& dir, std::shared_ptr<FakeHttpClient> http,
                     const std::string& key) {
  Config c;
  c.storage_path = dir.file("outbox.db");
  c.endpoint = "https://api.example.test/public/v1";
  c.token = "t";
  c.manual_mode = true;
  c.http = std::move(http);
  c.encryption_key = key;
  return c;
}

// Every byte of every file in the directory (database, WAL, shared memory).
std::string all_bytes(const TempDir& dir) {
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    bytes += s.str();
  }
  return bytes;
}

void write_personal_data(Client& client) {
  REQUIRE(client.set_push_token("push-secret-123").is_ok());
  REQUIRE(client.login(experiture::LoginInfo{"ann.secret@example.com", "C-77", "+12125550142"})
              .is_ok());
  REQUIRE(client.upsert("profiles", json{{"email", "bob.hidden@example.com"}}, "email").is_ok());
  REQUIRE(client.persist(5000).is_ok());
}

}  // namespace

TEST_CASE("with a key the outbox files hold no email, phone or token in the clear",
          "[client][security][unit]") {
  const bool sealed = GENERATE(true, false);
  TempDir dir;
  auto http = std::make_shared<FakeHttpClient>();
  {
    auto client = Client::open(sealed_config(dir, http, sealed ? kKeyA : ""));
    REQUIRE(client.is_ok());
    write_personal_data(*client.value());
  }
  const std::string bytes = all_bytes(dir);
  for (const char* secret :
       {"ann.secret@example.com", "+12125550142", "push-secret-123", "bob.hidden@example.com"}) {
    INFO(secret << (sealed ? " sealed" : " plain"));
    CHECK((bytes.find(secret) == std::string::npos) == sealed);  // the plain run proves the scan
  }
}

TEST_CASE("a tampered sealed record goes to dead letters and is never sent",
          "[client][security][unit]") {
  TempDir dir;
  auto http = std::make_shared<FakeHttpClient>();
  {
    auto client = Client::open(sealed_config(dir, http, kKeyA));
    REQUIRE(client.is_ok());
    REQUIRE(client.value()->upsert("profiles", json{{"email", "a@example.com"}}, "email").is_ok());
    REQUIRE(client.value()->upsert("profiles", json{{"email", "b@example.com"}}, "email").is_ok());
    REQUIRE(client.value()->persist(5000).is_ok());
  }
  {
    auto db = experiture::outbox::SqliteDb::open(dir.file("outbox.db"), "");
    REQUIRE(db.is_ok());
    // Flip one bit in the middle of the last entry's sealed payload.
    auto read = db.value().prepare("SELECT seq, payload FROM entries ORDER BY seq DESC LIMIT 1");
    REQUIRE(read.is_ok());
    REQUIRE(read.value().step() == SQLITE_ROW);
    const int64_t seq = read.value().column_int(0);
    std::string payload = read.value().column_text(1);
    read.value().reset();
    payload[payload.size() / 2] = static_cast<char>(payload[payload.size() / 2] ^ 0x01);
    auto write = db.value().prepare("UPDATE entries SET payload = ? WHERE seq = ?");
    REQUIRE(write.is_ok());
    write.value().bind_blob(1, payload).bind(2, seq);
    REQUIRE(write.value().run(db.value(), "tamper").is_ok());
  }
  http->set_responder(
      [](const experiture::platform::HttpRequest&) { return experiture::test::ok_response(); });
  auto client = Client::open(sealed_config(dir, http, kKeyA));
  REQUIRE(client.is_ok());
  REQUIRE(client.value()->flush(5000).is_ok());
  for (const auto& request : http->requests()) {
    CHECK(request.body.find("b@example.com") == std::string::npos);
  }
  auto dead = client.value()->dead_letters(10);
  REQUIRE(dead.is_ok());
  REQUIRE(dead.value().size() == 1);
  CHECK(dead.value()[0].code == "SDK.STORAGE.SEAL_INVALID");
  CHECK(client.value()->stats().delivered == 2);  // the anonymous profile and a@example.com
}

TEST_CASE("key rotation: rows sealed with the previous key still open",
          "[client][security][unit]") {
  TempDir dir;
  auto http = std::make_shared<FakeHttpClient>();
  std::string device;
  {
    auto client = Client::open(sealed_config(dir, http, kKeyA));
    REQUIRE(client.is_ok());
    device = client.value()->device_id();
    REQUIRE(client.value()->upsert("profiles", json{{"email", "a@example.com"}}, "email").is_ok());
    REQUIRE(client.value()->persist(5000).is_ok());
  }
  http->set_responder(
      [](const experiture::platform::HttpRequest&) { return experiture::test::ok_response(); });
  Config rotated = sealed_config(dir, http, kKeyB);
  rotated.previous_encryption_key = kKeyA;
  auto client = Client::open(rotated);
  REQUIRE(client.is_ok());
  CHECK(client.value()->device_id() == device);  // identity meta opened with the old key
  REQUIRE(client.value()->flush(5000).is_ok());
  CHECK(client.value()->stats().dead_letters == 0);
  CHECK(client.value()->stats().delivered == 2);
}

TEST_CASE("with a key identical records are stored as different bytes, each with its own nonce",
          "[client][security][unit]") {
  TempDir dir;
  auto http = std::make_shared<FakeHttpClient>();
  {
    auto client = Client::open(sealed_config(dir, http, kKeyA));
    REQUIRE(client.is_ok());
    for (int i = 0; i < 200; ++i) {
      REQUIRE(client.value()->append("events", json{{"event", "same"}}).is_ok());
    }
    REQUIRE(client.value()->persist(5000).is_ok());
  }
  auto db = experiture::outbox::SqliteDb::open(dir.file("outbox.db"), "");
  REQUIRE(db.is_ok());
  auto read = db.value().prepare("SELECT payload FROM entries WHERE object = 'events'");
  REQUIRE(read.is_ok());
  std::set<std::string> payloads;
  std::set<std::string> nonces;
  size_t rows = 0;
  while (read.value().step() == SQLITE_ROW) {
    const std::string payload = read.value().column_text(0);
    // [version][12-byte nonce][ciphertext][16-byte tag], see crypto/sealer.hpp
    REQUIRE(payload.size() > experiture::crypto::Sealer::kOverheadBytes);
    CHECK(payload.find("same") == std::string::npos);
    payloads.insert(payload);
    nonces.insert(payload.substr(1, experiture::crypto::Sealer::kNonceBytes));
    ++rows;
  }
  REQUIRE(rows == 200);
  CHECK(payloads.size() == 200);
  CHECK(nonces.size() == 200);
}

TEST_CASE("a key of the wrong length is refused, naming the field", "[client][security][unit]") {
  TempDir dir;
  auto opened = Client::open(sealed_config(dir, std::make_shared<FakeHttpClient>(), "short"));
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == experiture::Code::kInvalidConfig);
  CHECK(opened.status().message().find("encryption_key") != std::string::npos);
}
