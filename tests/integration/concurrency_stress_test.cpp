// The public API driven the way apps drive it: several threads calling everything in random
// order, and random calls made from inside the delivery listener, the token provider and the HTTP
// client (its send on the SDK's thread, its completion on the transport's thread), against the
// emulator with faults on. Seeded (EXPERITURE_STRESS_SEED; printed on failure), bounded in rounds
// and time (EXPERITURE_STRESS_SECONDS, default 20). Invariants, per round, against the emulator's
// store and the SDK's stats: no call blocks past its bound, no profile holds two people's
// identifiers, every accepted event is delivered exactly once (at most once in rounds that deny
// consent or whose close timed out, where dropping is documented).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "experiture/platform/backends.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::Consent;
using experiture::DeliveryEvent;
using experiture::LoginInfo;
using experiture::Status;
using experiture::test::EmulatorProcess;
using experiture::test::TempDir;
using json = nlohmann::json;
namespace platform = experiture::platform;

namespace {

constexpr int kThreads = 4;
constexpr int kPeople = 3;
constexpr int kCallsPerThread = 60;
constexpr int kMaxRounds = 40;
// A call that is not documented as waiting must return within this (generous: sanitizer builds
// and a loaded two-core machine); a waiting call within its timeout plus this.
constexpr int64_t kSlackMs = 3000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string person_email(int round, int p) {
  return "p" + std::to_string(p) + "-r" + std::to_string(round) + "@stress.example";
}
std::string person_customer_id(int round, int p) {
  return "c" + std::to_string(p) + "-r" + std::to_string(round);
}

enum class Op {
  kUpsert,
  kAppend,
  kLogin,
  kLogout,
  kPushToken,
  kConsent,
  kFlush,
  kPersist,
  kStats,
  kPause,
  kResume,
  kBackground,
  kForeground,
  kOnline,
  kDeadLetters,
  kRetryDeadLetters,
  kPurgeDeadLetters,
  kDeviceId,
  kClose,
  kCount
};

const char* op_name(Op op) {
  static const char* names[] = {"upsert",
                                "append",
                                "login",
                                "logout",
                                "push",
                                "consent",
                                "flush",
                                "persist",
                                "stats",
                                "pause",
                                "resume",
                                "background",
                                "foreground",
                                "set_online",
                                "dead_letters",
                                "retry_dead_letters",
                                "purge_dead_letters",
                                "device_id",
                                "close"};
  return names[static_cast<int>(op)];
}

// What one round shares with the callbacks: the client behind a gate that teardown closes (and
// waits for the callbacks inside it) before the client is destroyed.
struct Round {
  int index = 0;
  uint64_t seed = 0;
  bool deny_consent = false;  // this round may deny consent (queued writes are then dropped)

  std::mutex mutex;
  std::condition_variable idle;
  Client* client = nullptr;  // guarded
  bool open = false;         // guarded
  int inside = 0;            // guarded: callbacks running a call now

  std::atomic<uint64_t> callback_calls{0};
  std::atomic<uint64_t> app_calls{0};
  std::atomic<uint64_t> event_counter{0};
  std::atomic<bool> close_not_ok{false};
  std::atomic<bool> denied{false};

  std::mutex record_mutex;
  std::vector<std::string> accepted_events;  // guarded by record_mutex
  std::vector<std::string> violations;       // guarded by record_mutex

