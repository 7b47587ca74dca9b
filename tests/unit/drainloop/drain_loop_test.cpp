// The drain loop through the real client in manual mode, with a fake transport and clock: every
// outcome of the status table, step by step, no sleeps.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "experiture/client.hpp"
#include "fakes.hpp"
#include "record/timestamp.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::DeliveryEvent;
using experiture::platform::HttpResponse;
using experiture::test::FakeClock;
using experiture::test::FakeHttpClient;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

struct Rig {
  TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::shared_ptr<FakeHttpClient> http = std::make_shared<FakeHttpClient>();
  std::shared_ptr<experiture::test::CapturingLogger> logger =
      std::make_shared<experiture::test::CapturingLogger>();
  std::vector<DeliveryEvent> events;
  std::vector<bool> token_requests;  // the refresh flag of each provider call
  std::unique_ptr<Client> client;

  explicit Rig(std::function<void(Config&)> tweak = nullptr, bool warm_up = true) {
    Config c;
    c.storage_path = dir.file("outbox.db");
    c.endpoint = "https://api.example.test/public/v1";
    c.manual_mode = true;
    c.clock = clock;
    c.http = http;
    c.logger = logger;
    c.batch_size = 100;
    c.retry.base_ms = 1000;
    c.retry.cap_ms = 8000;
    c.token_provider = [this](bool refresh) {
      token_requests.push_back(refresh);
      return "secret-token-" + std::to_string(token_requests.size());
    };
    c.listener = [this](const DeliveryEvent& e) { events.push_back(e); };
    if (tweak) tweak(c);
    auto opened = Client::open(c);
    REQUIRE(opened.is_ok());
    client = std::move(opened).value();
    if (!warm_up) return;
    // Deliver the anonymous profile so tests start from an empty queue.
    client->pump();
    client->on_background();
    client->pump();
    REQUIRE(http->release(experiture::test::ok_response()));
    client->pump();
    REQUIRE(client->stats().queued_records == 0);
  }

  void write(int i, const std::string& extra_field = "tier") {
    REQUIRE(client
                ->upsert("profiles",
                         json{{"email", "u" + std::to_string(i) + "@example.com"},
                              {extra_field, "gold"}},
                         "email")
                .is_ok());
  }

  // Commits and sends what is due now.
  void send_now() {
    client->on_background();
    client->pump();
  }

  // Completes the request in flight and lets the client apply it.
  void answer(HttpResponse response) {
    REQUIRE(http->release(std::move(response)));
    client->pump();
  }

  experiture::platform::HttpRequest last_request() const { return http->requests().back(); }
};

std::string header(const experiture::platform::HttpRequest& r, const std::string& name) {
  for (const auto& h : r.headers) {
    std::string lower = h.first;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == name) return h.second;
  }
  return "";
}

HttpResponse rate_limited(int seconds) {
  HttpResponse r = experiture::test::status_response(
      429, R"({"success":false,"error":{"code":"CDP_ETL.RATE.LIMITED","message":"slow down"}})");
  r.headers.emplace_back("retry-after", std::to_string(seconds));
  return r;
}

}  // namespace

TEST_CASE("a 5xx is retried after backoff with the same key and byte-identical body",
          "[drain][unit]") {
  Rig rig;
  for (int i = 0; i < 3; ++i) rig.write(i);
  rig.send_now();
  REQUIRE(rig.http->held() == 1);
  auto first = rig.last_request();
  rig.answer(experiture::test::status_response(503, "{}"));
  CHECK(rig.http->request_count() == 2);  // anonymous profile, first try; no retry yet
  CHECK(rig.client->stats().pause_reason.find("503") != std::string::npos);
  rig.clock->advance(1001);
  rig.client->pump();
  REQUIRE(rig.http->request_count() == 3);
  auto second = rig.last_request();
  CHECK(second.body == first.body);
  CHECK(header(second, "idempotency-key") == header(first, "idempotency-key"));
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
  CHECK(rig.client->stats().delivered == 4);
}

