#include <catch2/catch.hpp>

#include "emulator_process.hpp"
#include "emulator_test_helpers.hpp"

using experiture::test::EmulatorProcess;
using nlohmann::json;

namespace {

long upsert(const EmulatorProcess& emulator, const json& record, const std::string& match_key) {
  return emulator
      .post_api("/records/profiles/upsert", {{"record", record}, {"matchKey", match_key}})
      .status;
}

}  // namespace

TEST_CASE("the seed example lands four writes on one profile", "[emulator][merge]") {
  EmulatorProcess emulator;
  REQUIRE(upsert(emulator, {{"email", "ana@example.com"}, {"tier", "gold"}}, "email") == 200);
  REQUIRE(upsert(emulator, {{"email", "ana@example.com"}, {"first_name", "Ana"}}, "email") == 200);
  REQUIRE(upsert(emulator, {{"email", "ana@example.com"}, {"customer_id", "C-1"}}, "email") == 200);
  REQUIRE(upsert(emulator, {{"customer_id", "C-1"}, {"last_order_at", "2026-04-21T15:30:00Z"}},
                 "customer_id") == 200);

  REQUIRE(emulator.profiles().size() == 1);
  json profile = emulator.profile("customer_id", "C-1");
  REQUIRE(profile == emulator.profile("email", "ana@example.com"));
  CHECK(profile["fields"] == json({{"email", "ana@example.com"},
                                   {"tier", "gold"},
                                   {"first_name", "Ana"},
                                   {"customer_id", "C-1"},
                                   {"last_order_at", "2026-04-21T15:30:00Z"}}));
  CHECK(profile["write_count"] == 4);
  CHECK(profile["writes"].size() == 4);
  CHECK(emulator.counters()["writes_applied"] == 4);
}

TEST_CASE("omitted fields are kept and an explicit null clears a field", "[emulator][merge]") {
  EmulatorProcess emulator;
  upsert(emulator, {{"email", "a@example.com"}, {"tier", "gold"}, {"first_name", "A"}}, "email");
  upsert(emulator, {{"email", "a@example.com"}, {"tier", nullptr}}, "email");
  json fields = emulator.profile("email", "a@example.com")["fields"];
  CHECK(fields == json({{"email", "a@example.com"}, {"first_name", "A"}}));
}

TEST_CASE("a write whose identifiers match two rows merges them into the matchKey row",
          "[emulator][merge]") {
  EmulatorProcess emulator;
  upsert(emulator, {{"device_id", "dev-1"}, {"platform", "android"}}, "device_id");
  upsert(emulator, {{"customer_id", "C-9"}, {"tier", "silver"}}, "customer_id");
  REQUIRE(emulator.profiles().size() == 2);

  upsert(emulator, {{"customer_id", "C-9"}, {"device_id", "dev-1"}, {"push_token", "p"}},
         "customer_id");
  REQUIRE(emulator.profiles().size() == 1);
  json profile = emulator.profile("device_id", "dev-1");
  CHECK(profile["fields"]["platform"] == "android");
  CHECK(profile["fields"]["tier"] == "silver");
  CHECK(profile["fields"]["push_token"] == "p");
  CHECK(profile == emulator.profile("customer_id", "C-9"));
}

TEST_CASE("identifiers accumulate so an old value still resolves", "[emulator][merge]") {
  EmulatorProcess emulator;
  upsert(emulator, {{"customer_id", "C-1"}, {"email", "old@example.com"}}, "customer_id");
  upsert(emulator, {{"customer_id", "C-1"}, {"email", "new@example.com"}}, "customer_id");
  json profile = emulator.profile("email", "old@example.com");
  REQUIRE(profile.is_object());
  CHECK(profile["fields"]["email"] == "new@example.com");
  CHECK(profile["identifiers"]["email"].size() == 2);
  CHECK(emulator.profile("email", "nobody@example.com").is_null());
}

TEST_CASE("a matchKey that is not an identity key is a 400", "[emulator][merge]") {
  EmulatorProcess emulator;
  auto response = emulator.post_api("/records/profiles/upsert",
                                    {{"record", {{"tier", "gold"}}}, {"matchKey", "tier"}});
  CHECK(response.status == 400);
  CHECK(response.json()["error"]["details"]["path"] == "matchKey");
}

TEST_CASE("metadata lists fields, types and identity keys", "[emulator][merge]") {
  EmulatorProcess emulator;
  auto response = emulator.request("GET", "/public/v1/metadata/objects/profiles", "",
                                   {"Authorization: Bearer t"});
  REQUIRE(response.status == 200);
  json data = response.json()["data"];
  CHECK(data["identityKeys"] ==
        json({"email", "customer_id", "phone", "device_id", "anonymous_id", "external_id"}));
  CHECK(data["fields"].size() > 10);
  auto missing =
      emulator.request("GET", "/public/v1/metadata/objects/nope", "", {"Authorization: Bearer t"});
  CHECK(missing.status == 404);
  CHECK(missing.json()["error"]["code"] == "CDP_ETL.NOT_FOUND");
}

TEST_CASE("every response carries x-correlation-id and a Date from the emulated clock",
          "[emulator][merge]") {
  EmulatorProcess emulator;
  emulator.post_json("/_emulator/clock", {{"set", "2030-01-02T03:04:05Z"}});
  auto response =
      emulator.post_api("/records/profiles/upsert",
                        {{"record", {{"email", "d@example.com"}}}, {"matchKey", "email"}});
  REQUIRE(response.status == 200);
  CHECK(response.headers["x-correlation-id"] == response.json()["correlationId"]);
  CHECK(response.headers["date"].rfind("Wed, 02 Jan 2030 03:04:0", 0) == 0);
  auto missing = emulator.request("GET", "/public/v1/nothing");
  CHECK(missing.status == 404);
  CHECK(!missing.headers["x-correlation-id"].empty());
  CHECK(!missing.headers["date"].empty());
}

TEST_CASE("appends are stored as rows and never merged", "[emulator][merge]") {
  EmulatorProcess emulator;
  json event = {{"event", "opened"}, {"device_id", "d"}, {"occurred_at", "2026-04-21T15:30:00Z"}};
  CHECK(emulator.post_api("/records/events/append", {{"record", event}}).status == 200);
  CHECK(emulator.post_api("/records/events/append-batch", {{"records", {event, event}}}).status ==
        200);
  json events = emulator.events("events");
  REQUIRE(events.size() == 3);
  CHECK(events[2]["fields"] == event);
  CHECK(events[0]["seq"] < events[1]["seq"]);
}

TEST_CASE("the admin page lists profiles through its paged JSON", "[emulator][merge]") {
  EmulatorProcess emulator;
  upsert(emulator, {{"email", "html@example.com"}}, "email");
  auto page = emulator.request("GET", "/_emulator/");
  CHECK(page.status == 200);
  CHECK(page.headers["content-type"].rfind("text/html", 0) == 0);
  CHECK(page.body.find("/_emulator/api/profiles") != std::string::npos);
  auto list = emulator.get_json("/_emulator/api/profiles?object=profiles");
  CHECK(list["profiles"][0]["identifiers"]["email"][0] == "html@example.com");
}