  void violation(const std::string& what) {
    std::lock_guard<std::mutex> lock(record_mutex);
    violations.push_back(what);
  }
};

// Runs one call of kind `op` on `client`, timing it against its bound. `in_callback` calls use
// short timeouts (waiting inside a callback is answered at once or bounded by the timeout).
void call(Round& round, Client& client, Op op, std::mt19937_64& rng, const std::string& where) {
  const bool callback = where != "app";
  const int64_t wait_ms = callback ? 50 : static_cast<int64_t>(rng() % 400);
  const int64_t start = now_ms();
  int64_t bound = kSlackMs;
  Status status;
  switch (op) {
    case Op::kUpsert: {
      const int p = static_cast<int>(rng() % kPeople);
      json record = {{"email", person_email(round.index, p)},
                     {"tier", "t" + std::to_string(rng() % 100)}};
      status = client.upsert("profiles", record, "email");
      break;
    }
    case Op::kAppend: {
      const std::string id = "r" + std::to_string(round.index) + "-e" +
                             std::to_string(round.event_counter.fetch_add(1));
      status = client.append("events", json{{"event", "stress"}, {"event_id", id}});
      if (status.is_ok()) {
        std::lock_guard<std::mutex> lock(round.record_mutex);
        round.accepted_events.push_back(id);
      }
      break;
    }
    case Op::kLogin: {
      const int p = static_cast<int>(rng() % kPeople);
      LoginInfo info;
      info.email = person_email(round.index, p);
      info.customer_id = person_customer_id(round.index, p);
      status = client.login(info);
      break;
    }
    case Op::kLogout:
      status = client.logout();
      break;
    case Op::kPushToken:
      status = client.set_push_token("tok-" + std::to_string(rng() % 1000));
      break;
    case Op::kConsent: {
      Consent c = Consent::kGranted;
      if (round.deny_consent && rng() % 3 == 0) {
        c = Consent::kDenied;
        round.denied = true;
      }
      status = client.set_consent(c);
      break;
    }
    case Op::kFlush:
      status = client.flush(wait_ms);
      bound += wait_ms;
      break;
    case Op::kPersist:
      status = client.persist(wait_ms);
      bound += wait_ms;
      break;
    case Op::kStats:
      (void)client.stats();
      break;
    case Op::kPause:
      client.pause();
      break;
    case Op::kResume:
      client.resume();
      break;
    case Op::kBackground:
      client.on_background();
      break;
    case Op::kForeground:
      client.on_foreground();
      break;
    case Op::kOnline:
      client.set_online(rng() % 4 != 0);
      break;
    case Op::kDeadLetters: {
      auto letters = client.dead_letters(5);
      status = letters.status();
      bound += 30000;  // one round trip to the store thread, bounded by its command timeout
      break;
    }
    case Op::kRetryDeadLetters:
      status = client.retry_dead_letters();
      bound += 30000;
      break;
    case Op::kPurgeDeadLetters:
      status = client.purge_dead_letters();
      bound += 30000;
      break;
    case Op::kDeviceId:
      (void)client.device_id();
      break;
    case Op::kClose:
      status = client.close(callback ? 50 : 2000);
      bound += 2000;
      if (!status.is_ok()) round.close_not_ok = true;
      break;
    case Op::kCount:
      break;
  }
  const int64_t took = now_ms() - start;
  if (took > bound) {
    round.violation(std::string(op_name(op)) + " from " + where + " took " + std::to_string(took) +
                    " ms (bound " + std::to_string(bound) + ")");
  }
  if (status.code() == Code::kInternal) {
    round.violation(std::string(op_name(op)) + " from " + where + ": " + status.to_string());
  }
}

// An app thread's op: close is rare (it ends the round's useful work).
Op pick_app_op(std::mt19937_64& rng) {
  if (rng() % 400 == 0) return Op::kClose;
  return static_cast<Op>(rng() % static_cast<uint64_t>(Op::kClose));
}

// A callback's op: sometimes none, close rarely.
void maybe_call_from_callback(Round& round, uint64_t salt, const std::string& where) {
  std::mt19937_64 rng(round.seed ^ (salt * 0x9E3779B97F4A7C15ull) ^
                      round.callback_calls.fetch_add(1));
  if (rng() % 3 == 0) return;
  Client* client;
  {
    std::lock_guard<std::mutex> lock(round.mutex);
    if (!round.open) return;
    client = round.client;
    ++round.inside;
  }
  const Op op =
      rng() % 60 == 0 ? Op::kClose : static_cast<Op>(rng() % static_cast<uint64_t>(Op::kClose));
  call(round, *client, op, rng, where);
  {
    std::lock_guard<std::mutex> lock(round.mutex);
    --round.inside;
  }
  round.idle.notify_all();
}

// The built-in transport with a call into the SDK before each send (on the SDK's thread) and
// before each completion is handed back (on the transport's thread).
class CallingHttpClient final : public platform::HttpClient {
 public:
  CallingHttpClient(Round* round, std::unique_ptr<platform::HttpClient> inner)
      : round_(round), inner_(std::move(inner)) {}
  void send(platform::HttpRequest request, platform::HttpCompletion completion) override {
    maybe_call_from_callback(*round_, 1, "http send");
    Round* round = round_;
    inner_->send(std::move(request),
                 [round, completion = std::move(completion)](platform::HttpResponse r) {
                   maybe_call_from_callback(*round, 2, "http completion");
                   completion(std::move(r));
                 });
  }
  void cancel_all() override { inner_->cancel_all(); }

