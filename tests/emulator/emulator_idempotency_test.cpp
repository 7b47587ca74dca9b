#include <catch2/catch.hpp>

#include "emulator_process.hpp"
#include "emulator_test_helpers.hpp"
#include "temp_dir.hpp"

using experiture::test::EmulatorProcess;
using nlohmann::json;

TEST_CASE("the same key with the same body replays without applying again",
          "[emulator][idempotency]") {
  EmulatorProcess emulator;
  std::string key = experiture::test::uuid_v4();
  json batch = experiture::test::profile_batch(5);
  auto first = emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  auto second = emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  REQUIRE(first.status == 200);
  CHECK(second.status == 200);
  CHECK(second.body == first.body);
  CHECK(second.headers["idempotent-replayed"] == "true");
  json counters = emulator.counters();
  CHECK(counters["writes_applied"] == 5);
  CHECK(counters["replays"] == 1);
  CHECK(counters["applications_by_idempotency_key"][key] == 1);
  CHECK(emulator.profile("email", "user0@example.com")["write_count"] == 1);
}

TEST_CASE("the same key with a different body is a 422 and applies nothing",
          "[emulator][idempotency]") {
  EmulatorProcess emulator;
  std::string key = experiture::test::uuid_v4();
  emulator.post_api("/records/profiles/upsert-batch", experiture::test::profile_batch(2), "t", key);
  auto reused = emulator.post_api("/records/profiles/upsert-batch",
                                  experiture::test::profile_batch(3), "t", key);
  CHECK(reused.status == 422);
  CHECK(reused.json()["error"]["code"] == "CDP_ETL.IDEMPOTENCY.KEY_REUSED");
  CHECK(emulator.counters()["writes_applied"] == 2);
}

TEST_CASE("a key older than 24 hours of emulated time applies again", "[emulator][idempotency]") {
  EmulatorProcess emulator;
  std::string key = experiture::test::uuid_v4();
  json batch = experiture::test::profile_batch(1);
  emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  emulator.post_json("/_emulator/clock", {{"advance_s", 23 * 3600}});
  emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  CHECK(emulator.counters()["writes_applied"] == 1);
  emulator.post_json("/_emulator/clock", {{"advance_s", 3600}});
  emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  CHECK(emulator.counters()["writes_applied"] == 2);
}

TEST_CASE("an Idempotency-Key that is not a UUID v4 is a 400", "[emulator][idempotency]") {
  EmulatorProcess emulator;
  auto response = emulator.post_api("/records/profiles/upsert-batch",
                                    experiture::test::profile_batch(1), "t", "attempt-1");
  CHECK(response.status == 400);
  CHECK(response.json()["error"]["details"]["path"] == "headers.Idempotency-Key");
}

TEST_CASE("a reset after apply plus a retry with the same key applies once",
          "[emulator][idempotency][fault]") {
  EmulatorProcess emulator;
  emulator.set_faults({{"sequence", {"reset_after"}}});
  std::string key = experiture::test::uuid_v4();
  json batch = experiture::test::profile_batch(4);
  auto lost = emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  CHECK(lost.curl_code != 0);
  CHECK(emulator.counters()["writes_applied"] == 4);
  auto retry = emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  CHECK(retry.status == 200);
  json counters = emulator.counters();
  CHECK(counters["writes_applied"] == 4);
  CHECK(counters["replays"] == 1);
  CHECK(counters["applications_by_idempotency_key"][key] == 1);
}

TEST_CASE("profiles and idempotency keys survive a restart with --state",
          "[emulator][idempotency]") {
  experiture::test::TempDir dir;
  EmulatorProcess emulator({"--state", dir.file("state.db")});
  std::string key = experiture::test::uuid_v4();
  json batch = experiture::test::profile_batch(3);
  REQUIRE(emulator.post_api("/records/profiles/upsert-batch", batch, "t", key).status == 200);
  emulator.post_api("/records/events/append", {{"record", {{"event", "x"}}}});
  emulator.kill_hard();
  emulator.restart();
  CHECK(emulator.profiles().size() == 3);
  CHECK(emulator.events("events").size() == 1);
  auto replay = emulator.post_api("/records/profiles/upsert-batch", batch, "t", key);
  CHECK(replay.status == 200);
  CHECK(replay.headers["idempotent-replayed"] == "true");
  CHECK(emulator.profile("email", "user1@example.com")["write_count"] == 1);
}
