// StoreThread on its own, without a Client: a real outbox file in a temp dir, a fake clock, a
// transport that holds every request, and the store thread's own thread (or pump() in manual
// mode). Rounds are awaited through the store's own waiting calls, never with sleeps.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/storage_diag_file.hpp"
#include "client/store_thread.hpp"
#include "crypto/random.hpp"
#include "fakes.hpp"
#include "faulty_vfs.hpp"
#include "outbox/outbox.hpp"
#include "temp_dir.hpp"

using experiture::Code;
using experiture::Config;
using experiture::Status;
using experiture::client::IngressItem;
using experiture::client::StoreThread;
using experiture::test::FakeClock;
using experiture::test::FakeHttpClient;
using experiture::test::FaultyVfs;
using experiture::test::TempDir;

namespace {

struct StoreRig {
  TempDir dir;
  FakeClock clock;
  FakeHttpClient http;  // holds every request: nothing is ever acknowledged
  experiture::test::CapturingLogger logger;
  Config config;
  std::unique_ptr<experiture::crypto::Random> random;
  std::unique_ptr<FaultyVfs> faulty;  // outlives the store's connection
  std::unique_ptr<StoreThread> store;

  explicit StoreRig(bool with_faulty_vfs = false) {
    config.endpoint = "https://api.example.test/public/v1";
    config.token = "fixed-token";
    config.storage_path = dir.file("outbox.db");
    auto created = experiture::crypto::Random::create();
    REQUIRE(created.is_ok());
    random = std::move(created).value();
    if (with_faulty_vfs) faulty = std::make_unique<FaultyVfs>();
  }

  ~StoreRig() { store.reset(); }

  void open() {
    experiture::outbox::Outbox::Options options;
    options.path = config.storage_path;
    if (faulty) options.vfs = faulty->name();
    StoreThread::Deps deps;
    auto opened = experiture::outbox::Outbox::open(options, &deps.open_report);
    REQUIRE(opened.is_ok());
    deps.outbox = std::move(opened).value();
    deps.config = &config;
    deps.clock = &clock;
    deps.http = &http;
    deps.random = random.get();
    deps.logger = &logger;
    deps.storage_diag_path = experiture::client::storage_diag_path(config.storage_path);
    deps.device_id = "device-1";
    store = std::make_unique<StoreThread>(std::move(deps));
  }

  Status post(int count) {
    std::vector<IngressItem> items(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      experiture::outbox::Entry e;
      e.object = "events";
      e.kind = experiture::outbox::WriteKind::kAppend;
      e.payload = "{\"n\":" + std::to_string(i) + "}";
      e.wall_ms = clock.wall_ms();
      e.mono_ms = clock.mono_ms();
      items[static_cast<size_t>(i)].entry = std::move(e);
    }
    return store->post_writes(items.data(), items.size());
  }

  // Waits for one round of the store thread (a task runs after that round's commit).
  void round() {
    REQUIRE(store->run_task([] {}, 10000).is_ok());
  }

  uint64_t queued_on_disk() {
    experiture::outbox::Outbox::Options options;
    options.path = config.storage_path;
    auto reopened = experiture::outbox::Outbox::open(options, nullptr);
    REQUIRE(reopened.is_ok());
    return reopened.value()->queued_records();
  }
};

}  // namespace

TEST_CASE("writes posted before a round are committed together in one transaction",
          "[client][unit]") {
  StoreRig rig;
  rig.config.manual_mode = true;
  rig.open();
  REQUIRE(rig.post(3).is_ok());
  CHECK(rig.store->stats().pending_durable == 3);
  REQUIRE(rig.store->pump().is_ok());
  CHECK(rig.store->stats().pending_durable == 0);
  CHECK(rig.store->stats().queued_records == 3);
  CHECK(rig.logger.count_containing("committed 3 writes in one transaction") == 1);
  CHECK(rig.logger.count_containing("committed 1 writes") == 0);
}

