#include <catch2/catch.hpp>

#include "emulator_process.hpp"
#include "emulator_test_helpers.hpp"

using experiture::test::EmulatorProcess;
using nlohmann::json;

namespace {

const json kWrite = {{"record", {{"email", "a@example.com"}}}, {"matchKey", "email"}};

}  // namespace

TEST_CASE("a request without a bearer token is a 401 UNAUTHORIZED", "[emulator][auth]") {
  EmulatorProcess emulator;
  auto response = emulator.post_api("/records/profiles/upsert", kWrite, "");
  CHECK(response.status == 401);
  CHECK(response.json()["error"]["code"] == "CDP_ETL.AUTH.UNAUTHORIZED");
  CHECK(emulator.counters()["writes_applied"] == 0);
}

TEST_CASE("with --tokens only those tokens are accepted", "[emulator][auth]") {
  EmulatorProcess emulator({"--tokens", "alpha,beta"});
  CHECK(emulator.post_api("/records/profiles/upsert", kWrite, "beta").status == 200);
  auto other = emulator.post_api("/records/profiles/upsert", kWrite, "gamma");
  CHECK(other.status == 401);
  CHECK(other.json()["error"]["code"] == "CDP_ETL.AUTH.TOKEN_INVALID");
}

TEST_CASE("a token expires after N requests", "[emulator][auth]") {
  EmulatorProcess emulator;
  emulator.post_json("/_emulator/auth", {{"token", "t1"}, {"expire_after_requests", 2}});
  CHECK(emulator.post_api("/records/profiles/upsert", kWrite, "t1").status == 200);
  CHECK(emulator.post_api("/records/profiles/upsert", kWrite, "t1").status == 200);
  auto expired = emulator.post_api("/records/profiles/upsert", kWrite, "t1");
  CHECK(expired.status == 401);
  CHECK(expired.json()["error"]["code"] == "CDP_ETL.AUTH.TOKEN_EXPIRED");
  CHECK(emulator.post_api("/records/profiles/upsert", kWrite, "t2").status == 200);
}

TEST_CASE("a token expires at a time of the emulated clock", "[emulator][auth]") {
  EmulatorProcess emulator;
  emulator.post_json("/_emulator/clock", {{"set", "2030-01-01T00:00:00Z"}});
  emulator.post_json("/_emulator/auth", {{"token", "t1"}, {"expire_at", "2030-01-01T01:00:00Z"}});
  CHECK(emulator.post_api("/records/profiles/upsert", kWrite, "t1").status == 200);
  emulator.post_json("/_emulator/clock", {{"advance_s", 3600}});
  auto expired = emulator.post_api("/records/profiles/upsert", kWrite, "t1");
  CHECK(expired.status == 401);
  CHECK(expired.json()["error"]["code"] == "CDP_ETL.AUTH.TOKEN_EXPIRED");
}

TEST_CASE("a clock offset shows in the Date header", "[emulator][auth]") {
  EmulatorProcess emulator;
  emulator.post_json("/_emulator/clock", {{"set", "2031-06-15T12:00:00Z"}});
  auto response = emulator.post_api("/records/profiles/upsert", kWrite);
  CHECK(response.headers["date"].rfind("Sun, 15 Jun 2031 12:0", 0) == 0);
}