 private:
  Round* round_;
  std::unique_ptr<platform::HttpClient> inner_;
};

// Which person an identifier value belongs to (-1 for none): "p<i>-r<round>@..." / "c<i>-r...".
int person_of(const std::string& value) {
  if (value.size() < 2 || (value[0] != 'p' && value[0] != 'c')) return -1;
  const size_t dash = value.find("-r");
  if (dash == std::string::npos) return -1;
  return std::atoi(value.substr(1, dash - 1).c_str()) * 1000 +
         std::atoi(value.substr(dash + 2).c_str()) % 1000;
}

}  // namespace

TEST_CASE(
    "random calls from four threads and from inside every callback never abort, block or "
    "merge two people",
    "[integration][stress]") {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("EXPERITURE_STRESS_SEED")) seed = std::strtoull(s, nullptr, 10);
  int64_t budget_ms = 20000;
  if (const char* s = std::getenv("EXPERITURE_STRESS_SECONDS")) {
    budget_ms = std::strtoll(s, nullptr, 10) * 1000;
  }
  INFO("seed " << seed << " (rerun with EXPERITURE_STRESS_SEED=" << seed << ")");

  EmulatorProcess emulator({"--seed", std::to_string(seed % 100000)});
  const json faults = {{"probabilities",
                        {{"500", 0.04},
                         {"503", 0.04},
                         {"429", 0.03},
                         {"reset_after", 0.04},
                         {"reset_before", 0.03},
                         {"delay", 0.05}}},
                       {"retry_after", 1},
                       {"delay_ms", 150}};
  TempDir dir;
  const int64_t started = now_ms();
  uint64_t sequences = 0;
  uint64_t app_calls = 0;
  uint64_t callback_calls = 0;
  uint64_t checked_events = 0;
  int rounds = 0;
  for (int r = 0; r < kMaxRounds && now_ms() - started < budget_ms; ++r) {
    Round round;
    round.index = r;
    round.seed = seed * 1000003ull + static_cast<uint64_t>(r);
    round.deny_consent = r % 4 == 3;
    INFO("round " << r);
    emulator.set_faults(faults);

    Config c;
    c.storage_path = dir.file("outbox-" + std::to_string(r) + ".db");
    c.endpoint = emulator.base_url();
    c.retry.base_ms = 10;
    c.retry.cap_ms = 100;
    c.http_timeout_ms = 1000;
    c.flush_interval_ms = 20;
    c.batch_size = 1 + static_cast<int>(round.seed % 50);
    c.token_provider = [&round](bool) {
      maybe_call_from_callback(round, 3, "token provider");
      return std::string("stress-token");
    };
    c.listener = [&round](const DeliveryEvent&) { maybe_call_from_callback(round, 4, "listener"); };
    c.http = std::make_shared<CallingHttpClient>(
        &round, platform::make_default_http_client(platform::HttpClientOptions{}));
    auto opened = Client::open(c);
    REQUIRE(opened.is_ok());
    std::unique_ptr<Client> client = std::move(opened).value();
    {
      std::lock_guard<std::mutex> lock(round.mutex);
      round.client = client.get();
      round.open = true;
    }

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&round, &client, t] {
        std::mt19937_64 rng(round.seed * 31 + static_cast<uint64_t>(t));
        for (int i = 0; i < kCallsPerThread; ++i) {
          call(round, *client, pick_app_op(rng), rng, "app");
          round.app_calls.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    sequences += kThreads;

    // Teardown: no callback may still be using the client when it is destroyed.
    {
      std::unique_lock<std::mutex> lock(round.mutex);
      round.open = false;
      const bool idle =
          round.idle.wait_for(lock, std::chrono::seconds(60), [&] { return round.inside == 0; });
      CHECK(idle);
    }
    const int64_t close_start = now_ms();
    const Status closed = client->close(5000);
    if (!closed.is_ok()) round.close_not_ok = true;
    client.reset();
    CHECK(now_ms() - close_start < 5000 + kSlackMs);

    // Deliver what is left, without faults, with consent granted, then judge the store.
    emulator.set_faults(json::object());
    {
      Config drain;
      drain.storage_path = c.storage_path;
      drain.endpoint = emulator.base_url();
      drain.token = "stress-token";
      drain.retry.base_ms = 10;
      drain.retry.cap_ms = 100;
      auto reopened = Client::open(drain);
      REQUIRE(reopened.is_ok());
      auto last = std::move(reopened).value();
      REQUIRE(last->set_consent(Consent::kGranted).is_ok());
      last->set_online(true);
      const Status flushed = last->flush(30000);
      INFO("final flush: " << flushed.to_string() << " stats last_error "
                           << last->stats().last_error);
      CHECK(flushed.is_ok());
      CHECK(last->stats().dead_letters == 0);
      REQUIRE(last->close(5000).is_ok());
    }

    {
      std::lock_guard<std::mutex> lock(round.record_mutex);
      for (const auto& v : round.violations) FAIL_CHECK(v);
    }

    // No profile holds two people's identifiers (so no device_id is linked to two people).
    for (const auto& profile : emulator.profiles()) {
      std::set<int> people;
      for (const char* key : {"email", "customer_id"}) {
        if (!profile["identifiers"].contains(key)) continue;
        for (const auto& value : profile["identifiers"][key]) {
          const int person = person_of(value.get<std::string>());
          if (person >= 0 && person % 1000 == r) people.insert(person);
        }
      }
      INFO(profile.dump());
      CHECK(people.size() <= 1);
    }

    // Every accepted event is delivered once (at most once where dropping is documented).
    std::map<std::string, int> delivered;
    for (const auto& row : emulator.events("events")) {
      const auto& fields = row["fields"];
      if (fields.contains("event_id")) delivered[fields["event_id"].get<std::string>()]++;
    }
    const bool may_drop = round.denied.load() || round.close_not_ok.load();
    for (const auto& id : round.accepted_events) {
      INFO("event " << id << (may_drop ? " (round may drop)" : ""));
      const int n = delivered.count(id) ? delivered[id] : 0;
      CHECK(n <= 1);
      if (!may_drop) CHECK(n == 1);
      ++checked_events;
    }
    app_calls += round.app_calls.load();
    callback_calls += round.callback_calls.load();
    ++rounds;
  }
  WARN("stress: seed " << seed << ", " << rounds << " rounds, " << sequences << " call sequences, "
                       << app_calls << " app calls, " << callback_calls << " callbacks, "
                       << checked_events << " events checked, " << (now_ms() - started) << " ms");
  CHECK(rounds >= 1);
}
