// Crash loop: children write and drain through the real client against the emulator and are
// SIGKILLed at random moments; a final clean drain must leave nothing lost, nothing doubled,
// and every write in order.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "temp_dir.hpp"

using nlohmann::json;

namespace {

constexpr int kIterations = 50;
constexpr int kWritesPerChild = 400;
constexpr int kReportEvery = 50;
constexpr int kBlock = 20;  // 20 upserts, then 20 appends, ...

int64_t global_of(int iteration, int j) {
  return static_cast<int64_t>(iteration) * 1000 + j;
}
bool is_upsert(int j) {
  return (j / kBlock) % 2 == 0;
}
std::string profile_of(int j) {
  return "p" + std::to_string(j % 5) + "@example.com";
}

experiture::Config config_for(const std::string& db, const std::string& endpoint) {
  experiture::Config c;
  c.storage_path = db;
  c.endpoint = endpoint;
  c.token = "test-token";
  c.batch_size = 50;
  c.flush_interval_ms = 10;
  c.retry.base_ms = 10;
  c.retry.cap_ms = 100;
  return c;
}

[[noreturn]] void child(int iteration, const std::string& db, const std::string& endpoint, int fd) {
  auto opened = experiture::Client::open(config_for(db, endpoint));
  if (!opened.is_ok()) _exit(3);
  auto& client = *opened.value();
  for (int j = 0; j < kWritesPerChild; ++j) {
    const int64_t g = global_of(iteration, j);
    experiture::Status status;
    do {
      if (is_upsert(j)) {
        status = client.upsert(
            "profiles", json{{"email", profile_of(j)}, {"first_name", "v" + std::to_string(g)}},
            "email");
      } else {
        status = client.append("events", json{{"event", "tick"}, {"sequence", g}});
      }
      if (status.code() == experiture::Code::kQueueFull) client.persist(1000);
    } while (status.code() == experiture::Code::kQueueFull);
    if (!status.is_ok()) _exit(4);
    if ((j + 1) % kReportEvery == 0) {
      if (!client.persist(30000).is_ok()) _exit(5);
      int persisted = j;
      if (write(fd, &persisted, sizeof persisted) != sizeof persisted) _exit(6);
    }
  }
  client.flush(30000);
  for (;;) pause();
}

}  // namespace

TEST_CASE("50 children killed at random moments lose nothing, double nothing, keep order",
          "[fault][integration]") {
  experiture::test::EmulatorProcess emulator;
  experiture::test::TempDir dir;
  const std::string db = dir.file("outbox.db");
  std::mt19937 rng(20261129);
  std::map<int, int> persisted_through;  // iteration -> last j known durable

  for (int iteration = 0; iteration < kIterations; ++iteration) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      child(iteration, db, emulator.base_url(), fds[1]);
    }
    close(fds[1]);
    const int reports = std::uniform_int_distribution<int>(1, kWritesPerChild / kReportEvery)(rng);
    int persisted = -1;
    for (int r = 0; r < reports; ++r) {
      int value = 0;
      if (read(fds[0], &value, sizeof value) != sizeof value) break;
      persisted = value;
    }
    kill(pid, SIGKILL);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    persisted_through[iteration] = persisted;
  }

  {
    auto opened = experiture::Client::open(config_for(db, emulator.base_url()));
    REQUIRE(opened.is_ok());
    REQUIRE(opened.value()->flush(120000).is_ok());
    CHECK(opened.value()->stats().dead_letters == 0);
  }

  // Events: strictly increasing (in order, none doubled), and every persisted one present.
  auto events = emulator.events("events");
  std::set<int64_t> seen;
  int64_t previous = -1;
  for (const auto& e : events) {
    const int64_t g = e["fields"].contains("sequence") ? e["fields"]["sequence"].get<int64_t>()
                                                       : e["sequence"].get<int64_t>();
    REQUIRE(g > previous);
    previous = g;
    seen.insert(g);
  }
  int64_t delivered_max_last = -1;
  for (const auto& [iteration, through] : persisted_through) {
    for (int j = 0; j <= through; ++j) {
      if (!is_upsert(j)) {
        INFO("iteration " << iteration << " write " << j);
        REQUIRE(seen.count(global_of(iteration, j)) == 1);
      }
    }
  }
  for (int64_t g : seen) {
    if (g / 1000 == kIterations - 1) delivered_max_last = std::max(delivered_max_last, g);
  }

  // The loop really ran: every child got at least one persist report out before it died.
  for (const auto& [iteration, through] : persisted_through) CHECK(through >= kReportEvery - 1);
  CHECK(seen.size() >= static_cast<size_t>(kIterations) * kBlock);

  auto counters = emulator.counters();
  for (const auto& item : counters["applications_by_idempotency_key"].items()) {
    REQUIRE(item.value().get<int64_t>() == 1);
  }

  // Profiles hold the last durable write of the last child: the durable prefix of that child
  // reaches at least its last persisted report and its last delivered event.
  const int last = kIterations - 1;
  for (int p = 0; p < 5; ++p) {
    const std::string email = "p" + std::to_string(p) + "@example.com";
    auto profile = emulator.profile("email", email);
    REQUIRE_FALSE(profile.is_null());
    const std::string value = profile["fields"]["first_name"].get<std::string>();
    const int64_t g = std::stoll(value.substr(1));
    CHECK(g / 1000 == last);
    const int j_final = static_cast<int>(g % 1000);
    // No later durable upsert to this profile exists below the known durable prefix.
    const int known_prefix =
        std::max(persisted_through[last], static_cast<int>(delivered_max_last % 1000));
    for (int j = j_final + 1; j <= known_prefix; ++j) {
      if (is_upsert(j)) CHECK(profile_of(j) != email);
    }
  }
}
