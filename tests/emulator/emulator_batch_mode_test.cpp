#include <catch2/catch.hpp>

#include "emulator_process.hpp"
#include "emulator_test_helpers.hpp"

using experiture::test::EmulatorProcess;
using nlohmann::json;

namespace {

json batch_with_one_bad_email() {
  json batch = experiture::test::profile_batch(3);
  batch["records"][1]["email"] = "broken";
  return batch;
}

}  // namespace

TEST_CASE("results mode applies the valid records and reports the others", "[emulator][batch]") {
  EmulatorProcess emulator({"--batch-mode", "results"});
  auto response = emulator.post_api("/records/profiles/upsert-batch", batch_with_one_bad_email());
  REQUIRE(response.status == 200);
  json data = response.json()["data"];
  CHECK(data["acceptedRecords"] == 2);
  CHECK(data["rejectedRecords"] == 1);
  CHECK(data["results"][0] == json({{"index", 0}, {"status", "accepted"}}));
  CHECK(data["results"][1]["status"] == "rejected");
  CHECK(data["results"][1]["error"]["code"] == "CDP_ETL.VALIDATION.REQUEST_INVALID");
  CHECK(data["results"][1]["error"]["details"]["path"] == "records[1].email");
  CHECK(emulator.profiles().size() == 2);
}

TEST_CASE("bare mode accepts whole batches without per-record results", "[emulator][batch]") {
  EmulatorProcess emulator({"--batch-mode", "bare"});
  auto ok = emulator.post_api("/records/profiles/upsert-batch", experiture::test::profile_batch(3));
  REQUIRE(ok.status == 200);
  CHECK(ok.json()["data"]["acceptedRecords"] == 3);
  CHECK_FALSE(ok.json()["data"].contains("results"));
  auto bad = emulator.post_api("/records/profiles/upsert-batch", batch_with_one_bad_email());
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["details"]["path"] == "records[1].email");
  CHECK(emulator.counters()["writes_applied"] == 3);
}

TEST_CASE("job mode answers 202 with a jobId whose status can be read", "[emulator][batch]") {
  EmulatorProcess emulator({"--batch-mode", "job"});
  auto accepted =
      emulator.post_api("/records/profiles/upsert-batch", experiture::test::profile_batch(3));
  REQUIRE(accepted.status == 202);
  std::string job_id = accepted.json()["data"]["jobId"];
  auto job = emulator.request("GET", "/public/v1/records/profiles/jobs/" + job_id, "",
                              {"Authorization: Bearer t"});
  CHECK(job.status == 200);
  CHECK(job.json()["data"]["status"] == "completed");
  CHECK(emulator.profiles().size() == 3);
}

TEST_CASE("the batch mode can be switched at run time", "[emulator][batch]") {
  EmulatorProcess emulator;
  emulator.post_json("/_emulator/batch-mode", {{"mode", "job"}});
  CHECK(emulator
            .post_api("/records/events/append-batch",
                      {{"records", {{{"event", "a"}}, {{"event", "b"}}}}})
            .status == 202);
  emulator.post_json("/_emulator/batch-mode", {{"mode", "results"}});
  auto results = emulator.post_api("/records/events/append-batch",
                                   {{"records", {{{"event", "a"}}, {{"bogus", 1}}}}});
  CHECK(results.status == 200);
  CHECK(results.json()["data"]["results"][1]["error"]["details"]["path"] == "records[1].bogus");
  CHECK(emulator.events("events").size() == 3);
}

TEST_CASE("reset clears profiles, counters and faults", "[emulator][batch]") {
  EmulatorProcess emulator;
  emulator.post_api("/records/profiles/upsert-batch", experiture::test::profile_batch(2));
  emulator.set_faults({{"sequence", {"503"}}});
  emulator.reset();
  CHECK(emulator.profiles().empty());
  CHECK(emulator.counters()["writes_applied"] == 0);
  CHECK(emulator.post_api("/records/profiles/upsert-batch", experiture::test::profile_batch(2))
            .status == 200);
}