TEST_CASE("persist wakes its waiter once the store thread committed the writes", "[client][unit]") {
  StoreRig rig;
  rig.config.commit_window_ms = 600000;  // only persist() can make this commit happen
  rig.open();
  rig.store->start();
  REQUIRE(rig.post(2).is_ok());
  REQUIRE(rig.store->persist(10000).is_ok());
  CHECK(rig.store->stats().pending_durable == 0);
  CHECK(rig.store->stats().queued_records == 2);
}

TEST_CASE("a failed commit is retried with its writes only once the retry time has come",
          "[client][unit]") {
  StoreRig rig(true);
  rig.open();
  rig.store->start();
  rig.faulty->arm(FaultyVfs::Operation::kWrite, 0);  // the disk is full
  REQUIRE(rig.post(2).is_ok());
  rig.round();
  CHECK(rig.store->stats().pending_durable == 2);
  CHECK_FALSE(rig.store->stats().last_storage_error.empty());
  rig.faulty->disarm_all();  // room again, but the retry is 1 s away on the store's clock
  rig.clock.advance(999);
  rig.round();
  CHECK(rig.store->stats().pending_durable == 2);
  rig.clock.advance(1);
  rig.round();
  CHECK(rig.store->stats().pending_durable == 0);
  CHECK(rig.store->stats().queued_records == 2);
  CHECK(rig.store->stats().last_error.empty());  // a storage error is cleared by the commit
}

TEST_CASE("close commits every write still in the inbox before the outbox is closed",
          "[client][unit]") {
  StoreRig rig;
  rig.config.commit_window_ms = 600000;  // nothing commits by itself before close
  rig.open();
  rig.store->start();
  REQUIRE(rig.post(5).is_ok());
  REQUIRE(rig.store->close(10000).is_ok());
  CHECK(rig.store->check_open().code() == Code::kClosed);
  CHECK(rig.post(1).code() == Code::kClosed);
  rig.store.reset();
  CHECK(rig.queued_on_disk() == 5);
}

TEST_CASE("a denied consent closes the capture gate and purges what was queued", "[client][unit]") {
  StoreRig rig;
  rig.config.manual_mode = true;
  rig.open();
  REQUIRE(rig.post(2).is_ok());
  REQUIRE(rig.store->set_consent(experiture::Consent::kDenied, {{"consent", "denied"}}).is_ok());
  CHECK(rig.store->check_open().code() == Code::kConsentDenied);
  CHECK(rig.post(1).code() == Code::kConsentDenied);
  REQUIRE(rig.store->pump().is_ok());
  CHECK(rig.store->stats().queued_records == 0);
  CHECK(rig.store->stats().dropped_consent == 2);
  CHECK(rig.store->stats().pending_durable == 0);
}

TEST_CASE("writes queued after a consent purge in the same round are committed too",
          "[client][unit]") {
  // One round holds two groups: the writes before the purge marker (purged) and those after it.
  StoreRig rig;
  rig.config.manual_mode = true;
  rig.open();
  REQUIRE(rig.post(2).is_ok());
  REQUIRE(rig.store->set_consent(experiture::Consent::kDenied, {{"consent", "denied"}}).is_ok());
  REQUIRE(rig.store->set_consent(experiture::Consent::kGranted, {{"consent", "granted"}}).is_ok());
  REQUIRE(rig.post(3).is_ok());
  CHECK(rig.store->stats().pending_durable == 7);  // 5 writes and 2 consent changes
  REQUIRE(rig.store->pump().is_ok());
  CHECK(rig.store->stats().dropped_consent == 2);
  CHECK(rig.store->stats().queued_records == 3);
  CHECK(rig.store->stats().pending_durable == 0);
  rig.store.reset();
  experiture::outbox::Outbox::Options options;
  options.path = rig.config.storage_path;
  auto reopened = experiture::outbox::Outbox::open(options, nullptr);
  REQUIRE(reopened.is_ok());
  CHECK(reopened.value()->queued_records() == 3);
  CHECK(reopened.value()->meta("consent") == std::optional<std::string>("granted"));
  auto entries = reopened.value()->read_entries(0, 10);
  REQUIRE(entries.is_ok());
  REQUIRE(entries.value().size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(entries.value()[i].payload == "{\"n\":" + std::to_string(i) + "}");
  }
}