TEST_CASE("a 429 pauses every batch until Retry-After and new writes do not cut it short",
          "[drain][unit]") {
  Rig rig;
  rig.write(1);
  rig.send_now();
  rig.answer(rate_limited(30));
  CHECK(rig.client->stats().pause_reason.find("rate limited") != std::string::npos);
  const size_t sent = rig.http->request_count();
  rig.write(2);
  rig.send_now();
  rig.clock->advance(29000);
  rig.client->pump();
  CHECK(rig.http->request_count() == sent);  // still waiting
  rig.clock->advance(4100);                  // Retry-After plus at most 10% jitter
  rig.client->pump();
  CHECK(rig.http->request_count() == sent + 1);
}

TEST_CASE("a 401 asks the token provider for a new token and retries", "[drain][unit]") {
  Rig rig;
  rig.write(1);
  rig.send_now();
  CHECK(header(rig.last_request(), "authorization") == "Bearer secret-token-1");
  rig.answer(experiture::test::status_response(
      401,
      R"({"success":false,"error":{"code":"CDP_ETL.AUTH.TOKEN_EXPIRED","message":"expired"}})"));
  rig.client->pump();
  REQUIRE(rig.token_requests.size() == 2);
  CHECK(rig.token_requests.back() == true);
  CHECK(header(rig.last_request(), "authorization") == "Bearer secret-token-2");
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
}

TEST_CASE("a provider with no other token after a 401 pauses as unauthorized, not as no token",
          "[drain][unit]") {
  Rig rig([](Config& c) {
    auto calls = std::make_shared<int>(0);  // one token, then none (refresh or not)
    c.token_provider = [calls](bool) { return ++*calls == 1 ? "refused-token" : std::string(); };
  });
  rig.write(1);
  rig.send_now();
  const size_t sent = rig.http->request_count();
  rig.answer(experiture::test::status_response(
      401, R"({"success":false,"error":{"code":"CDP_ETL.AUTH.TOKEN_INVALID","message":"bad"}})"));
  rig.client->pump();  // the retry at once finds no other token
  CHECK(rig.http->request_count() == sent);
  INFO("pause reason: " << rig.client->stats().pause_reason);
  CHECK(rig.client->stats().pause_reason.rfind("unauthorized (401)", 0) == 0);
  const auto flushed = rig.client->flush(100);
  INFO(flushed.message());
  CHECK(flushed.code() == Code::kPaused);
  CHECK(flushed.message().find("unauthorized (401): the server refused the token") !=
        std::string::npos);
  CHECK(flushed.message().find("no token") == std::string::npos);
  CHECK(rig.client->stats().queued_records == 1);
}

TEST_CASE("no token pauses delivery with a reason", "[drain][unit]") {
  Rig rig([](Config& c) { c.token_provider = [](bool) { return std::string(); }; }, false);
  rig.write(1);
  rig.client->on_background();
  auto status = rig.client->flush(200);
  CHECK(status.code() == Code::kPaused);
  CHECK(status.message().find("no token") != std::string::npos);
  CHECK(rig.client->stats().queued_records == 2);  // the anonymous profile and the write
  CHECK(rig.http->request_count() == 0);
}

TEST_CASE("a 403 pauses delivery and keeps the data", "[drain][unit]") {
  Rig rig;
  rig.write(1);
  rig.send_now();
  rig.answer(experiture::test::status_response(
      403, R"({"success":false,"error":{"code":"CDP_ETL.AUTH.FORBIDDEN","message":"no"}})"));
  auto s = rig.client->stats();
  CHECK(s.pause_reason.find("forbidden") != std::string::npos);
  CHECK(s.queued_records == 1);
  CHECK(s.dead_letters == 0);
  CHECK(rig.client->flush(100).code() == Code::kPaused);
  rig.client->resume();
  rig.client->pump();
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
}

