// DrainLoop on its own: a real outbox file, a fake clock and transport, the responses posted back
// by hand as the store thread would. No Client, no threads, no sleeps.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "crypto/random.hpp"
#include "drain/drain_loop.hpp"
#include "fakes.hpp"
#include "outbox/outbox.hpp"
#include "record/timestamp.hpp"
#include "temp_dir.hpp"

using experiture::Config;
using experiture::DeliveryEvent;
using experiture::drain::DrainLoop;
using experiture::drain::WaitReason;
using experiture::platform::HttpResponse;
using experiture::test::FakeClock;
using experiture::test::FakeHttpClient;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

struct LoopRig {
  TempDir dir;
  FakeClock clock;
  FakeHttpClient http;
  experiture::test::CapturingLogger logger;
  Config config;
  std::unique_ptr<experiture::crypto::Random> random;
  std::unique_ptr<experiture::outbox::Outbox> outbox;
  std::vector<std::pair<uint64_t, HttpResponse>> posted;  // what the transport completed
  std::unique_ptr<DrainLoop> loop;

  // `lease`: the delivery lease the loop uses (borrowed; none when null).
  explicit LoopRig(experiture::platform::FileLock* lease = nullptr) {
    config.endpoint = "https://api.example.test/public/v1";
    config.token = "fixed-token";
    config.batch_size = 100;
    config.retry.base_ms = 1000;
    config.retry.cap_ms = 8000;
    experiture::outbox::Outbox::Options options;
    options.path = dir.file("outbox.db");
    auto opened = experiture::outbox::Outbox::open(options, nullptr);
    REQUIRE(opened.is_ok());
    outbox = std::move(opened).value();
    auto created = experiture::crypto::Random::create();
    REQUIRE(created.is_ok());
    random = std::move(created).value();
    DrainLoop::Deps deps;
    deps.outbox = outbox.get();
    deps.http = &http;
    deps.clock = &clock;
    deps.random = random.get();
    deps.logger = &logger;
    deps.config = &config;
    deps.lease = lease;
    deps.post_response = [this](uint64_t id, HttpResponse r) {
      posted.emplace_back(id, std::move(r));
    };
    loop = std::make_unique<DrainLoop>(std::move(deps));
  }

  void write(const json& record, uint32_t flags = 0) {
    experiture::outbox::Entry e;
    e.object = "profiles";
    e.kind = experiture::outbox::WriteKind::kUpsert;
    e.match_key = "email";
    e.payload = record.dump();
    e.wall_ms = clock.wall_ms();
    e.mono_ms = clock.mono_ms();
    e.flags = flags;
    std::vector<experiture::outbox::Entry> entries{e};
    REQUIRE(outbox->commit(entries, {}).is_ok());
  }

  // The transport completes the request it holds; the completion is applied as on the store
  // thread.
  void answer(HttpResponse response) {
    REQUIRE(http.release(std::move(response)));
    REQUIRE(posted.size() == 1);
    auto p = std::move(posted.front());
    posted.clear();
    loop->on_response(p.first, std::move(p.second));
  }

  // The records of the last request ({"record": r} for a single upsert, else {"records": [...]}).
  json last_records() const {
    const json body = json::parse(http.requests().back().body);
    return body.contains("record") ? json::array({body["record"]}) : body["records"];
  }
};

HttpResponse error_response(int status, const std::string& code, const std::string& message) {
  return experiture::test::status_response(
      status, json{{"success", false}, {"error", {{"code", code}, {"message", message}}}}.dump());
}

}  // namespace

TEST_CASE("the drain loop sends a due batch and deletes it once the server acknowledges it",
          "[drain][unit]") {
  LoopRig rig;
  rig.write(json{{"email", "a@example.com"}, {"tier", "gold"}});
  rig.write(json{{"email", "b@example.com"}, {"tier", "silver"}});
  rig.loop->step(false);
  CHECK(rig.http.request_count() == 0);  // not due before the flush interval
  rig.loop->step(true);
  REQUIRE(rig.http.request_count() == 1);
  CHECK(rig.last_records().size() == 2);
  CHECK(rig.loop->in_flight_records() == 2);
  rig.answer(experiture::test::ok_response());
  CHECK(rig.outbox->queued_records() == 0);
  CHECK(rig.loop->delivered_total() == 2);
  const auto events = rig.loop->take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == DeliveryEvent::Type::kDelivered);
  CHECK(events[0].count == 2);
}

