// The SDK against experiture-emulator over loopback: the acceptance scenarios of delivery.
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::test::EmulatorProcess;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

Config emulator_config(const EmulatorProcess& emulator, const TempDir& dir) {
  Config c;
  c.storage_path = dir.file("outbox.db");
  c.endpoint = emulator.base_url();
  c.token = "test-token";
  c.retry.base_ms = 20;
  c.retry.cap_ms = 200;
  c.http_timeout_ms = 5000;
  return c;
}

std::unique_ptr<Client> open_client(const Config& c) {
  auto opened = Client::open(c);
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

void check_each_key_applied_once(const json& counters) {
  for (const auto& item : counters["applications_by_idempotency_key"].items()) {
    INFO("idempotency key " << item.key());
    CHECK(item.value().get<int64_t>() == 1);
  }
}

// The scheduler state of one of this process's threads ('R' running, 'S' sleeping, ...).
char thread_state(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the name may hold spaces and brackets
  return close == std::string::npos || close + 2 >= text.size() ? '?' : text[close + 2];
}

}  // namespace

TEST_CASE("an offline anonymous device that logs in ends as ONE profile with every identifier",
          "[integration][identity]") {
  EmulatorProcess emulator;
  TempDir dir;
  auto client = open_client(emulator_config(emulator, dir));
  const std::string device = client->device_id();
  client->set_online(false);
  REQUIRE(client->set_push_token("push-abc").is_ok());
  REQUIRE(client->upsert("profiles", json{{"device_id", device}, {"tier", "visitor"}}, "device_id")
              .is_ok());
  auto offline = client->flush(500);
  CHECK(offline.code() == Code::kPaused);
  CHECK(emulator.profiles().empty());

  experiture::LoginInfo login;
  login.email = "Ann@Example.com";
  login.customer_id = "C-1001";
  REQUIRE(client->login(login).is_ok());
  client->set_online(true);
  REQUIRE(client->flush(20000).is_ok());

  auto profiles = emulator.profiles();
  REQUIRE(profiles.size() == 1);
  auto fields = profiles[0]["fields"];
  CHECK(fields["device_id"] == device);
  CHECK(fields["push_token"] == "push-abc");
  CHECK(fields["email"] == "ann@example.com");
  CHECK(fields["customer_id"] == "C-1001");
  CHECK(fields["tier"] == "visitor");

  REQUIRE(client
              ->upsert("profiles",
                       json{{"customer_id", "C-1001"}, {"last_order_at", "2026-11-29T10:00:00Z"}},
                       "customer_id")
              .is_ok());
  REQUIRE(client->flush(20000).is_ok());
  profiles = emulator.profiles();
  REQUIRE(profiles.size() == 1);
  CHECK(profiles[0]["fields"]["last_order_at"] == "2026-11-29T10:00:00Z");
  check_each_key_applied_once(emulator.counters());
}

TEST_CASE("a flush called while the store thread reports a pause waits for its own round",
          "[integration][drain]") {
  // The Java EndToEndTest once got PAUSED from flush() right after set_online(true): flush()
  // took the store round already running (which had published the pause from before the app's
  // change) as the round that had seen its request. Made deterministic here: the listener holds
  // the round that published "no token" while the app supplies a token and calls flush().
  EmulatorProcess emulator;
  TempDir dir;
  Config c = emulator_config(emulator, dir);
  c.batch_size = 1;  // the upsert is sent at once, without a flush
  c.token.clear();
  std::atomic<bool> have_token{false};
  c.token_provider = [&](bool) { return have_token ? std::string("test-token") : std::string(); };
  std::mutex m;
  std::condition_variable cv;
  bool held = false, released = false;
  c.listener = [&](const experiture::DeliveryEvent& e) {
    if (e.type != experiture::DeliveryEvent::Type::kPaused) return;
    std::unique_lock<std::mutex> lock(m);
    if (held) return;  // only the first pause is held
    held = true;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
  };
  auto client = open_client(c);
  REQUIRE(client->upsert("profiles", json{{"email", "held@example.com"}}, "email").is_ok());
  {
    std::unique_lock<std::mutex> lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return held; }));
  }
  // The round that published "no token" is now running the listener.
  have_token = true;
  std::atomic<pid_t> flusher_tid{0};
  experiture::Status flushed(Code::kInternal, "not run");
  std::thread flusher([&] {
    flusher_tid = static_cast<pid_t>(syscall(SYS_gettid));
    flushed = client->flush(20000);
  });
  // Release the round once the flusher sleeps in flush()'s wait (after it posted its request):
  // its state in /proc turns to S. Bounded; a release before that only weakens this pass.
  const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < give_up_at) {
    if (flusher_tid != 0 && thread_state(flusher_tid) == 'S') break;
    std::this_thread::yield();
  }
  {
    std::lock_guard<std::mutex> lock(m);
    released = true;
  }
  cv.notify_all();
  flusher.join();
  CHECK(flushed.to_string() == "OK");
  CHECK_FALSE(emulator.profile("email", "held@example.com").is_null());
  check_each_key_applied_once(emulator.counters());
}