TEST_CASE("a 404 dead-letters the batch's records with the server's code", "[drain][unit]") {
  Rig rig;
  rig.write(1);
  rig.write(2);
  rig.send_now();
  HttpResponse r = experiture::test::status_response(
      404, R"({"success":false,"error":{"code":"CDP_ETL.NOT_FOUND","message":"no object"}})");
  r.headers.emplace_back("x-correlation-id", "corr-404");
  rig.answer(r);
  auto dead = rig.client->dead_letters(10);
  REQUIRE(dead.is_ok());
  REQUIRE(dead.value().size() == 2);
  CHECK(dead.value()[0].code == "CDP_ETL.NOT_FOUND");
  CHECK(dead.value()[0].correlation_id == "corr-404");
  CHECK(dead.value()[0].http_status == 404);
  bool reported = false;
  for (const auto& e : rig.events)
    reported |= e.type == DeliveryEvent::Type::kDeadLettered && e.count == 2;
  CHECK(reported);
  REQUIRE(rig.client->retry_dead_letters().is_ok());
  CHECK(rig.client->stats().queued_records == 2);
}

TEST_CASE("a 413 splits the batch", "[drain][unit]") {
  Rig rig;
  for (int i = 0; i < 8; ++i) rig.write(i);
  rig.send_now();
  rig.answer(experiture::test::status_response(413, "{}"));
  rig.client->pump();
  auto body = json::parse(rig.last_request().body);
  CHECK(body["records"].size() == 4);
  rig.answer(experiture::test::ok_response());
  rig.client->pump();
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
  CHECK(rig.client->stats().dead_letters == 0);
}

TEST_CASE("a 400 naming no record is bisected until the bad record stands alone", "[drain][unit]") {
  Rig rig;
  for (int i = 0; i < 8; ++i) rig.write(i, i == 5 ? "bad_field" : "tier");
  rig.http->set_responder([](const experiture::platform::HttpRequest& request) {
    if (request.body.find("bad_field") != std::string::npos) {
      return experiture::test::status_response(
          400,
          R"({"success":false,"error":{"code":"CDP_ETL.VALIDATION.REQUEST_INVALID","message":"invalid"}})");
    }
    return experiture::test::ok_response();
  });
  rig.client->pump();
  for (int i = 0; i < 20 && rig.client->stats().queued_records > 0; ++i) {
    rig.send_now();
    rig.client->pump();
  }
  CHECK(rig.client->stats().queued_records == 0);
  auto dead = rig.client->dead_letters(10).value();
  REQUIRE(dead.size() == 1);
  CHECK(json::parse(dead[0].record)["email"] == "u5@example.com");
}

TEST_CASE("records a 422 names are isolated and the rest re-sent with a new key", "[drain][unit]") {
  Rig rig;
  for (int i = 0; i < 4; ++i) rig.write(i);
  rig.send_now();
  const std::string first_key = header(rig.last_request(), "idempotency-key");
  rig.answer(experiture::test::status_response(
      422,
      R"({"success":false,"error":{"code":"CDP_ETL.VALIDATION.REQUEST_SCHEMA","message":"records[2].tier: unknown","details":{"path":"records[2].tier"}}})"));
  rig.client->pump();
  auto resent = rig.last_request();
  CHECK(header(resent, "idempotency-key") != first_key);
  CHECK(json::parse(resent.body)["records"].size() == 3);
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().dead_letters == 1);
  CHECK(rig.client->stats().queued_records == 0);
}

TEST_CASE("offline pauses delivery, and back online sends at once", "[drain][unit]") {
  Rig rig;
  rig.client->set_online(false);
  rig.write(1);
  rig.send_now();
  const size_t sent = rig.http->request_count();
  CHECK(rig.client->stats().pause_reason == "offline");
  rig.client->set_online(true);
  rig.client->pump();
  CHECK(rig.http->request_count() == sent + 1);
}

TEST_CASE("the flush interval sends a partial batch, and nothing is sent before it",
          "[drain][unit]") {
  Rig rig;
  const size_t sent = rig.http->request_count();
  rig.write(1);
  rig.client->pump();
  rig.clock->advance(4000);
  rig.client->pump();
  CHECK(rig.http->request_count() == sent);
  rig.clock->advance(1001);
  rig.client->pump();
  CHECK(rig.http->request_count() == sent + 1);
}

