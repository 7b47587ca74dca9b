#include <catch2/catch.hpp>

#include "emulator_process.hpp"
#include "emulator_test_helpers.hpp"

using experiture::test::EmulatorProcess;
using experiture::test::EmulatorResponse;
using nlohmann::json;

namespace {

const std::vector<std::string> kJsonAuth = {"Content-Type: application/json",
                                            "Authorization: Bearer t"};

void check_envelope(const EmulatorResponse& response, const std::string& code) {
  json body = response.json();
  CHECK(body["success"] == false);
  CHECK(body["error"]["code"] == code);
  CHECK(body["correlationId"].is_string());
  CHECK(response.headers.count("x-correlation-id") == 1);
}

}  // namespace

TEST_CASE("an unknown field is a 422 naming records[i].field", "[emulator][validation]") {
  EmulatorProcess emulator({"--batch-mode", "bare"});
  json batch = experiture::test::profile_batch(3);
  batch["records"][1]["favourite_colour"] = "blue";
  auto response = emulator.post_api("/records/profiles/upsert-batch", batch);
  CHECK(response.status == 422);
  check_envelope(response, "CDP_ETL.VALIDATION.REQUEST_SCHEMA");
  CHECK(response.json()["error"]["details"]["path"] == "records[1].favourite_colour");
  CHECK(emulator.profiles().empty());

  auto single = emulator.post_api(
      "/records/profiles/upsert",
      {{"record", {{"email", "a@example.com"}, {"shoe", 9}}}, {"matchKey", "email"}});
  CHECK(single.status == 422);
  CHECK(single.json()["error"]["details"]["path"] == "record.shoe");
}

TEST_CASE("a bad email or a datetime without zone is a 400", "[emulator][validation]") {
  EmulatorProcess emulator;
  auto [record, path] = GENERATE(table<json, std::string>(
      {{json({{"email", "not-an-email"}}), "record.email"},
       {json({{"email", "a@example.com"}, {"last_seen_at", "2026-04-21T15:30:00"}}),
        "record.last_seen_at"},
       {json({{"email", "a@example.com"}, {"last_seen_at", "yesterday"}}), "record.last_seen_at"},
       {json({{"email", "a@example.com"}, {"phone", "212 555 1234"}}), "record.phone"},
       {json({{"email", 42}}), "record.email"},
       {json({{"tier", "gold"}}), "record.email"}}));
  auto response =
      emulator.post_api("/records/profiles/upsert", {{"record", record}, {"matchKey", "email"}});
  CHECK(response.status == 400);
  check_envelope(response, "CDP_ETL.VALIDATION.REQUEST_INVALID");
  CHECK(response.json()["error"]["details"]["path"] == path);
  CHECK(emulator.profiles().empty());
}

TEST_CASE("datetimes with a zone or an offset are accepted", "[emulator][validation]") {
  EmulatorProcess emulator;
  for (const char* value :
       {"2026-04-21T15:30:00Z", "2026-04-21T15:30:00.123+02:00", "2026-04-21T15:30-0500"}) {
    auto response = emulator.post_api(
        "/records/profiles/upsert",
        {{"record", {{"email", "a@example.com"}, {"last_seen_at", value}}}, {"matchKey", "email"}});
    CHECK(response.status == 200);
  }
}

TEST_CASE("10,001 records in a batch is a 400 and 10,000 is accepted", "[emulator][validation]") {
  EmulatorProcess emulator;
  auto too_many =
      emulator.post_api("/records/profiles/upsert-batch", experiture::test::profile_batch(10001));
  CHECK(too_many.status == 400);
  check_envelope(too_many, "CDP_ETL.VALIDATION.REQUEST_INVALID");
  CHECK(too_many.json()["error"]["details"]["path"] == "records");
  auto full =
      emulator.post_api("/records/profiles/upsert-batch", experiture::test::profile_batch(10000));
  CHECK(full.status == 200);
  CHECK(emulator.counters()["writes_applied"] == 10000);
}

TEST_CASE("a body over 10 MB is a 413 and the server keeps serving", "[emulator][validation]") {
  EmulatorProcess emulator;
  std::string body =
      "{\"matchKey\":\"email\",\"records\":[{\"email\":\"a@example.com\","
      "\"first_name\":\"" +
      std::string(10000001, 'x') + "\"}]}";
  auto response =
      emulator.request("POST", "/public/v1/records/profiles/upsert-batch", body, kJsonAuth);
  CHECK(response.status == 413);
  check_envelope(response, "CDP_ETL.VALIDATION.PAYLOAD_TOO_LARGE");
  CHECK(emulator.counters().is_object());
}