TEST_CASE("a poison record goes to dead letters and the other 999 are delivered",
          "[integration][drain]") {
  const std::string mode = GENERATE(as<std::string>{}, "results", "bare");
  EmulatorProcess emulator({"--batch-mode", mode});
  TempDir dir;
  Config c = emulator_config(emulator, dir);
  c.batch_size = 1000;
  auto client = open_client(c);
  for (int i = 0; i < 1000; ++i) {
    json record = {{"email", "user" + std::to_string(i) + "@example.com"}, {"tier", "gold"}};
    if (i == 500) record["shoe_size"] = 43;  // not in the schema: 422 REQUEST_SCHEMA
    REQUIRE(client->upsert("profiles", record, "email").is_ok());
  }
  REQUIRE(client->flush(30000).is_ok());
  CHECK(client->stats().dead_letters == 1);
  auto dead = client->dead_letters(10);
  REQUIRE(dead.is_ok());
  REQUIRE(dead.value().size() == 1);
  CHECK(json::parse(dead.value()[0].record)["email"] == "user500@example.com");
  CHECK(dead.value()[0].code == "CDP_ETL.VALIDATION.REQUEST_SCHEMA");
  CHECK_FALSE(dead.value()[0].correlation_id.empty());
  CHECK(emulator.profiles().size() == 1000);  // 999 users + the anonymous device
  CHECK(emulator.profile("email", "user500@example.com").is_null());
  CHECK(emulator.profile("email", "user999@example.com")["fields"]["tier"] == "gold");
  check_each_key_applied_once(emulator.counters());

  // The queue never stalled, and dead letters can be purged.
  REQUIRE(client->upsert("profiles", json{{"email", "late@example.com"}}, "email").is_ok());
  REQUIRE(client->flush(10000).is_ok());
  REQUIRE(client->purge_dead_letters().is_ok());
  CHECK(client->stats().dead_letters == 0);
}

TEST_CASE("under a fault storm every write is delivered once, in order", "[integration][fault]") {
  EmulatorProcess emulator({"--seed", "7"});
  emulator.set_faults(json{{"probabilities",
                            {{"500", 0.05},
                             {"502", 0.05},
                             {"503", 0.05},
                             {"504", 0.05},
                             {"429", 0.05},
                             {"reset_after", 0.05},
                             {"delay", 0.05}}},
                           {"retry_after", 1},
                           {"delay_ms", 1500},
                           {"sequence", {"ok", "token_expire"}}});
  TempDir dir;
  Config c = emulator_config(emulator, dir);
  c.http_timeout_ms = 1000;  // the injected delays run past it
  std::atomic<int> tokens_issued{0};
  c.token = "";
  c.token_provider = [&tokens_issued](bool) { return "token-" + std::to_string(++tokens_issued); };
  auto client = open_client(c);

  std::map<std::string, int> last;
  for (int i = 0; i < 20000; ++i) {
    const std::string email = "p" + std::to_string(i % 200) + "@example.com";
    json record = {{"email", email}, {"first_name", "n" + std::to_string(i)}};
    if (i % 7 == 0) record["tier"] = nullptr;  // explicit nulls travel too
    while (true) {
      auto status = client->upsert("profiles", record, "email");
      if (status.code() != Code::kQueueFull) {
        REQUIRE(status.is_ok());
        break;
      }
      client->persist(1000);
    }
    last[email] = i;
  }
  REQUIRE(client->flush(180000).is_ok());
  CHECK(client->stats().queued_records == 0);
  CHECK(client->stats().dead_letters == 0);
  CHECK(tokens_issued.load() >= 2);  // the expired token was replaced

  auto counters = emulator.counters();
  INFO(counters.dump());
  check_each_key_applied_once(counters);
  CHECK(counters["replays"].get<int64_t>() >= 0);
  for (const auto& [email, n] : last) {
    auto profile = emulator.profile("email", email);
    REQUIRE_FALSE(profile.is_null());
    CHECK(profile["fields"]["first_name"] == "n" + std::to_string(n));
  }
}

