// The dev console's JSON (/_emulator/api/*) and start-up on a busy port. The page itself is
// driven in a real browser by tools/emulator/scripts/console_browser.py (ctest, when chromium is
// installed).
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "emulator_process.hpp"
#include "emulator_test_helpers.hpp"

using experiture::test::EmulatorProcess;
using experiture::test::profile_batch;
using experiture::test::uuid_v4;
using nlohmann::json;

TEST_CASE("the console log records each API request with key, status, records and rejections",
          "[emulator][console]") {
  EmulatorProcess emulator;
  std::string key = uuid_v4();
  json body = {{"records", {{{"email", "ok@example.com"}}, {{"email", "not-an-email"}}}},
               {"matchKey", "email"}};
  REQUIRE(emulator.post_api("/records/profiles/upsert-batch", body, "t", key).status == 200);
  REQUIRE(emulator.post_api("/records/profiles/upsert-batch", body, "t", key).status == 200);
  emulator.set_faults({{"sequence", {"503"}}});
  REQUIRE(emulator
              .post_api("/records/profiles/upsert",
                        {{"record", {{"email", "x@example.com"}}}, {"matchKey", "email"}})
              .status == 503);

  json log = emulator.get_json("/_emulator/api/log?after=0");
  REQUIRE(log["entries"].size() == 3);
  CHECK(log["last_id"] == 3);
  const json& fault = log["entries"][0];  // newest first
  CHECK(fault["status"] == 503);
  CHECK(fault["fault"] == "503");
  CHECK(fault["rejected"][0]["code"] == "CDP_ETL.INTERNAL.UNAVAILABLE");
  const json& replay = log["entries"][1];
  CHECK(replay["replay"] == true);
  CHECK(replay["idempotency_key"] == key);
  const json& first = log["entries"][2];
  CHECK(first["replay"] == false);
  CHECK(first["path"] == "/public/v1/records/profiles/upsert-batch");
  CHECK(first["records"] == 2);
  CHECK(first["status"] == 200);
  CHECK(first["latency_ms"].get<double>() >= 0);
  REQUIRE(first["rejected"].size() == 1);
  CHECK(first["rejected"][0]["index"] == 1);
  CHECK(first["rejected"][0]["code"] == "CDP_ETL.VALIDATION.REQUEST_INVALID");

  json newer = emulator.get_json("/_emulator/api/log?after=2");
  CHECK(newer["entries"].size() == 1);
  json detail = emulator.get_json("/_emulator/api/log/" + first["id"].dump());
  CHECK(json::parse(detail["request_body"].get<std::string>()) == body);
  CHECK(json::parse(detail["response_body"].get<std::string>())["data"]["rejectedRecords"] == 1);
  CHECK(emulator.request("GET", "/_emulator/api/log/999").status == 404);

  emulator.reset();
  CHECK(emulator.get_json("/_emulator/api/log?after=0")["entries"].empty());
}

TEST_CASE("console profiles are paged newest first and found by any identifier",
          "[emulator][console]") {
  EmulatorProcess emulator;
  REQUIRE(emulator.post_api("/records/profiles/upsert-batch", profile_batch(120, "page")).status ==
          200);
  REQUIRE(emulator
              .post_api("/records/profiles/upsert",
                        {{"record", {{"email", "page7@example.com"}, {"customer_id", "CUST-77"}}},
                         {"matchKey", "email"}})
              .status == 200);
  json first = emulator.get_json("/_emulator/api/profiles?limit=50");
  CHECK(first["total"] == 120);
  REQUIRE(first["profiles"].size() == 50);
  CHECK(first["profiles"][0]["id"] == 120);
  json last = emulator.get_json("/_emulator/api/profiles?offset=100&limit=50");
  REQUIRE(last["profiles"].size() == 20);
  CHECK(last["profiles"][19]["id"] == 1);

  json by_customer = emulator.get_json("/_emulator/api/profiles?q=cust-77");
  REQUIRE(by_customer["matched"] == 1);
  CHECK(by_customer["profiles"][0]["identifiers"]["email"][0] == "page7@example.com");
  json by_part = emulator.get_json("/_emulator/api/profiles?q=PAGE11&limit=5");
  CHECK(by_part["matched"] == 11);  // page11, page110..page119
  CHECK(by_part["profiles"].size() == 5);
  CHECK(emulator.get_json("/_emulator/api/profiles?q=nobody")["matched"] == 0);
}

