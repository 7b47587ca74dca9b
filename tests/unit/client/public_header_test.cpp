// The public C++ header needs no JSON library: it includes none (checked before anything else
// is included here), takes JSON text, and takes a JSON document of the app's own type as its text.
#include "experiture/client.hpp"

#if defined(INCLUDE_NLOHMANN_JSON_FWD_HPP_) || defined(INCLUDE_NLOHMANN_JSON_HPP_) || \
    defined(NLOHMANN_JSON_VERSION_MAJOR)
#error "experiture/client.hpp must not include nlohmann/json"
#endif

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

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
  c.endpoint = "https://api.example.test/public/v1";
  c.token = "test-token";
  c.manual_mode = true;
  c.clock = std::make_shared<experiture::test::FakeClock>();
  c.http = std::make_shared<experiture::test::FakeHttpClient>();
  c.logger = std::make_shared<experiture::test::CapturingLogger>();
  auto opened = Client::open(c);
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

}  // namespace

TEST_CASE("a JSON document is accepted as its text with the text overload's statuses",
          "[client][unit]") {
  TempDir dir;
  auto client = open_client(dir);
  const uint64_t before = client->stats().accepted;  // the anonymous profile
  const nlohmann::json record = {{"email", " A@Example.COM "}, {"tier", "gold"}};
  CHECK(client->upsert("profiles", record, "email").is_ok());
  CHECK(client->append("events", nlohmann::json{{"event", "x"}}).is_ok());
  CHECK(client->upsert("profiles", nlohmann::json::array({1}), "email").code() ==
        Code::kRecordNotObject);
  CHECK(client->upsert("profiles", nlohmann::json::object(), "email").code() == Code::kRecordEmpty);
  CHECK(client->upsert("profiles", nlohmann::json{{"tier", "gold"}}, "email").code() ==
        Code::kMatchKeyMissing);
  REQUIRE(client->pump().is_ok());
  CHECK(client->stats().accepted == before + 2);
}

TEST_CASE("a JSON document holding text that is not UTF-8 is refused naming the field",
          "[client][unit]") {
  TempDir dir;
  auto client = open_client(dir);
  const nlohmann::json bad = {{"email", "a@example.com"}, {"name", std::string("caf\xc3")}};
  const experiture::Status upserted = client->upsert("profiles", bad, "email");
  CHECK(upserted.code() == Code::kInvalidJson);
  CHECK(upserted.message() == "`name`: holds text that is not valid UTF-8");
  const experiture::Status appended =
      client->append("events", nlohmann::json{{std::string("k\xff"), 1}});
  CHECK(appended.code() == Code::kInvalidJson);
  CHECK(appended.message() == "record: a field name is not valid UTF-8");
  CHECK(client->append("bad object!", bad).code() == Code::kInvalidArgument);
}

TEST_CASE("every status code has its own stable name", "[client][unit]") {
  // The names are API (logs, stored diagnostics, the C API): each code has the one written here.
  const char* const names[] = {"OK",
                               "INVALID_ARGUMENT",
                               "INVALID_JSON",
                               "RECORD_NOT_OBJECT",
                               "RECORD_EMPTY",
                               "MATCH_KEY_MISSING",
                               "MATCH_KEY_NULL",
                               "MATCH_KEY_NOT_STRING",
                               "MATCH_KEY_NOT_IDENTITY",
                               "RECORD_TOO_LARGE",
                               "INVALID_EMAIL",
                               "INVALID_PHONE",
                               "TIMESTAMP_WITHOUT_ZONE",
                               "QUEUE_FULL",
                               "CONSENT_DENIED",
                               "CLOSED",
                               "TIMEOUT",
                               "STORAGE_ERROR",
                               "STORAGE_FULL",
                               "STORAGE_RECOVERED",
                               "NOT_FOUND",
                               "INVALID_CONFIG",
                               "NETWORK_ERROR",
                               "UNAUTHORIZED",
                               "FORBIDDEN",
                               "PAUSED",
                               "REJECTED",
                               "WRONG_STATE",
                               "INTERNAL"};
  static_assert(sizeof names / sizeof names[0] == static_cast<size_t>(Code::kInternal) + 1,
                "one name per code");
  for (int i = 0; i <= static_cast<int>(Code::kInternal); ++i) {
    INFO("code " << i);
    CHECK(std::string(experiture::code_name(static_cast<Code>(i))) == names[i]);
  }
  CHECK(std::string(experiture::code_name(static_cast<Code>(29))) == "UNKNOWN");
  CHECK(experiture::Status(Code::kInvalidPhone, "phone: no").to_string() ==
        "INVALID_PHONE: phone: no");
}