TEST_CASE("a batch survives a restart and is re-sent with the same key", "[integration][drain]") {
  EmulatorProcess emulator;
  TempDir dir;
  Config c = emulator_config(emulator, dir);
  // The anonymous profile goes through; the next batch is applied and its connection dropped
  // (several times: libcurl silently retries once on a reused connection that died, and the
  // first client's own retry may come early, since full jitter can pick a short delay). Those
  // retries replay the same request within the first client, so they prove nothing about the
  // restart: the checks below compare the emulator's idempotency log before and after it.
  emulator.set_faults(json{{"sequence",
                            {"ok", "reset_after", "reset_after", "reset_after", "reset_after",
                             "reset_after", "reset_after"}}});
  json before;
  {
    Config manual = c;
    manual.manual_mode = true;
    manual.retry.base_ms = 600000;  // no second attempt before this client closes
    manual.retry.cap_ms = 600000;
    auto client = open_client(manual);
    REQUIRE(
        client
            ->upsert("profiles", json{{"email", "r@example.com"}, {"first_name", "Rita"}}, "email")
            .is_ok());
    // One pump sends the batch; the server applies it and drops the connection.
    auto status = client->flush(1500);
    before = emulator.counters();
    INFO(before.dump());
    CHECK(status.code() == Code::kTimeout);
    REQUIRE(before["writes_applied"] == 2);  // the anonymous profile + this one
    REQUIRE(before["applications_by_idempotency_key"].size() == 2);
  }
  emulator.set_faults(json{{"sequence", json::array()}});
  auto client = open_client(c);
  REQUIRE(client->flush(20000).is_ok());
  const json after = emulator.counters();
  INFO("before the restart: " << before.dump() << "\nafter: " << after.dump());
  // The second client re-sent the persisted batch: same key (no new key was applied), same
  // body (a reused key with another body is answered 422, not replayed), so the server
  // replayed it instead of applying the write again.
  CHECK(after["applications_by_idempotency_key"] == before["applications_by_idempotency_key"]);
  CHECK(after["writes_applied"] == 2);
  CHECK(after["replays"].get<int64_t>() > before["replays"].get<int64_t>());
  check_each_key_applied_once(after);
  CHECK(client->stats().queued_records == 0);
  CHECK(client->stats().dead_letters == 0);
  CHECK(emulator.profile("email", "r@example.com")["fields"]["first_name"] == "Rita");
}

TEST_CASE("logout clears the push token on the user's profile at the server",
          "[integration][identity]") {
  EmulatorProcess emulator;
  TempDir dir;
  auto client = open_client(emulator_config(emulator, dir));
  const std::string device = client->device_id();
  REQUIRE(client->set_push_token("push-ann").is_ok());
  REQUIRE(client->login(experiture::LoginInfo{"ann@example.com", "", ""}).is_ok());
  REQUIRE(client->flush(20000).is_ok());
  const json linked = emulator.profile("email", "ann@example.com");
  REQUIRE(linked.contains("fields"));
  CHECK(linked.at("fields").value("push_token", "") == "push-ann");

  REQUIRE(client->logout().is_ok());
  REQUIRE(client->flush(20000).is_ok());
  const json user = emulator.profile("email", "ann@example.com");
  REQUIRE(user.contains("fields"));
  CHECK_FALSE(user.at("fields").contains("push_token"));  // no pushes for Ann on this device
  CHECK(user.at("fields").value("device_id", "") == device);
  CHECK(client->device_id() != device);
  const json next = emulator.profile("device_id", client->device_id());
  REQUIRE(next.contains("fields"));
  CHECK_FALSE(next.at("fields").contains("email"));  // the next person starts anonymous
  check_each_key_applied_once(emulator.counters());
}
