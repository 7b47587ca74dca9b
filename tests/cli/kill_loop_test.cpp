// kill -9 loop through the CLI: each round runs a seeded random number of experiture-cli writes
// (`append events` and `upsert profiles`) into one outbox file, each its own process; a process
// that exited 0 acknowledged its write as durable. The round's next write process is then
// SIGKILLed after a seeded random fraction of the shortest acknowledged write seen so far (while
// it starts, opens the file, writes, commits or closes), so that the kill lands inside a write on
// a fast machine as on a slow one. After all rounds `experiture-cli drain` delivers to the
// emulator, and every acknowledged write must be there exactly once (events by sequence; no
// idempotency key applied twice), the killed writes at most once, each profile's writes applied in
// order and ending on its last durable value, and the file must open without being moved aside or
// salvaged. 3 rounds in the suite; EXPERITURE_POWERLOSS_LONG=1 (the power-loss tests' long mode)
// runs 25.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "emulator_process.hpp"
#include "temp_dir.hpp"

using experiture::test::CliRunner;
using experiture::test::EmulatorProcess;
using experiture::test::ProcessResult;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

constexpr int kProfiles = 3;
constexpr int kMaxAckedPerRound = 8;

bool long_mode() {
  const char* env = std::getenv("EXPERITURE_POWERLOSS_LONG");
  return env != nullptr && std::string(env) == "1";
}

// Write g: every third an upsert of profile p<g/3 % kProfiles>, the others appended events.
bool is_upsert(int g) {
  return g % 3 == 2;
}
std::string email_of(int g) {
  return "p" + std::to_string((g / 3) % kProfiles) + "@example.com";
}

std::vector<std::string> write_args(int g) {
  if (is_upsert(g)) {
    return {"upsert", "profiles", "email", json{{"email", email_of(g)}, {"order_count", g}}.dump()};
  }
  return {"append", "events", json{{"event", "kill-loop"}, {"sequence", g}}.dump()};
}

}  // namespace

