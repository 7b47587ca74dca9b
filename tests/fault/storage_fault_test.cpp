// Storage faults through the real client: the outbox runs on FaultyVfs, which fails writes (disk
// full), syncs (I/O error) or locks (busy) on demand, and delivery goes to the real emulator.
// Each test asserts a clear status, stats().last_error and a log line, no crash, nothing durable
// lost, nothing delivered twice, and normal operation once the fault clears.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "experiture/platform/backends.hpp"
#include "fakes.hpp"
#include "faulty_vfs.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::test::CapturingLogger;
using experiture::test::EmulatorProcess;
using experiture::test::FakeClock;
using experiture::test::FaultyVfs;
using experiture::test::TempDir;
using nlohmann::json;
namespace platform = experiture::platform;

namespace {

// The built-in curl client, with a hook that runs (on the store thread) before each send and a
// record of the requests sent.
class HookedHttpClient final : public platform::HttpClient {
 public:
  HookedHttpClient() : inner_(platform::make_default_http_client(platform::HttpClientOptions())) {}

  void send(platform::HttpRequest request, platform::HttpCompletion completion) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      hook.swap(before_next_send_);
      requests_.push_back(request);
    }
    if (hook) hook();
    inner_->send(std::move(request), std::move(completion));
  }
  void cancel_all() override { inner_->cancel_all(); }

  // Runs `hook` once, just before the next request leaves.
  void before_next_send(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    before_next_send_ = std::move(hook);
  }
  std::vector<platform::HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  std::unique_ptr<platform::HttpClient> inner_;
  mutable std::mutex mutex_;
  std::function<void()> before_next_send_;
  std::vector<platform::HttpRequest> requests_;
};

std::string header(const platform::HttpRequest& request, const std::string& name) {
  for (const auto& h : request.headers) {
    if (h.first == name) return h.second;
  }
  return std::string();
}

struct Harness {
  EmulatorProcess emulator;
  TempDir dir;
  FaultyVfs vfs;
  std::shared_ptr<CapturingLogger> logger = std::make_shared<CapturingLogger>();
  std::shared_ptr<FakeClock> clock =
      std::make_shared<FakeClock>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  std::shared_ptr<HookedHttpClient> http = std::make_shared<HookedHttpClient>();

  // Manual mode on the fake clock: nothing is sent until a flush, and retries wait for advance().
  Config config() const {
    Config c;
    c.storage_path = dir.file("outbox.db");
    c.endpoint = emulator.base_url();
    c.token = "test-token";
    c.sqlite_vfs = vfs.name();
    c.manual_mode = true;
    c.retry.base_ms = 20;
    c.retry.cap_ms = 200;
    c.http_timeout_ms = 5000;
    c.logger = logger;
    c.clock = clock;
    c.http = http;
    return c;
  }
};