TEST_CASE("writes to the same profile are coalesced into one record, explicit nulls kept",
          "[drain][unit]") {
  Rig rig;
  REQUIRE(
      rig.client->upsert("profiles", json{{"email", "a@b.co"}, {"tier", "gold"}}, "email").is_ok());
  REQUIRE(rig.client->upsert("profiles", json{{"email", "a@b.co"}, {"first_name", "Ann"}}, "email")
              .is_ok());
  REQUIRE(rig.client->upsert("profiles", json{{"email", "a@b.co"}, {"tier", nullptr}}, "email")
              .is_ok());
  rig.send_now();
  const json body = json::parse(rig.last_request().body);
  REQUIRE(body.contains("record"));  // one record: the single-record endpoint
  const json& record = body.at("record");
  CHECK(record.value("first_name", "") == "Ann");
  REQUIRE(record.contains("tier"));  // an explicit null is sent, not dropped
  CHECK(record.at("tier").is_null());
  CHECK(rig.last_request().url.find("/records/profiles/upsert") != std::string::npos);
}

TEST_CASE("SDK timestamps are corrected for a wrong device clock, app fields never are",
          "[drain][unit]") {
  const int64_t device_wall = GENERATE(int64_t{0}, int64_t{1830297600000});  // 1970, next year
  const int64_t server_wall = 1795947694000;                                 // 2026-11-29
  Rig rig([device_wall](Config& c) {
    std::static_pointer_cast<FakeClock>(c.clock)->set_wall(device_wall);
  });
  HttpResponse dated = experiture::test::ok_response();
  dated.headers.emplace_back("date", "Sun, 29 Nov 2026 10:21:34 GMT");
  // The warm-up batch carried no Date header; this one tells the SDK the server's time.
  rig.write(100);
  rig.send_now();
  rig.answer(dated);
  // A login now: last_login_at is written by the SDK at the device's (wrong) time.
  REQUIRE(rig.client->login(experiture::LoginInfo{"ann@example.com", "", ""}).is_ok());
  REQUIRE(
      rig.client
          ->upsert("profiles",
                   json{{"email", "app@example.com"},
                        {"last_order_at", "2000-01-01T00:00:00Z"},
                        {"last_seen_at", "2000-01-02T00:00:00Z"}},  // a field the SDK also writes
                   "email")
          .is_ok());
  rig.send_now();
  auto login_body = json::parse(rig.last_request().body);
  auto record = login_body.contains("record") ? login_body["record"] : login_body["records"][0];
  auto corrected = experiture::record::parse_iso8601_ms(record["last_login_at"].get<std::string>());
  REQUIRE(corrected);
  CHECK(std::llabs(*corrected - server_wall) < 10 * 60 * 1000);
  const std::string sent_once = rig.last_request().body;
  rig.answer(experiture::test::status_response(500, "{}"));
  rig.client->pump();
  rig.clock->advance(10000);
  rig.client->pump();
  CHECK(rig.last_request().body == sent_once);  // persisted bytes are never re-corrected
  // The app's own timestamp travelled in the same batch, untouched.
  json app;
  for (const auto& r : login_body["records"]) {
    if (r["email"] == "app@example.com") app = r;
  }
  CHECK(app["last_order_at"] == "2000-01-01T00:00:00Z");
  CHECK(app["last_seen_at"] == "2000-01-02T00:00:00Z");
}

TEST_CASE("logs carry neither the token nor record values", "[drain][unit]") {
  Rig rig;
  REQUIRE(rig.client->upsert("profiles", json{{"email", "private.person@example.com"}}, "email")
              .is_ok());
  rig.send_now();
  rig.answer(experiture::test::status_response(
      422,
      R"({"success":false,"error":{"code":"CDP_ETL.VALIDATION.REQUEST_SCHEMA","message":"bad"}})"));
  rig.client->pump();
  for (const auto& line : rig.logger->lines()) {
    CHECK(line.find("secret-token") == std::string::npos);
    CHECK(line.find("private.person") == std::string::npos);
  }
  CHECK_FALSE(rig.logger->lines().empty());
}

