#include <catch2/catch.hpp>

#include <atomic>
#include <future>

#include "emulator_process.hpp"
#include "emulator_test_helpers.hpp"

using experiture::test::EmulatorProcess;
using nlohmann::json;

namespace {

experiture::test::EmulatorResponse write_one(const EmulatorProcess& emulator) {
  return emulator.post_api("/records/profiles/upsert",
                           {{"record", {{"email", "f@example.com"}}}, {"matchKey", "email"}});
}

}  // namespace

TEST_CASE("each scripted status fault answers once, then writes succeed", "[emulator][fault]") {
  EmulatorProcess emulator;
  auto [kind, status, code] = GENERATE(
      table<std::string, long, std::string>({{"500", 500, "CDP_ETL.INTERNAL.ERROR"},
                                             {"502", 502, "CDP_ETL.INTERNAL.BAD_GATEWAY"},
                                             {"503", 503, "CDP_ETL.INTERNAL.UNAVAILABLE"},
                                             {"504", 504, "CDP_ETL.INTERNAL.TIMEOUT"},
                                             {"409", 409, "CDP_ETL.CONFLICT.CONCURRENT_WRITE"},
                                             {"429", 429, "CDP_ETL.RATE.LIMITED"}}));
  emulator.set_faults({{"sequence", {kind}}, {"retry_after", 7}});
  auto failed = write_one(emulator);
  CHECK(failed.status == status);
  CHECK(failed.json()["error"]["code"] == code);
  if (status == 429) CHECK(failed.headers["retry-after"] == "7");
  CHECK(emulator.counters()["writes_applied"] == 0);
  CHECK(write_one(emulator).status == 200);
  json counters = emulator.counters();
  CHECK(counters["writes_applied"] == 1);
  CHECK(counters["faults"][kind] == 1);
}

TEST_CASE("a reset before apply drops the connection and applies nothing", "[emulator][fault]") {
  EmulatorProcess emulator;
  emulator.set_faults({{"sequence", {"reset_before"}}});
  auto lost = write_one(emulator);
  CHECK(lost.curl_code != 0);
  CHECK(lost.status == 0);
  CHECK(emulator.counters()["writes_applied"] == 0);
  CHECK(write_one(emulator).status == 200);
}

TEST_CASE("a reset after apply drops the connection but the write is applied",
          "[emulator][fault]") {
  EmulatorProcess emulator;
  emulator.set_faults({{"sequence", {"reset_after"}}});
  auto lost = write_one(emulator);
  CHECK(lost.curl_code != 0);
  CHECK(emulator.profile("email", "f@example.com").is_object());
  CHECK(emulator.counters()["resets"] == 1);
}

TEST_CASE("a delayed response does not block other connections", "[emulator][fault]") {
  EmulatorProcess emulator;
  emulator.set_faults({{"sequence", {json({{"kind", "delay"}, {"delay_ms", 3000}})}}});
  std::atomic<bool> slow_done{false};
  auto slow = std::async(std::launch::async, [&] {
    auto response = write_one(emulator);
    slow_done = true;
    return response.status;
  });
  // Wait until the slow request has taken its fault (read the counters, no sleeping).
  while (emulator.get_json("/_emulator/faults")["remaining_sequence"] != 0) {
  }
  CHECK(emulator
            .post_api("/records/profiles/upsert",
                      {{"record", {{"email", "fast@example.com"}}}, {"matchKey", "email"}})
            .status == 200);
  CHECK_FALSE(slow_done);
  CHECK(slow.get() == 200);
}

TEST_CASE("token_expire answers 401 TOKEN_EXPIRED and that token stays expired",
          "[emulator][fault][auth]") {
  EmulatorProcess emulator;
  emulator.set_faults({{"sequence", {"token_expire"}}});
  auto expired =
      emulator.post_api("/records/profiles/upsert",
                        {{"record", {{"email", "a@b.co"}}}, {"matchKey", "email"}}, "old-token");
  CHECK(expired.status == 401);
  CHECK(expired.json()["error"]["code"] == "CDP_ETL.AUTH.TOKEN_EXPIRED");
  auto again =
      emulator.post_api("/records/profiles/upsert",
                        {{"record", {{"email", "a@b.co"}}}, {"matchKey", "email"}}, "old-token");
  CHECK(again.status == 401);
  auto fresh =
      emulator.post_api("/records/profiles/upsert",
                        {{"record", {{"email", "a@b.co"}}}, {"matchKey", "email"}}, "new-token");
  CHECK(fresh.status == 200);
}

TEST_CASE("fault probabilities are deterministic for a seed", "[emulator][fault]") {
  auto outcomes = [](uint64_t seed) {
    EmulatorProcess emulator;
    emulator.set_faults(
        {{"seed", seed}, {"probabilities", {{"503", 0.3}, {"429", 0.2}, {"reset_before", 0.1}}}});
    std::vector<long> statuses;
    for (int i = 0; i < 30; ++i) statuses.push_back(write_one(emulator).status);
    return statuses;
  };
  std::vector<long> first = outcomes(42);
  CHECK(first == outcomes(42));
  CHECK(std::count(first.begin(), first.end(), 200L) < 30);
  CHECK(std::count(first.begin(), first.end(), 200L) > 0);
}

TEST_CASE("faults given on the command line apply from the first write", "[emulator][fault]") {
  EmulatorProcess emulator({"--faults", R"({"sequence":["503","ok","502"]})"});
  CHECK(write_one(emulator).status == 503);
  CHECK(write_one(emulator).status == 200);
  CHECK(write_one(emulator).status == 502);
  CHECK(emulator.request("GET", "/_emulator/counters").status == 200);
}

TEST_CASE("faults never touch admin or metadata routes", "[emulator][fault]") {
  EmulatorProcess emulator;
  emulator.set_faults({{"probabilities", {{"500", 1.0}}}});
  CHECK(emulator
            .request("GET", "/public/v1/metadata/objects/profiles", "", {"Authorization: Bearer t"})
            .status == 200);
  CHECK(emulator.counters()["faults"].empty());
}

TEST_CASE("the emulator can be stopped and restarted on the same port", "[emulator][fault]") {
  EmulatorProcess emulator;
  int port = emulator.port();
  emulator.stop();
  CHECK_THROWS(experiture::test::raw_exchange(port, "GET / HTTP/1.0\r\n\r\n", true));
  emulator.restart();
  CHECK(emulator.port() == port);
  CHECK(write_one(emulator).status == 200);
}