std::unique_ptr<Client> open_client(const Config& c) {
  auto opened = Client::open(c);
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

const char* expected_code(FaultyVfs::Operation op) {
  return op == FaultyVfs::Operation::kWrite ? "STORAGE_FULL" : "STORAGE_ERROR";
}

const char* op_name(FaultyVfs::Operation op) {
  switch (op) {
    case FaultyVfs::Operation::kWrite:
      return "write (disk full)";
    case FaultyVfs::Operation::kSync:
      return "sync (I/O error)";
    case FaultyVfs::Operation::kLock:
      return "lock (busy)";
    case FaultyVfs::Operation::kRead:
      return "read (I/O error)";
  }
  return "?";
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Every appended row (sequence n) in [0, total) arrived exactly once, in order, and no key was
// applied twice.
void check_events_once_in_order(const EmulatorProcess& emulator, int total) {
  const json events = emulator.events("events");
  REQUIRE(events.size() == static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) CHECK(events[static_cast<size_t>(i)]["fields"]["sequence"] == i);
  const json counters = emulator.counters();
  INFO(counters.dump());
  for (const auto& item : counters["applications_by_idempotency_key"].items()) {
    INFO("idempotency key " << item.key());
    CHECK(item.value().get<int64_t>() == 1);
  }
}

void append_range(Client& client, int from, int to) {
  for (int i = from; i < to; ++i)
    REQUIRE(client.append("events", json{{"event", "scan"}, {"sequence", i}}).is_ok());
}

}  // namespace

TEST_CASE(
    "a storage fault while committing ingress keeps every accepted write and delivers it once",
    "[fault][storage]") {
  const auto op = GENERATE(FaultyVfs::Operation::kWrite, FaultyVfs::Operation::kSync);
  INFO("failing " << op_name(op));
  Harness h;
  auto client = open_client(h.config());
  append_range(*client, 0, 50);
  REQUIRE(client->persist(5000).is_ok());

  h.vfs.arm(op, 0);
  append_range(*client, 50, 100);
  const auto status = client->persist(300);
  CHECK(status.code() == Code::kTimeout);
  CHECK(status.message().find(expected_code(op)) != std::string::npos);
  auto stats = client->stats();
  CHECK(stats.pending_durable == 50);
  CHECK(starts_with(stats.last_error, expected_code(op)));
  CHECK(h.logger->count_containing(std::string("outbox commit failed: ") + expected_code(op)) >= 1);
  CHECK(h.vfs.failures(op) >= 1);
  // Still accepting (in memory) while the disk is full.
  append_range(*client, 100, 110);

  h.vfs.disarm_all();
  REQUIRE(client->persist(5000).is_ok());
  stats = client->stats();
  CHECK(stats.pending_durable == 0);
  CHECK(stats.last_error.empty());
  REQUIRE(client->flush(10000).is_ok());
  CHECK(client->stats().queued_records == 0);
  check_events_once_in_order(h.emulator, 110);
}

// Disk full only: the acknowledgement is committed without an fsync (losing it to a power cut
// only re-sends the same key), so a sync fault cannot hit it.
TEST_CASE("disk full while acknowledging a batch re-sends the same key, applied once",
          "[fault][storage]") {
  const auto op = FaultyVfs::Operation::kWrite;
  INFO("failing " << op_name(op));
  Harness h;
  auto client = open_client(h.config());
  REQUIRE(client->flush(10000).is_ok());  // the anonymous profile
  append_range(*client, 0, 100);
  REQUIRE(client->persist(5000).is_ok());
  const size_t sent_before = h.http->requests().size();

  // The batch is persisted and its attempt counted; the fault starts as the request leaves, so
  // the server applies the batch and the SDK cannot record that it did.
  FaultyVfs* vfs = &h.vfs;
  h.http->before_next_send([vfs, op] { vfs->arm(op, 0); });
  const auto status = client->flush(1000);
  CHECK(status.code() == Code::kTimeout);
  CHECK(h.emulator.events("events").size() == 100);
  auto stats = client->stats();
  CHECK(starts_with(stats.last_error, expected_code(op)));
  CHECK(stats.queued_records == 100);  // not acknowledged: still durable in the outbox
  CHECK(h.logger->count_containing(std::string("drain: ") + expected_code(op)) >= 1);
  CHECK(h.vfs.failures(op) >= 1);

  h.vfs.disarm_all();
  h.clock->advance(1000);  // past the backoff
  REQUIRE(client->flush(10000).is_ok());
  CHECK(client->stats().queued_records == 0);
  CHECK(client->stats().delivered >= 100);

  // Sending needs no write, so a retry whose jitter came out 0 may go while the disk is still
  // full: every re-send carries the same key and bytes.
  const auto requests = h.http->requests();
  REQUIRE(requests.size() >= sent_before + 2);
  const auto& first = requests[sent_before];
  for (size_t i = sent_before + 1; i < requests.size(); ++i) {
    CHECK(header(requests[i], "Idempotency-Key") == header(first, "Idempotency-Key"));
    CHECK(requests[i].body == first.body);
  }
  CHECK(h.emulator.counters()["replays"].get<int64_t>() >= 1);
  check_events_once_in_order(h.emulator, 100);
}

// Pipelining: when a batch is acknowledged, the next one (already persisted) leaves before the
// acknowledged one's rows are deleted. If that deletion fails, the next batch's answer must not be
// applied to the wrong batch: it is abandoned, and both batches are re-sent later with their own
// keys and bytes, which the server replays.
TEST_CASE("disk full while acknowledging with the next batch on the wire re-sends both keys",
          "[fault][storage]") {
  Harness h;
  Config c = h.config();
  c.batch_size = 40;
  auto client = open_client(c);
  REQUIRE(client->flush(10000).is_ok());  // the anonymous profile
  client->set_online(false);              // so that no batch leaves before the hooks are set
  append_range(*client, 0, 120);
  REQUIRE(client->persist(5000).is_ok());
  const size_t sent_before = h.http->requests().size();
  client->set_online(true);

  // The second request of this flush is the pipelined one; the fault starts as it leaves.
  HookedHttpClient* http = h.http.get();
  FaultyVfs* vfs = &h.vfs;
  http->before_next_send([http, vfs] {
    http->before_next_send([vfs] { vfs->arm(FaultyVfs::Operation::kWrite, 0); });
  });
  CHECK(client->flush(1000).code() == Code::kTimeout);
  CHECK(starts_with(client->stats().last_error, "STORAGE_FULL"));
  CHECK(client->stats().queued_records == 120);  // batch 1's acknowledgement did not commit
  // b1 and b2 left; a retry whose jitter came out 0 (full jitter includes 0) may send them again
  // while the disk is still full, since sending needs no write: such re-sends are checked below.
  REQUIRE(h.http->requests().size() >= sent_before + 2);

  h.vfs.disarm_all();
  h.clock->advance(1000);  // past the backoff
  REQUIRE(client->flush(10000).is_ok());
  CHECK(client->stats().queued_records == 0);

  // b1, b2, then b1 and b2 again (as often as retries went out), then b3 once, last.
  const auto requests = h.http->requests();
  REQUIRE(requests.size() >= sent_before + 5);
  const auto& b1 = requests[sent_before];
  const auto& b2 = requests[sent_before + 1];
  const auto& b3 = requests.back();
  const std::string key1 = header(b1, "Idempotency-Key");
  const std::string key2 = header(b2, "Idempotency-Key");
  const std::string key3 = header(b3, "Idempotency-Key");
  CHECK(key1 != key2);
  CHECK(key3 != key1);
  CHECK(key3 != key2);
  size_t resent1 = 0;
  size_t resent2 = 0;
  for (size_t i = sent_before + 2; i + 1 < requests.size(); ++i) {
    INFO("request " << i);
    const std::string key = header(requests[i], "Idempotency-Key");
    if (key == key1) {
      CHECK(requests[i].body == b1.body);
      ++resent1;
    } else {
      CHECK(key == key2);
      CHECK(requests[i].body == b2.body);
      ++resent2;
    }
  }
  CHECK(resent1 >= 1);
  CHECK(resent2 >= 1);
  CHECK(h.emulator.counters()["replays"].get<int64_t>() >= 2);
  check_events_once_in_order(h.emulator, 120);
}

TEST_CASE("SQLITE_BUSY on every lock delays commits and delivery but loses nothing",
          "[fault][storage]") {
  Harness h;
  h.vfs.set_instant_sleep(true);  // SQLite's busy_timeout passes on virtual time
  auto client = open_client(h.config());
  append_range(*client, 0, 20);
  REQUIRE(client->persist(5000).is_ok());

  h.vfs.arm(FaultyVfs::Operation::kLock, 0);
  append_range(*client, 20, 40);
  const auto status = client->persist(300);
  CHECK(status.code() == Code::kTimeout);
  CHECK(starts_with(client->stats().last_error, "STORAGE_ERROR"));
  CHECK(client->stats().last_error.find("locked") != std::string::npos);
  CHECK(h.logger->count_containing("outbox commit failed: STORAGE_ERROR") >= 1);
  // The drain cannot read the outbox either: it reports and backs off, sends nothing.
  CHECK(client->flush(300).code() == Code::kTimeout);
  CHECK(h.emulator.events("events").size() == 0);

  h.vfs.disarm_all();
  h.clock->advance(1000);
  REQUIRE(client->persist(5000).is_ok());
  REQUIRE(client->flush(10000).is_ok());
  check_events_once_in_order(h.emulator, 40);
}

TEST_CASE("another connection holding the write lock delays commits but loses nothing",
          "[fault][storage]") {
  Harness h;
  auto client = open_client(h.config());
  append_range(*client, 0, 10);
  REQUIRE(client->persist(5000).is_ok());

  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(h.dir.file("outbox.db").c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  append_range(*client, 10, 20);
  // One commit attempt waits out the outbox's busy_timeout, then reports.
  CHECK(client->persist(100).code() == Code::kTimeout);
  CHECK(starts_with(client->stats().last_error, "STORAGE_ERROR"));
  CHECK(client->stats().last_error.find("locked") != std::string::npos);
  CHECK(h.logger->count_containing("outbox commit failed") >= 1);
  REQUIRE(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);

  REQUIRE(client->persist(5000).is_ok());
  REQUIRE(client->flush(10000).is_ok());
  check_events_once_in_order(h.emulator, 20);
}

TEST_CASE("an app closed during a disk-full spell keeps every write that was durable",
          "[fault][storage]") {
  const auto op = GENERATE(FaultyVfs::Operation::kWrite, FaultyVfs::Operation::kSync);
  INFO("failing " << op_name(op));
  Harness h;
  {
    auto client = open_client(h.config());
    append_range(*client, 0, 30);
    REQUIRE(client->persist(5000).is_ok());
    h.vfs.arm(op, 0);
    append_range(*client, 30, 60);
    // Not durable: close reports it; the durable ones stay in the file.
    CHECK(client->close(200).code() == Code::kTimeout);
    h.vfs.disarm_all();
  }
  auto client = open_client(h.config());
  const auto stats = client->stats();
  CHECK(stats.queued_records >= 31);  // the anonymous profile + the 30 durable writes
  REQUIRE(client->flush(10000).is_ok());
  const json events = h.emulator.events("events");
  // The 30 durable ones, in order and once; a write whose commit failed may have reached the
  // disk anyway (SQLite's WAL), so at most the next few follow, each once and in order.
  REQUIRE(events.size() >= 30);
  for (size_t i = 0; i < events.size(); ++i)
    CHECK(events[i]["fields"]["sequence"] == static_cast<int>(i));
  const json counters = h.emulator.counters();  // a named value: items() does not extend lifetimes
  for (const auto& item : counters["applications_by_idempotency_key"].items()) {
    CHECK(item.value().get<int64_t>() == 1);
  }
}

TEST_CASE("the store thread retries a failed commit by itself once the disk has room",
          "[fault][storage]") {
  Harness h;
  Config c = h.config();
  c.manual_mode = false;
  c.clock = nullptr;  // the real clock: the store thread's 1 s retry timer runs
  auto client = open_client(c);
  h.vfs.arm(FaultyVfs::Operation::kWrite, 0);
  append_range(*client, 0, 25);
  CHECK(client->persist(300).code() == Code::kTimeout);
  CHECK(starts_with(client->stats().last_error, "STORAGE_FULL"));
  CHECK(h.logger->count_containing("outbox commit failed: STORAGE_FULL") >= 1);
  h.vfs.disarm_all();
  REQUIRE(client->persist(10000).is_ok());
  CHECK(client->stats().last_error.empty());
  REQUIRE(client->flush(10000).is_ok());
  check_events_once_in_order(h.emulator, 25);
}

// A full disk must not stop delivery: a batch persisted earlier is sent without any write first
// (delivering is what frees space), its acknowledgement waits for room, and writes accepted in
// the meantime become durable by themselves once the disk has room again.
TEST_CASE("a full disk still sends the persisted batch and catches up by itself when room returns",
          "[fault][storage]") {
  Harness h;
  Config c = h.config();
  c.batch_size = 50;
  {
    // A batch persisted with its key, its send failed (server down): it waits in the file.
    auto client = open_client(c);
    REQUIRE(client->flush(10000).is_ok());  // the anonymous profile
    h.emulator.stop();
    append_range(*client, 0, 120);
    REQUIRE(client->persist(5000).is_ok());
    CHECK(client->flush(500).code() == Code::kTimeout);
    REQUIRE(client->close(5000).is_ok());
    h.emulator.restart();
  }
  auto client = open_client(c);
  const size_t sent_before = h.http->requests().size();
  h.vfs.arm(FaultyVfs::Operation::kWrite, 0);  // disk full from here on: no write succeeds
  append_range(*client, 120, 130);             // accepted into memory, not durable yet
  CHECK(client->flush(1000).code() == Code::kTimeout);
  // The persisted batch went out and was applied although nothing could be written.
  CHECK(h.http->requests().size() > sent_before);
  CHECK(h.emulator.events("events").size() >= 50);
  CHECK(h.vfs.failures(FaultyVfs::Operation::kWrite) >= 1);
  CHECK(client->stats().pending_durable == 10);

  // Room again: the acknowledgement, the waiting writes and the rest go through on their own
  // (the store's retry timers), each key applied once.
  h.vfs.disarm_all();
  h.clock->advance(2000);
  REQUIRE(client->flush(20000).is_ok());
  const auto stats = client->stats();
  INFO("dead letters " << stats.dead_letters << ", last error " << stats.last_error);
  CHECK(stats.pending_durable == 0);
  CHECK(stats.queued_records == 0);
  CHECK(stats.dead_letters == 0);
  check_events_once_in_order(h.emulator, 130);
}

// A realistic full disk: a byte quota just above what the outbox uses, so any write that would
// grow the files fails with SQLITE_FULL while writes inside their current sizes succeed. The
// server is reachable. Delivering is what frees space: each acknowledged batch must be deleted
// (in WAL mode a delete appends frames to the WAL), a batch the server rejects must reach dead
// letters, and new writes must become durable again in the space the deletes freed inside the
// file, all while the disk stays full. Judged from the emulator's store and idempotency log.
TEST_CASE("disk full while online: delivery goes on and frees space, writes resume, nothing lost",
          "[fault][storage][full_disk]") {
  // Either the first batch was persisted (its send failed) before the disk filled, or nothing
  // was batched yet and the first batch must be saved on the full disk.
  const bool batch_persisted_first = GENERATE(true, false);
  INFO("a batch persisted before the disk filled: " << batch_persisted_first);
  Harness h;
  Config c = h.config();
  c.manual_mode = false;
  c.clock = nullptr;  // the real clock: the store thread's own retry timers run
  c.batch_size = 100;
  auto client = open_client(c);
  REQUIRE(client->flush(10000).is_ok());  // the anonymous profile
  client->set_online(false);
  // 1,500 events of ~300 bytes in group commits, with one record the server rejects (a field
  // not in its schema: 422, a dead letter) in the middle, in a batch of its own.
  const std::string padding(240, 'p');
  const int total = 1500;
  auto append_padded = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      REQUIRE(client
                  ->append("events", json{{"event", "scan"},
                                          {"sequence", i},
                                          {"event_id", padding + std::to_string(i)}})
                  .is_ok());
    }
  };
  append_padded(0, total / 2);
  REQUIRE(
      client->upsert("profiles", json{{"email", "poison@example.com"}, {"shoe_size", 43}}, "email")
          .is_ok());
  append_padded(total / 2, total);
  REQUIRE(client->persist(10000).is_ok());
  if (batch_persisted_first) {
    h.emulator.stop();
    client->set_online(true);
    CHECK(client->flush(300).code() == Code::kTimeout);  // connection refused: batch kept
    client->set_online(false);
    h.emulator.restart();
  }
  const auto queued_full = client->stats().queued_records;
  CHECK(queued_full >= static_cast<uint64_t>(total + 1));

  // The disk fills up: room for about one more page, and that is all, for the rest of the test.
  const int64_t used_full = h.vfs.used_bytes();
  const int64_t quota = used_full + 1024;
  h.vfs.set_quota_bytes(quota);
  const size_t sent_before = h.http->requests().size();
  client->set_online(true);
  const auto started = std::chrono::steady_clock::now();
  const auto flushed = client->flush(20000);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);

  // The figures, also on failure: requests, the most re-sends of one key, bytes.
  const auto requests = h.http->requests();
  std::map<std::string, size_t> sends_per_key;
  for (size_t i = sent_before; i < requests.size(); ++i)
    ++sends_per_key[header(requests[i], "Idempotency-Key")];
  size_t most_sends = 0;
  for (const auto& k : sends_per_key) most_sends = std::max(most_sends, k.second);
  auto stats = client->stats();
  INFO("flush: " << flushed.to_string() << " after " << seconds.count() << " s; requests "
                 << requests.size() - sent_before << ", keys " << sends_per_key.size()
                 << ", most sends of one key " << most_sends << "; bytes used " << used_full
                 << " -> " << h.vfs.used_bytes() << " (quota " << quota << "), quota refusals "
                 << h.vfs.quota_failures() << "; queued " << stats.queued_records
                 << ", dead letters " << stats.dead_letters << ", last error '" << stats.last_error
                 << "'");
  REQUIRE(flushed.is_ok());
  CHECK(h.vfs.quota_failures() >= 1);  // the disk was full for real
  CHECK(stats.queued_records == 0);
  CHECK(stats.dead_letters == 1);  // the poison record, moved on the full disk
  // 15 batches of events and the poison one; a key goes out again only after an error.
  CHECK(sends_per_key.size() >= 16);
  CHECK(most_sends <= 3);
  check_events_once_in_order(h.emulator, total);

  // Still full: new writes become durable in the space the deletes freed, and are delivered.
  append_padded(total, total + 300);
  REQUIRE(client->persist(10000).is_ok());
  REQUIRE(client->flush(20000).is_ok());
  stats = client->stats();
  CHECK(stats.queued_records == 0);
  CHECK(stats.pending_durable == 0);
  check_events_once_in_order(h.emulator, total + 300);
  REQUIRE(client->close(5000).is_ok());
}