TEST_CASE("the drain loop coalesces writes to one profile before it persists the batch",
          "[drain][unit]") {
  LoopRig rig;
  rig.write(json{{"email", "a@example.com"}, {"tier", "gold"}});
  rig.write(json{{"email", "a@example.com"}, {"city", "Oslo"}});
  rig.loop->step(true);
  REQUIRE(rig.http.request_count() == 1);
  const json records = rig.last_records();
  REQUIRE(records.size() == 1);
  CHECK(records[0]["tier"] == "gold");
  CHECK(records[0]["city"] == "Oslo");
  // Persisted before the send, with the key the request carries.
  REQUIRE(rig.outbox->batch() != nullptr);
  CHECK(rig.outbox->batch()->sources.size() == 1);
  CHECK(rig.outbox->batch()->sources[0].size() == 2);
}

TEST_CASE("the drain loop corrects SDK timestamps by the skew the server's Date header shows",
          "[drain][unit]") {
  LoopRig rig;
  const int64_t device_wall = rig.clock.wall_ms();
  rig.write(json{{"email", "a@example.com"}, {"tier", "gold"}});
  rig.loop->step(true);
  // The server's clock is an hour ahead: its Date header says so.
  HttpResponse ok = experiture::test::ok_response();
  const int64_t server_wall = device_wall + 3600 * 1000;
  ok.headers.emplace_back("date", "Thu, 01 Jan 2026 01:00:00 GMT");
  REQUIRE(server_wall == 1767229200000);  // the Date above, so the skew is exactly one hour
  rig.answer(ok);
  const std::string seen = experiture::record::format_iso8601_utc_ms(device_wall);
  rig.write(json{{"email", "b@example.com"}, {"last_seen_at", seen}},
            experiture::outbox::kEntrySdkTimestamps);
  rig.write(json{{"email", "c@example.com"}, {"last_seen_at", seen}});  // the app's own field
  rig.loop->step(true);
  const json records = rig.last_records();
  REQUIRE(records.size() == 2);
  CHECK(records[0]["last_seen_at"] == experiture::record::format_iso8601_utc_ms(server_wall));
  CHECK(records[1]["last_seen_at"] == seen);
}

TEST_CASE("the drain loop waits out its backoff on the injected clock and re-sends the same bytes",
          "[drain][unit]") {
  LoopRig rig;
  rig.write(json{{"email", "a@example.com"}, {"tier", "gold"}});
  rig.loop->step(true);
  const auto first = rig.http.requests().back();
  rig.answer(experiture::test::status_response(503, "{}"));
  CHECK(rig.loop->wait_reason() == WaitReason::kDeliveryFailed);
  const auto wake = rig.loop->next_wakeup_mono_ms();
  REQUIRE(wake.has_value());
  CHECK(*wake > rig.clock.mono_ms());
  rig.loop->step(true);
  CHECK(rig.http.request_count() == 1);  // still backing off
  rig.clock.advance(*wake - rig.clock.mono_ms());
  rig.loop->step(false);
  REQUIRE(rig.http.request_count() == 2);
  CHECK(rig.http.requests().back().body == first.body);
}

// Typed decisions: what the drain loop does after an answer depends on the outcome, never on
// the words of a message. Each case gives a message that reads like another decision.
TEST_CASE("a failed attempt is the last error whatever words the server's message holds",
          "[drain][unit]") {
  LoopRig rig;
  rig.write(json{{"email", "a@example.com"}, {"tier", "gold"}});
  rig.loop->step(true);
  rig.answer(error_response(503, "STORAGE_ERROR", "rate limited: retrying after storage error"));
  CHECK(rig.loop->wait_reason() == WaitReason::kDeliveryFailed);
  CHECK(rig.loop->last_error().rfind("HTTP 503 STORAGE_ERROR", 0) == 0);
  CHECK(rig.loop->last_error_code() == experiture::Code::kOk);  // a delivery failure, no Status
  CHECK(rig.loop->pause_reason() == "retrying after " + rig.loop->last_error());
  CHECK(rig.logger.count_containing("delivery failed: HTTP 503") == 1);
}

TEST_CASE("a rate limit is a wait, not an error, even when its message reads like a failure",
          "[drain][unit]") {
  LoopRig rig;
  rig.write(json{{"email", "a@example.com"}, {"tier", "gold"}});
  rig.loop->step(true);
  HttpResponse r = error_response(429, "retrying after HTTP 503", "retrying after HTTP 503");
  r.headers.emplace_back("retry-after", "5");
  rig.answer(r);
  CHECK(rig.loop->wait_reason() == WaitReason::kRateLimited);
  CHECK(rig.loop->last_error().empty());
  CHECK(rig.loop->pause_reason().rfind("rate limited", 0) == 0);
  CHECK(rig.logger.count_containing("delivery failed") == 0);
}