TEST_CASE("a failed commit of several writes retries each of them with its own payload",
          "[client][unit]") {
  StoreRig rig(true);
  rig.config.manual_mode = true;
  rig.open();
  rig.faulty->arm(FaultyVfs::Operation::kWrite, 0);  // the disk is full
  REQUIRE(rig.post(3).is_ok());
  REQUIRE(rig.store->pump().is_ok());
  CHECK(rig.store->stats().pending_durable == 3);
  rig.faulty->disarm_all();
  rig.clock.advance(1000);  // the retry time
  REQUIRE(rig.store->pump().is_ok());
  CHECK(rig.store->stats().pending_durable == 0);
  rig.store.reset();
  experiture::outbox::Outbox::Options options;
  options.path = rig.config.storage_path;
  auto reopened = experiture::outbox::Outbox::open(options, nullptr);
  REQUIRE(reopened.is_ok());
  auto entries = reopened.value()->read_entries(0, 10);
  REQUIRE(entries.is_ok());
  REQUIRE(entries.value().size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(entries.value()[i].payload == "{\"n\":" + std::to_string(i) + "}");
  }
}

TEST_CASE("a store task run from a callback after close() was requested there is CLOSED",
          "[client][unit]") {
  StoreRig rig;
  rig.open();
  rig.store->start();
  Status close_in_callback = Status(Code::kInternal, "not run");
  Status nested = Status(Code::kInternal, "not run");
  bool nested_ran = false;
  bool before_close_ran = false;
  Status before_close = Status(Code::kInternal, "not run");
  const Status outer = rig.store->run_task(
      [&] {
        REQUIRE(rig.store->in_callback());
        before_close = rig.store->run_task([&] { before_close_ran = true; }, 1000);
        close_in_callback = rig.store->close(1000);
        nested = rig.store->run_task([&] { nested_ran = true; }, 1000);
      },
      10000);
  INFO(outer.to_string());
  CHECK(before_close.is_ok());
  CHECK(before_close_ran);  // inline on the store thread while it is open
  CHECK(close_in_callback.is_ok());
  CHECK(nested.code() == Code::kClosed);
  CHECK_FALSE(nested_ran);
  CHECK(rig.store->close(10000).is_ok());
}

TEST_CASE("a round with nothing new to keep writes nothing to the outbox file", "[client][unit]") {
  // Diagnostics are persisted only when they changed: an idle round (a wake-up, a timer) must
  // not open a write transaction, which would rewrite the counters and sync the file each time.
  StoreRig rig(true);
  rig.config.manual_mode = true;
  rig.open();
  REQUIRE(rig.store->set_consent(experiture::Consent::kGranted, {{"consent", "granted"}}).is_ok());
  REQUIRE(rig.store->pump().is_ok());  // commits the consent (and the first diagnostics)
  REQUIRE(rig.store->pump().is_ok());
  const uint64_t writes = rig.faulty->calls(FaultyVfs::Operation::kWrite);
  const uint64_t syncs = rig.faulty->calls(FaultyVfs::Operation::kSync);
  REQUIRE(writes > 0);  // the commit above went through the shim
  for (int i = 0; i < 5; ++i) {
    INFO("idle round " << i);
    rig.clock.advance(1000);
    REQUIRE(rig.store->pump().is_ok());
    CHECK(rig.faulty->calls(FaultyVfs::Operation::kWrite) == writes);
    CHECK(rig.faulty->calls(FaultyVfs::Operation::kSync) == syncs);
  }
}