namespace {

// Backoff that makes "did it grow" a yes/no question: the first delay is at most 1 ms, the
// second at most 10^9 ms (so a retry within 2 ms after it has a chance of 3 in 10^9).
void steep_backoff(Config& c) {
  c.retry.base_ms = 1;
  c.retry.factor = 1e9;
  c.retry.cap_ms = int64_t{1} << 50;
}

HttpResponse expired_token() {
  return experiture::test::status_response(
      401,
      R"({"success":false,"error":{"code":"CDP_ETL.AUTH.TOKEN_EXPIRED","message":"expired"}})");
}

}  // namespace

TEST_CASE("each consecutive 5xx backs off longer, up to the policy's ceiling", "[drain][unit]") {
  Rig rig(steep_backoff);
  rig.write(1);
  rig.send_now();
  const size_t first = rig.http->request_count();
  rig.answer(experiture::test::status_response(503, "{}"));
  rig.clock->advance(2);  // past the first ceiling (1 ms)
  rig.client->pump();
  REQUIRE(rig.http->request_count() == first + 1);
  rig.answer(experiture::test::status_response(503, "{}"));
  rig.clock->advance(2);
  rig.client->pump();
  CHECK(rig.http->request_count() == first + 1);  // the second wait is drawn from 10^9 ms
  CHECK(rig.client->stats().pause_reason.find("503") != std::string::npos);
  rig.clock->advance(1000000000);  // past the second ceiling
  rig.client->pump();
  REQUIRE(rig.http->request_count() == first + 2);
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
}

TEST_CASE("a repeated 401 backs off, only the first one retries at once", "[drain][unit]") {
  Rig rig(steep_backoff);
  rig.write(1);
  rig.send_now();
  const size_t first = rig.http->request_count();
  rig.answer(expired_token());
  rig.client->pump();
  REQUIRE(rig.http->request_count() == first + 1);  // at once, with a new token
  CHECK(header(rig.last_request(), "authorization") == "Bearer secret-token-2");
  rig.answer(expired_token());
  rig.client->pump();
  CHECK(rig.http->request_count() == first + 1);  // the new token failed too: wait
  rig.clock->advance(1000000000);
  rig.client->pump();
  REQUIRE(rig.http->request_count() == first + 2);
  CHECK(header(rig.last_request(), "authorization") == "Bearer secret-token-3");
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
}

TEST_CASE("after a 413 split the next batches are full size again", "[drain][unit]") {
  Rig rig;
  for (int i = 0; i < 8; ++i) rig.write(i);
  rig.send_now();
  rig.answer(experiture::test::status_response(413, "{}"));
  rig.client->pump();
  REQUIRE(json::parse(rig.last_request().body)["records"].size() == 4);
  rig.answer(experiture::test::ok_response());
  rig.client->pump();
  rig.answer(experiture::test::ok_response());
  REQUIRE(rig.client->stats().queued_records == 0);
  for (int i = 10; i < 18; ++i) rig.write(i);
  rig.send_now();
  CHECK(json::parse(rig.last_request().body)["records"].size() == 8);
}