TEST_CASE("malformed requests get 400 or 413 with the error envelope and never crash the server",
          "[emulator][validation]") {
  EmulatorProcess emulator;
  const std::string upsert = "/public/v1/records/profiles/upsert";
  auto [name, body, headers] =
      GENERATE_COPY(table<std::string, std::string, std::vector<std::string>>({
          {"non-JSON", "this is not json", kJsonAuth},
          {"empty body", "", kJsonAuth},
          {"a JSON array", "[1,2,3]", kJsonAuth},
          {"a JSON string", "\"record\"", kJsonAuth},
          {"truncated JSON", "{\"record\":{\"email\":\"a@exa", kJsonAuth},
          {"record is a string", "{\"record\":\"x\",\"matchKey\":\"email\"}", kJsonAuth},
          {"record missing", "{\"matchKey\":\"email\"}", kJsonAuth},
          {"matchKey is a number", "{\"record\":{\"email\":\"a@b.co\"},\"matchKey\":1}", kJsonAuth},
          {"invalid UTF-8", "{\"record\":{\"email\":\"a\xff\xfe@b.co\"},\"matchKey\":\"email\"}",
           kJsonAuth},
          {"deep nesting", std::string(100000, '['), kJsonAuth},
          {"no content type", "{\"record\":{\"email\":\"a@b.co\"},\"matchKey\":\"email\"}",
           std::vector<std::string>{"Authorization: Bearer t"}},
      }));
  INFO(name);
  auto response = emulator.request("POST", upsert, body, headers);
  CHECK(response.status == 400);
  check_envelope(response, "CDP_ETL.VALIDATION.REQUEST_INVALID");
  CHECK(emulator.counters()["writes_applied"] == 0);
}

TEST_CASE("wrong types in a batch are rejected per record with their path",
          "[emulator][validation]") {
  EmulatorProcess emulator;
  auto wrong_records =
      emulator.request("POST", "/public/v1/records/profiles/upsert-batch",
                       "{\"records\":{\"email\":\"a@b.co\"},\"matchKey\":\"email\"}", kJsonAuth);
  CHECK(wrong_records.status == 400);
  CHECK(wrong_records.json()["error"]["details"]["path"] == "records");
  auto mixed = emulator.post_api(
      "/records/profiles/upsert-batch",
      {{"records", {7, {{"email", "a@b.co"}, {"order_count", "three"}}, {{"email", "b@b.co"}}}},
       {"matchKey", "email"}});
  REQUIRE(mixed.status == 200);
  json results = mixed.json()["data"]["results"];
  CHECK(results[0]["error"]["details"]["path"] == "records[0]");
  CHECK(results[1]["error"]["details"]["path"] == "records[1].order_count");
  CHECK(results[2]["status"] == "accepted");
}

TEST_CASE("huge headers and truncated bodies get a 400 envelope over a raw socket",
          "[emulator][validation]") {
  // A stalled body is answered when the server's read timeout ends it (kept short here).
  EmulatorProcess emulator({"--read-timeout-ms", "300"});
  std::string huge_header =
      "POST /public/v1/records/profiles/upsert HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nX-Huge: " +
      std::string(100000, 'h') + "\r\nContent-Length: 2\r\n\r\n{}";
  std::string response = experiture::test::raw_exchange(emulator.port(), huge_header, false);
  CHECK(experiture::test::raw_status(response) == 400);
  CHECK(response.find("CDP_ETL.VALIDATION.REQUEST_INVALID") != std::string::npos);

  std::string truncated =
      "POST /public/v1/records/profiles/upsert HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nAuthorization: Bearer t\r\n"
      "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n"
      "{\"record\":{\"email\":";
  response = experiture::test::raw_exchange(emulator.port(), truncated, false);
  CHECK(experiture::test::raw_status(response) == 400);
  CHECK(response.find("\"success\":false") != std::string::npos);

  std::string garbage = "\x16\x03\x01 this is not HTTP\r\n\r\n";
  response = experiture::test::raw_exchange(emulator.port(), garbage, false);
  CHECK(experiture::test::raw_status(response) == 400);

  CHECK(emulator.counters()["writes_applied"] == 0);
  CHECK(emulator
            .post_api("/records/profiles/upsert",
                      {{"record", {{"email", "alive@example.com"}}}, {"matchKey", "email"}})
            .status == 200);
}

TEST_CASE("a write to an unknown object is a 404", "[emulator][validation]") {
  EmulatorProcess emulator;
  auto response = emulator.post_api("/records/nothing/upsert",
                                    {{"record", {{"email", "a@b.co"}}}, {"matchKey", "email"}});
  CHECK(response.status == 404);
  check_envelope(response, "CDP_ETL.NOT_FOUND");
}

TEST_CASE("a schema set over the admin route is enforced", "[emulator][validation]") {
  EmulatorProcess emulator;
  emulator.post_json("/_emulator/schema",
                     {{"objects",
                       {{"profiles",
                         {{"identityKeys", {"email"}},
                          {"fields", {{"email", "email"}, {"shoe_size", "integer"}}}}}}}});
  auto ok = emulator.post_api(
      "/records/profiles/upsert",
      {{"record", {{"email", "a@b.co"}, {"shoe_size", 9}}}, {"matchKey", "email"}});
  CHECK(ok.status == 200);
  auto unknown = emulator.post_api(
      "/records/profiles/upsert",
      {{"record", {{"email", "a@b.co"}, {"tier", "gold"}}}, {"matchKey", "email"}});
  CHECK(unknown.status == 422);
}