TEST_CASE(
    "experiture-cli killed with SIGKILL in a loop loses no acknowledged write and doubles "
    "nothing",
    "[cli][fault][kill]") {
  const auto started = std::chrono::steady_clock::now();
  const int rounds = long_mode() ? 25 : 3;
  TempDir dir;
  EmulatorProcess emulator;
  const std::string db = dir.file("outbox.db");
  CliRunner cli(EXPERITURE_CLI_PATH,
                {"--db", db, "--endpoint", emulator.base_url(), "--token", "test-token"});
  cli.set_env("EXPERITURE_LOG", "off");
  std::mt19937 rng(20261202);

  std::set<int> acknowledged;  // writes whose process exited 0
  std::set<int> killed;        // writes whose process died of SIGKILL: delivered at most once
  int64_t shortest_write_us = std::numeric_limits<int64_t>::max();
  int g = 0;
  for (int round = 0; round < rounds; ++round) {
    const int acks = std::uniform_int_distribution<int>(1, kMaxAckedPerRound)(rng);
    for (int i = 0; i < acks; ++i, ++g) {
      const auto t0 = std::chrono::steady_clock::now();
      ProcessResult r = cli.run(write_args(g));
      const int64_t took_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - t0)
                                  .count();
      INFO("round " << round << " write " << g << ": " << r.err);
      REQUIRE(r.exit_code == 0);
      acknowledged.insert(g);
      shortest_write_us = std::min(shortest_write_us, took_us);
    }
    // The kill point: a random point within the shortest whole write measured on this machine
    // (a fixed 0-60 ms bound let every write finish first on an idle machine).
    const int64_t delay_us =
        std::uniform_int_distribution<int64_t>(0, shortest_write_us * 9 / 10)(rng);
    const int pid = cli.start(write_args(g));
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    REQUIRE(::kill(pid, SIGKILL) == 0);  // a zombie (already exited) still takes the signal
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status)) {
      INFO("round " << round << " write " << g << " exited before the kill");
      REQUIRE(WEXITSTATUS(status) == 0);
      acknowledged.insert(g);
    } else {
      REQUIRE(WIFSIGNALED(status));
      killed.insert(g);
    }
    ++g;
  }

  ProcessResult drained = cli.run({"drain", "--timeout", "120"});
  INFO(drained.out << drained.err);
  REQUIRE(drained.exit_code == 0);

  // The file opens cleanly: never moved aside, nothing salvaged or lost to damage.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    CHECK(e.path().filename().string().find(".corrupt-") == std::string::npos);
  }
  ProcessResult status = cli.run({"status", "--json"});
  REQUIRE(status.exit_code == 0);
  const json s = json::parse(status.out);
  INFO(status.out);
  CHECK(s["damage"]["salvaged"] == 0);
  CHECK(s["damage"]["lost"] == 0);
  CHECK(s["damage"]["last"] == "");
  CHECK(s["queued"] == 0);
  CHECK(s["dead_letters"] == 0);

  // Events: each acknowledged one exactly once, a killed one at most once, in write order.
  std::map<int, int> seen;
  int previous = -1, out_of_order = 0;
  for (const auto& e : emulator.events("events")) {
    if (e["fields"].value("event", "") != "kill-loop") continue;
    const int n = e["fields"].value("sequence", -1);
    ++seen[n];
    if (n <= previous) ++out_of_order;
    previous = n;
  }
  int acked_events = 0, delivered = 0, doubled = 0, lost = 0, killed_delivered = 0;
  for (const auto& [n, count] : seen) {
    delivered += count;
    if (count > 1) doubled += count - 1;
    if (acknowledged.count(n) == 0 && killed.count(n) == 0) ++doubled;  // never written at all
    if (killed.count(n) > 0) ++killed_delivered;
  }
  for (int n : acknowledged) {
    if (is_upsert(n)) continue;
    ++acked_events;
    if (seen.count(n) == 0) ++lost;
  }

  // Idempotency: no key applied twice (a re-send after a kill is a replay, not a new write).
  const json counters = emulator.counters();
  for (const auto& item : counters["applications_by_idempotency_key"].items()) {
    if (item.value().get<int64_t>() != 1) ++doubled;
  }

  // Profiles: writes applied in write order, ending on the last durable upsert (or a later,
  // killed one that reached the file).
  int profile_order_errors = 0, profile_lost = 0;
  for (int p = 0; p < kProfiles; ++p) {
    const std::string email = "p" + std::to_string(p) + "@example.com";
    int last_acked = -1, last_killed = -1;
    for (int n : acknowledged) {
      if (is_upsert(n) && email_of(n) == email) last_acked = n;
    }
    for (int n : killed) {
      if (is_upsert(n) && email_of(n) == email) last_killed = n;
    }
    const json found = emulator.get_json("/_emulator/api/profiles?object=profiles&q=" + email);
    if (last_acked < 0 && last_killed < 0) continue;
    if (found["profiles"].empty()) {
      if (last_acked >= 0) ++profile_lost;
      continue;
    }
    const json profile =
        emulator.get_json("/_emulator/api/profile?id=" + found["profiles"][0]["id"].dump());
    int last_set = -1;
    for (const auto& w : profile["writes"]) {
      if (!w["set"].contains("order_count")) continue;
      const int n = w["set"]["order_count"].get<int>();
      if (n <= last_set) ++profile_order_errors;
      last_set = n;
    }
    const int final_value = profile["fields"].value("order_count", -1);
    INFO(email << " final " << final_value << ", last acknowledged " << last_acked
               << ", last killed " << last_killed);
    if (final_value < last_acked) ++profile_lost;
    CHECK((final_value == last_acked || (final_value == last_killed && last_killed > last_acked)));
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN("kill -9 loop through experiture-cli: "
       << rounds << " rounds, " << acknowledged.size() << " acknowledged writes (" << acked_events
       << " events), " << killed.size() << " killed mid-write (" << killed_delivered
       << " of them delivered), " << delivered << " events delivered, " << doubled << " doubled, "
       << lost + profile_lost << " lost, " << out_of_order << " out of order, " << seconds << " s");
  CHECK(doubled == 0);
  CHECK(lost == 0);
  CHECK(profile_lost == 0);
  CHECK(out_of_order == 0);
  CHECK(profile_order_errors == 0);
  // The loop really ran: writes were acknowledged and processes died mid-write.
  CHECK(acked_events > 0);
  CHECK(acknowledged.size() > static_cast<size_t>(acked_events));  // upserts too
  CHECK_FALSE(killed.empty());
}