TEST_CASE("after a 400 bisect isolated the bad record the next batch is full size again",
          "[drain][unit]") {
  Rig rig;
  // The bad record is the last one: the bisect ends with it dead-lettered on its own.
  for (int i = 0; i < 8; ++i) rig.write(i, i == 7 ? "bad_field" : "tier");
  rig.http->set_responder([](const experiture::platform::HttpRequest& request) {
    if (request.body.find("bad_field") != std::string::npos) {
      return experiture::test::status_response(
          400,
          R"({"success":false,"error":{"code":"CDP_ETL.VALIDATION.REQUEST_INVALID","message":"invalid"}})");
    }
    return experiture::test::ok_response();
  });
  rig.client->pump();
  for (int i = 0; i < 20 && rig.client->stats().queued_records > 0; ++i) {
    rig.send_now();
    rig.client->pump();
  }
  REQUIRE(rig.client->stats().queued_records == 0);
  REQUIRE(rig.client->stats().dead_letters == 1);
  const size_t before = rig.http->request_count();
  for (int i = 10; i < 18; ++i) rig.write(i);
  rig.send_now();
  rig.client->pump();
  CHECK(rig.client->stats().queued_records == 0);
  REQUIRE(rig.http->request_count() == before + 1);
  CHECK(json::parse(rig.last_request().body)["records"].size() == 8);
}

TEST_CASE("a rejected merged record dead-letters every write merged into it", "[drain][unit]") {
  const int status = GENERATE(200, 422);  // per-record results, or an error naming the record
  Rig rig;
  REQUIRE(
      rig.client->upsert("profiles", json{{"email", "m@example.com"}, {"tier", "gold"}}, "email")
          .is_ok());
  REQUIRE(rig.client
              ->upsert("profiles", json{{"email", "m@example.com"}, {"first_name", "Mo"}}, "email")
              .is_ok());
  REQUIRE(
      rig.client->upsert("profiles", json{{"email", "o@example.com"}, {"tier", "gold"}}, "email")
          .is_ok());
  rig.send_now();
  const json sent = json::parse(rig.last_request().body);
  REQUIRE(sent.at("records").size() == 2);  // the two writes to m@ were merged into one record
  const size_t merged = sent.at("records")[0].value("email", "") == "m@example.com" ? 0 : 1;
  const std::string index = std::to_string(merged);
  if (status == 200) {
    rig.answer(experiture::test::status_response(
        200,
        R"({"success":true,"data":{"acceptedRecords":1,"rejectedRecords":1,"results":[)"
        R"({"index":)" +
            index +
            R"(,"status":"rejected","error":{"code":"CDP_ETL.VALIDATION.REQUEST_INVALID","message":"no"}},)"
            R"({"index":)" +
            std::to_string(1 - merged) + R"(,"status":"accepted"}]}})"));
  } else {
    rig.answer(experiture::test::status_response(
        422,
        R"({"success":false,"error":{"code":"CDP_ETL.VALIDATION.REQUEST_SCHEMA","message":"records[)" +
            index + R"(].x: unknown","details":{"path":"records[)" + index + R"(].x"}}})"));
    rig.client->pump();
    const json resent = json::parse(rig.last_request().body);
    CHECK(resent.value("record", json::object()).value("email", "") == "o@example.com");
    rig.answer(experiture::test::ok_response());
  }
  CHECK(rig.client->stats().queued_records == 0);
  auto dead = rig.client->dead_letters(10);
  REQUIRE(dead.is_ok());
  REQUIRE(dead.value().size() == 2);  // both source writes, neither dropped
  CHECK(json::parse(dead.value()[0].record) == json{{"email", "m@example.com"}, {"tier", "gold"}});
  CHECK(json::parse(dead.value()[1].record) ==
        json{{"email", "m@example.com"}, {"first_name", "Mo"}});
  CHECK(rig.client->stats().delivered == 2);  // the anonymous profile and o@
}

TEST_CASE("a fixed token the server refuses pauses delivery as unauthorized instead of retrying",
          "[drain][unit]") {
  Rig rig([](Config& c) {
    c.token_provider = nullptr;
    c.token = "fixed-token";
  });
  rig.write(1);
  rig.send_now();
  const size_t sent = rig.http->request_count();
  rig.answer(experiture::test::status_response(
      401, R"({"success":false,"error":{"code":"CDP_ETL.AUTH.TOKEN_INVALID","message":"bad"}})"));
  auto s = rig.client->stats();
  CHECK(s.pause_reason.find("unauthorized (401): the server refused the token") !=
        std::string::npos);
  CHECK(s.last_error.find("the server refused the token (401") != std::string::npos);
  CHECK(s.last_delivery_error == s.last_error);
  CHECK(s.queued_records == 1);
  auto flushed = rig.client->flush(100);
  CHECK(flushed.code() == Code::kPaused);
  CHECK(flushed.message().find("refused the token") != std::string::npos);
  rig.clock->advance(60000);  // far beyond the backoff: still no retry of the same token
  rig.client->pump();
  CHECK(rig.http->request_count() == sent);
  rig.client->resume();  // the app says: try again
  rig.client->pump();
  REQUIRE(rig.http->request_count() == sent + 1);
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
}