TEST_CASE("another process holding the lease is a wait of its own, not a delivery failure",
          "[drain][unit]") {
  // A lease that is always taken: the loop waits for it and sends nothing.
  struct TakenLease final : experiture::platform::FileLock {
    bool try_lock() override { return false; }
    void unlock() override {}
    bool held() const override { return false; }
    int64_t holder_pid() const override { return 4242; }
  } lease;
  LoopRig rig(&lease);
  DrainLoop& loop = *rig.loop;
  experiture::outbox::Entry e;
  e.object = "profiles";
  e.kind = experiture::outbox::WriteKind::kAppend;
  e.payload = R"({"event":"x"})";
  std::vector<experiture::outbox::Entry> entries{e};
  REQUIRE(rig.outbox->commit(entries, {}).is_ok());
  loop.step(true);
  CHECK(rig.http.request_count() == 0);
  CHECK(loop.wait_reason() == WaitReason::kOtherProcessDelivers);
  CHECK(loop.delivery_owner_pid() == 4242);
  CHECK(loop.last_error().empty());
  CHECK(loop.pause_reason() == "another process (pid 4242) is delivering");
}

TEST_CASE("the next wakeup is the flush interval after the first queued write, none when empty",
          "[drain][unit]") {
  LoopRig rig;
  rig.config.flush_interval_ms = 5000;
  CHECK_FALSE(rig.loop->next_wakeup_mono_ms().has_value());  // nothing queued: no timer at all
  rig.loop->step(false);
  CHECK_FALSE(rig.loop->next_wakeup_mono_ms().has_value());

  rig.write(json{{"email", "a@example.com"}});
  const int64_t seen = rig.clock.mono_ms();
  rig.loop->step(false);  // the loop sees the write: due one flush interval later
  CHECK(rig.http.request_count() == 0);
  REQUIRE(rig.loop->next_wakeup_mono_ms().has_value());
  CHECK(*rig.loop->next_wakeup_mono_ms() == seen + 5000);
  rig.clock.advance(4999);
  rig.loop->step(false);
  CHECK(rig.http.request_count() == 0);
  rig.clock.advance(1);
  rig.loop->step(false);
  REQUIRE(rig.http.request_count() == 1);
  rig.answer(experiture::test::ok_response());
  CHECK(rig.outbox->queued_records() == 0);
  CHECK_FALSE(rig.loop->next_wakeup_mono_ms().has_value());  // drained: back to no timer
}

TEST_CASE("while blocked, another process's lease is looked at once a second, not on every step",
          "[drain][unit]") {
  struct CountingTakenLease final : experiture::platform::FileLock {
    int attempts = 0;
    bool try_lock() override {
      ++attempts;
      return false;
    }
    void unlock() override {}
    bool held() const override { return false; }
    int64_t holder_pid() const override { return 4242; }
  } lease;
  LoopRig rig(&lease);
  DrainLoop& loop = *rig.loop;
  loop.set_online(false);  // blocked: the loop only watches who delivers

  for (int i = 0; i < 50; ++i) {
    loop.step(false);
    rig.clock.advance(10);  // 500 ms in all
  }
  CHECK(lease.attempts == 1);
  CHECK(loop.delivery_owner_pid() == 4242);
  rig.clock.advance(500);  // a second after the first look
  loop.step(false);
  CHECK(lease.attempts == 2);
  CHECK(rig.http.request_count() == 0);
}

TEST_CASE("the first batch acknowledged after a reported pause emits kResumed, once",
          "[drain][unit]") {
  LoopRig rig;
  rig.write(json{{"email", "a@example.com"}, {"tier", "gold"}});
  rig.loop->step(true);
  HttpResponse limited = error_response(429, "CDP_ETL.RATE.LIMITED", "slow down");
  limited.headers.emplace_back("retry-after", "5");
  rig.answer(limited);
  auto events = rig.loop->take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == DeliveryEvent::Type::kPaused);
  rig.clock.advance(6000);
  rig.loop->step(false);
  REQUIRE(rig.http.request_count() == 2);
  rig.answer(experiture::test::ok_response());
  events = rig.loop->take_events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == DeliveryEvent::Type::kResumed);
  CHECK(events[0].reason == "delivering again after: rate limited");
  CHECK(events[1].type == DeliveryEvent::Type::kDelivered);
  // The next delivery is an ordinary one.
  rig.write(json{{"email", "b@example.com"}, {"tier", "gold"}});
  rig.loop->step(true);
  rig.answer(experiture::test::ok_response());
  events = rig.loop->take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == DeliveryEvent::Type::kDelivered);
}
