// Input that must never be silently changed or cost unbounded memory: a NUL byte inside an
// explicit length, duplicate keys, a 50 MB record.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "experiture/client.hpp"
#include "fakes.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::test::TempDir;

namespace {

std::unique_ptr<Client> open_client(const TempDir& dir) {
  Config c;
  c.storage_path = dir.file("outbox.db");
  c.endpoint = "http://127.0.0.1:9/public/v1";
  c.token = "test-token";
  c.manual_mode = true;
  c.http = std::make_shared<experiture::test::FakeHttpClient>();
  auto opened = Client::open(c);
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, 6, "VmHWM:") == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

TEST_CASE("a record whose explicit length holds a NUL byte is refused, not cut there",
          "[client][unit][hostile]") {
  TempDir dir;
  auto client = open_client(dir);
  const std::string text =
      std::string("{\"email\":\"a@b.co\"}") + '\0' + "{\"email\":\"victim@evil.com\"}";
  const auto status = client->upsert("profiles", std::string_view(text), "email");
  INFO(status.to_string());
  CHECK(status.code() == Code::kInvalidJson);
  CHECK(status.message().find("NUL") != std::string::npos);
  CHECK(status.message().find("18") != std::string::npos);  // where it is
  const std::string trailing = std::string("{\"email\":\"a@b.co\"}") + '\0';
  CHECK(client->append("events", std::string_view(trailing)).code() == Code::kInvalidJson);
  // Escaped inside a string it is a character like any other.
  CHECK(client->append("events", std::string_view("{\"note\":\"a\\u0000b\"}")).is_ok());
}

TEST_CASE("a record with a duplicate key is refused naming the key", "[client][unit][hostile]") {
  TempDir dir;
  auto client = open_client(dir);
  const std::string text =
      GENERATE(std::string(R"({"email":"a@b.co","email":"victim@evil.com"})"),
               std::string(R"({"email":"a@b.co","tier":"x","Tier":"y","tier":"z"})"),
               std::string(R"({"email":"a@b.co","address":{"city":"A","city":"B"}})"),
               std::string(R"({"email":"a@b.co","list":[{"n":1},{"n":2,"n":3}]})"),
               // Upper-case email: the single pass hands it to the DOM path, which must refuse too.
               std::string(R"({"email":"A@B.CO","email":"victim@evil.com"})"));
  const auto status = client->upsert("profiles", std::string_view(text), "email");
  INFO(text << " -> " << status.to_string());
  CHECK(status.code() == Code::kInvalidJson);
  CHECK(status.message().find("duplicate") != std::string::npos);
  const bool names_key = status.message().find("`email`") != std::string::npos ||
                         status.message().find("`tier`") != std::string::npos ||
                         status.message().find("`city`") != std::string::npos ||
                         status.message().find("`n`") != std::string::npos;
  CHECK(names_key);
  // Same names in different objects are not duplicates.
  CHECK(
      client->upsert("profiles", std::string_view(R"({"email":"a@b.co","a":{"email":1}})"), "email")
          .is_ok());
}

TEST_CASE("a 50 MB record is refused before it is parsed, in bounded memory",
          "[client][unit][hostile]") {
  TempDir dir;
  auto client = open_client(dir);
  const std::string text =
      "{\"email\":\"a@b.co\",\"bio\":\"" + std::string(50u * 1000 * 1000, 'x') + "\"}";
  std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM back to the current RSS
  const long before_kib = peak_rss_kib();
  const auto status = client->upsert("profiles", std::string_view(text), "email");
  const long grown_kib = peak_rss_kib() - before_kib;
  INFO(status.to_string() << "; peak RSS grew by " << grown_kib << " KiB");
  CHECK(status.code() == Code::kRecordTooLarge);
  CHECK(status.message().find("max_record_bytes") != std::string::npos);
  CHECK(grown_kib < 8 * 1024);
}