TEST_CASE("delivery diagnostics survive a reopen of the outbox", "[drain][unit]") {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  auto http = std::make_shared<FakeHttpClient>();
  auto open = [&] {
    Config c;
    c.storage_path = dir.file("outbox.db");
    c.endpoint = "https://api.example.test/public/v1";
    c.manual_mode = true;
    c.clock = clock;
    c.http = http;
    c.token = "t";
    auto opened = Client::open(c);
    REQUIRE(opened.is_ok());
    return std::move(opened).value();
  };
  {
    auto client = open();
    client->on_background();
    client->pump();
    REQUIRE(http->release(experiture::test::status_response(503, "{}")));
    client->pump();
    auto s = client->stats();
    CHECK(s.last_delivery_error.find("503") != std::string::npos);
    CHECK(s.consecutive_failures == 1);
    CHECK(s.next_attempt_at_ms > clock->wall_ms());
    CHECK(s.last_storage_error.empty());
    REQUIRE(client->close(1000).is_ok());
  }
  {
    auto client = open();
    auto s = client->stats();
    CHECK(s.last_delivery_error.find("503") != std::string::npos);
    CHECK(s.last_delivery_error_at_ms > 0);
    CHECK(s.consecutive_failures == 1);
    CHECK(s.last_pause_reason.find("503") != std::string::npos);
    CHECK(s.last_error == s.last_delivery_error);
    CHECK(s.last_success_at_ms == 0);
    client->on_background();
    client->pump();
    REQUIRE(http->release(experiture::test::ok_response()));
    client->pump();
    s = client->stats();
    CHECK(s.consecutive_failures == 0);
    CHECK(s.last_success_at_ms > 0);
    REQUIRE(client->close(1000).is_ok());
  }
  auto client = open();
  CHECK(client->stats().last_success_at_ms > 0);
  CHECK(client->stats().consecutive_failures == 0);
}