TEST_CASE("a console profile timeline names the write that set each field", "[emulator][console]") {
  EmulatorProcess emulator;
  std::string first_key = uuid_v4(), second_key = uuid_v4();
  REQUIRE(emulator
              .post_api("/records/profiles/upsert",
                        {{"record", {{"email", "t@example.com"}, {"tier", "gold"}}},
                         {"matchKey", "email"}},
                        "t", first_key)
              .status == 200);
  REQUIRE(emulator
              .post_api("/records/profiles/upsert",
                        {{"record", {{"email", "t@example.com"}, {"tier", nullptr}}},
                         {"matchKey", "email"}},
                        "t", second_key)
              .status == 200);
  json id = emulator.get_json("/_emulator/api/profiles?q=t@example.com")["profiles"][0]["id"];
  json profile = emulator.get_json("/_emulator/api/profile?id=" + id.dump());
  REQUIRE(profile["writes"].size() == 2);
  CHECK(profile["writes"][0]["idempotency_key"] == first_key);
  CHECK(profile["writes"][0]["set"]["tier"] == "gold");
  CHECK(profile["writes"][1]["idempotency_key"] == second_key);
  CHECK(profile["writes"][1]["set"]["tier"].is_null());
  CHECK_FALSE(profile["fields"].contains("tier"));
  CHECK(emulator.request("GET", "/_emulator/api/profile?id=999").status == 404);
}

TEST_CASE("console events are paged newest first per object", "[emulator][console]") {
  EmulatorProcess emulator;
  json rows = json::array();
  for (int i = 0; i < 7; ++i) rows.push_back({{"event", "e" + std::to_string(i)}});
  REQUIRE(emulator.post_api("/records/events/append-batch", {{"records", rows}}).status == 200);
  json page = emulator.get_json("/_emulator/api/events?object=events&offset=5&limit=5");
  CHECK(page["total"] == 7);
  CHECK(page["objects"]["events"] == 7);
  REQUIRE(page["events"].size() == 2);
  CHECK(page["events"][1]["fields"]["event"] == "e0");
  CHECK(emulator.get_json("/_emulator/api/summary")["events"] == 7);
}

TEST_CASE("the console page is one self-contained HTML document", "[emulator][console]") {
  EmulatorProcess emulator;
  auto page = emulator.request("GET", "/_emulator/");
  CHECK(page.status == 200);
  CHECK(page.headers["content-type"].rfind("text/html", 0) == 0);
  CHECK(page.body.find("id=\"fault-apply\"") != std::string::npos);
  CHECK(page.body.find("/_emulator/api/log") != std::string::npos);
  CHECK(page.body.find("http://") == std::string::npos);  // nothing from a CDN
  CHECK(page.body.find("https://") == std::string::npos);
}

TEST_CASE("an emulator started on a port in use fails with a clear message",
          "[emulator][console]") {
  EmulatorProcess first;
  // `timeout` bounds the old behaviour (a second server that starts and listens too).
  std::string command = std::string("timeout 10 ") + EXPERITURE_EMULATOR_PATH + " --port " +
                        std::to_string(first.port()) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[512];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  INFO(output);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(output.find("127.0.0.1:" + std::to_string(first.port())) != std::string::npos);
  CHECK(output.find("already in use") != std::string::npos);
  CHECK(first.counters()["requests"] == 0);  // the first one still answers
}