TEST_CASE(
    "an unreadable 2xx keeps the batch, re-sends the same key and body, and pauses after "
    "three in a row",
    "[drain][unit][hostile]") {
  Rig rig;
  for (int i = 0; i < 3; ++i) rig.write(i);
  rig.send_now();
  REQUIRE(rig.http->held() == 1);
  const auto first = rig.last_request();
  HttpResponse portal = experiture::test::status_response(
      200, "<html><body>Please accept the terms of use</body></html>");
  portal.headers = {{"content-type", "text/html"}, {"x-correlation-id", "portal"}};
  rig.answer(portal);
  CHECK(rig.client->stats().queued_records == 3);  // nothing deleted without proof
  CHECK(rig.client->stats().delivered == 1);       // the warm-up's anonymous profile only
  // Truncated JSON and an empty 200 are no proof either; each retry is the same key and bytes.
  for (const std::string& body :
       {std::string(R"({"success":true,"data":{"acceptedRec)"), std::string()}) {
    rig.clock->advance(9000);
    rig.client->pump();
    REQUIRE(rig.http->held() == 1);
    const auto again = rig.last_request();
    CHECK(again.body == first.body);
    CHECK(header(again, "idempotency-key") == header(first, "idempotency-key"));
    rig.answer(experiture::test::status_response(200, body));
    CHECK(rig.client->stats().queued_records == 3);
  }
  // Three in a row: paused with a reason, reported, logged; flush() says so instead of waiting.
  const std::string reason = rig.client->stats().pause_reason;
  CHECK(reason.find("readable") != std::string::npos);
  CHECK(rig.logger->count_containing("without a readable body") >= 1);
  bool reported = false;
  for (const auto& e : rig.events) {
    reported = reported || (e.type == DeliveryEvent::Type::kPaused &&
                            e.reason.find("readable") != std::string::npos);
  }
  CHECK(reported);
  CHECK(rig.http->held() == 0);  // the third answer paused: nothing went out again
  const size_t sent = rig.http->request_count();
  rig.clock->advance(60000);
  rig.client->pump();
  CHECK(rig.http->request_count() == sent);
  CHECK(rig.client->flush(0).code() == experiture::Code::kPaused);
  // resume() tries again: the same bytes, now acknowledged.
  rig.client->resume();
  rig.client->pump();
  REQUIRE(rig.http->held() == 1);
  CHECK(rig.last_request().body == first.body);
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
  CHECK(rig.client->stats().pause_reason.empty());
}

TEST_CASE("a network failure's last error names the host and the kind of failure",
          "[drain][unit]") {
  struct Kind {
    experiture::platform::TransportError error;
    const char* code;
    const char* words;
  };
  using experiture::platform::TransportError;
  const Kind kind =
      GENERATE(Kind{TransportError::kConnect, "NETWORK.CONNECT", "could not connect"},
               Kind{TransportError::kDns, "NETWORK.DNS", "DNS failure"},
               Kind{TransportError::kTimeout, "NETWORK.TIMEOUT", "timed out"},
               Kind{TransportError::kTls, "NETWORK.TLS", "TLS handshake or certificate failed"},
               Kind{TransportError::kReset, "NETWORK.RESET", "connection dropped"});
  Rig rig;
  rig.write(1);
  rig.send_now();
  HttpResponse failure;
  failure.error = kind.error;
  failure.error_message = "what the transport said";
  rig.answer(failure);
  const std::string error = rig.client->stats().last_delivery_error;
  INFO(error);
  CHECK(error.find(std::string("network error ") + kind.code) != std::string::npos);
  CHECK(error.find(" to api.example.test (") != std::string::npos);
  CHECK(error.find(kind.words) != std::string::npos);
  CHECK(error.find(": what the transport said") != std::string::npos);
  CHECK(error.find("secret-token") == std::string::npos);
}

TEST_CASE("a TLS or pinning failure pauses delivery with a reason until resume",
          "[drain][unit][hostile]") {
  Rig rig;
  rig.write(1);
  rig.send_now();
  HttpResponse failure;
  const bool pinning = GENERATE(false, true);
  failure.error = pinning ? experiture::platform::TransportError::kPinning
                          : experiture::platform::TransportError::kTls;
  failure.error_message = "SSL peer certificate or SSH remote key was not OK: api.example.test";
  const size_t sent_before = rig.http->request_count();
  rig.answer(failure);
  CHECK(rig.http->request_count() == sent_before);  // not even once more in the same round
  CHECK(rig.http->held() == 0);
  const std::string reason = rig.client->stats().pause_reason;
  INFO(reason);
  CHECK(reason.find("TLS") != std::string::npos);
  CHECK(reason.find(pinning ? "TLS pinning failure" : "TLS failure") != std::string::npos);
  CHECK(reason.find("secret-token") == std::string::npos);
  CHECK(rig.logger->count_containing("TLS") >= 1);
  const size_t sent = rig.http->request_count();
  rig.clock->advance(600000);
  rig.client->pump();
  CHECK(rig.http->request_count() == sent);  // no retry storm against the wrong server
  const auto flushed = rig.client->flush(0);
  CHECK(flushed.code() == experiture::Code::kPaused);
  CHECK(flushed.message().find("TLS") != std::string::npos);
  rig.client->resume();
  rig.client->pump();
  REQUIRE(rig.http->held() == 1);
  rig.answer(experiture::test::ok_response());
  CHECK(rig.client->stats().queued_records == 0);
}
