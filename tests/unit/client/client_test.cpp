#include "experiture/client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string_view>

#include "crypto/uuid.hpp"
#include "fakes.hpp"
#include "faulty_vfs.hpp"
#include "outbox/outbox.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::Consent;
using experiture::LoginInfo;
using experiture::test::FakeClock;
using experiture::test::FakeHttpClient;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

struct Harness {
  TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::shared_ptr<FakeHttpClient> http = std::make_shared<FakeHttpClient>();
  std::shared_ptr<experiture::test::CapturingLogger> logger =
      std::make_shared<experiture::test::CapturingLogger>();

  Config config(bool manual = true) const {
    Config c;
    c.storage_path = dir.file("outbox.db");
    c.endpoint = "http://127.0.0.1:9/public/v1";
    c.token = "test-token";
    c.manual_mode = manual;
    c.clock = clock;
    c.http = http;
    c.logger = logger;
    c.retry.base_ms = 10;
    c.retry.cap_ms = 100;
    return c;
  }

  std::unique_ptr<Client> open(const Config& c) {
    auto opened = Client::open(c);
    REQUIRE(opened.is_ok());
    return std::move(opened).value();
  }

  // The queued entries, read straight from the outbox file.
  std::vector<experiture::outbox::Entry> queued() const {
    experiture::outbox::Outbox::Options options;
    options.path = dir.file("outbox.db");
    auto outbox = experiture::outbox::Outbox::open(options, nullptr);
    REQUIRE(outbox.is_ok());
    return outbox.value()->read_entries(0, 1000000).value();
  }
};

}  // namespace

TEST_CASE("open refuses a config without a storage path, naming the field", "[client][unit]") {
  Config c;
  auto opened = Client::open(c);
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == Code::kInvalidConfig);
  CHECK(opened.status().message().find("storage_path") != std::string::npos);
}

TEST_CASE("each kind of bad write gets its own status naming the field", "[client][unit]") {
  Harness h;
  auto client = h.open(h.config());
  struct Row {
    std::string record;
    std::string match_key;
    Code code;
    std::string field;
  };
  auto row = GENERATE(
      Row{"[1,2]", "email", Code::kRecordNotObject, "record"},
      Row{"{}", "email", Code::kRecordEmpty, "record"},
      Row{"{\"tier\":\"gold\"}", "email", Code::kMatchKeyMissing, "email"},
      Row{"{\"email\":null}", "email", Code::kMatchKeyNull, "email"},
      Row{"{\"email\":42}", "email", Code::kMatchKeyNotString, "email"},
      Row{"{\"tier\":\"gold\"}", "tier", Code::kMatchKeyNotIdentity, "tier"},
      Row{"{\"email\":\"not-an-email\"}", "email", Code::kInvalidEmail, "email"},
      Row{"{\"email\":\"a@b.co\",\"phone\":\"12\"}", "email", Code::kInvalidPhone, "phone"},
      Row{"{\"email\":\"a@b.co\",\"signup_at\":\"2026-04-21T15:30:00\"}", "email",
          Code::kTimestampWithoutZone, "signup_at"},
      Row{"{\"email\":", "email", Code::kInvalidJson, "JSON"});
  auto status = client->upsert("profiles", std::string_view(row.record), row.match_key);
  CHECK(status.code() == row.code);
  CHECK(status.message().find(row.field) != std::string::npos);
}

TEST_CASE("an oversize record is refused and the message states the cap", "[client][unit]") {
  Harness h;
  Config c = h.config();
  c.max_record_bytes = 1024;
  auto client = h.open(c);
  json record = {{"email", "a@b.co"}, {"bio", std::string(2000, 'x')}};
  auto status = client->upsert("profiles", record, "email");
  CHECK(status.code() == Code::kRecordTooLarge);
  CHECK(status.message().find("1024") != std::string::npos);
}

TEST_CASE("a bad write loses nothing accepted before it", "[client][unit]") {
  Harness h;
  {
    auto client = h.open(h.config());
    REQUIRE(client->upsert("profiles", json{{"email", " Ann@Example.COM "}}, "email").is_ok());
    CHECK_FALSE(client->upsert("profiles", json{{"email", "bad"}}, "email").is_ok());
    REQUIRE(client->persist(5000).is_ok());
  }
  auto entries = h.queued();
  REQUIRE(entries.size() == 2);  // the anonymous profile, then the accepted write
  CHECK(json::parse(entries[1].payload)["email"] == "ann@example.com");
}

TEST_CASE("writes accepted on a threaded client are durable after persist and in order",
          "[client][unit]") {
  Harness h;
  {
    auto client = h.open(h.config(false));
    for (int i = 0; i < 2000; ++i) {
      REQUIRE(client->append("events", json{{"n", i}}).is_ok());
    }
    REQUIRE(client->persist(10000).is_ok());
    CHECK(client->stats().pending_durable == 0);
    CHECK(client->stats().queued_records >= 2000);
  }
  auto entries = h.queued();
  REQUIRE(entries.size() == 2001);
  for (int i = 0; i < 2000; ++i) CHECK(json::parse(entries[i + 1].payload)["n"] == i);
}

TEST_CASE("ingress is committed in groups, not one transaction per write", "[client][unit]") {
  Harness h;
  Config c = h.config(false);
  c.commit_window_ms = 20;
  // Room for the whole burst: this test is about grouping, not the memory bound (under load the
  // store thread may lag the 5,000 appends by more than the default ingress_max_bytes).
  c.ingress_max_bytes = 64 << 20;
  auto client = h.open(c);
  for (int i = 0; i < 5000; ++i) REQUIRE(client->append("events", json{{"n", i}}).is_ok());
  REQUIRE(client->persist(10000).is_ok());
  const size_t commits = h.logger->count_containing("outbox: committed");
  CHECK(commits >= 1);
  CHECK(commits < 100);
}

TEST_CASE("close persists what was accepted and later calls say closed", "[client][unit]") {
  Harness h;
  auto client = h.open(h.config(false));
  for (int i = 0; i < 100; ++i) REQUIRE(client->append("events", json{{"n", i}}).is_ok());
  REQUIRE(client->close(10000).is_ok());
  CHECK(client->append("events", json{{"n", 1}}).code() == Code::kClosed);
  CHECK(h.queued().size() == 101);
}

TEST_CASE("a full ingress queue refuses the write without blocking", "[client][unit]") {
  Harness h;
  Config c = h.config(true);  // manual: nothing drains the queue until pump()
  c.ingress_capacity = 10;
  auto client = h.open(c);
  client->pump();
  int accepted = 0;
  experiture::Status last;
  for (int i = 0; i < 20; ++i) {
    last = client->append("events", json{{"n", i}});
    accepted += last.is_ok() ? 1 : 0;
  }
  CHECK(accepted == 10);
  CHECK(last.code() == Code::kQueueFull);
  CHECK(client->stats().dropped_queue_full == 10);
  client->pump();
  CHECK(client->append("events", json{{"n", 99}}).is_ok());
}

TEST_CASE("writes past ingress_max_bytes are refused without blocking and taken after persist",
          "[client][unit]") {
  Harness h;
  Config c = h.config(true);  // manual: nothing commits the queue until pump() or persist()
  c.ingress_max_bytes = 16 * 1024;
  auto client = h.open(c);
  client->pump();
  const size_t queued_before = h.queued().size();  // the anonymous profile's identity write
  const std::string record = json{{"note", std::string(1000, 'n')}}.dump();
  int accepted = 0;
  experiture::Status last;
  for (int i = 0; i < 100; ++i) {
    last = client->append("events", record);
    if (!last.is_ok()) break;
    ++accepted;
  }
  // About 1 KiB each: the queue holds a handful, far fewer than ingress_capacity (100,000).
  CHECK(accepted > 1);
  CHECK(accepted < 16);
  CHECK(last.code() == Code::kQueueFull);
  CHECK(client->stats().dropped_queue_full == 1);
  CHECK(client->stats().pending_durable == static_cast<uint64_t>(accepted));
  // What the docs tell the app to do: persist(), then the same write again.
  REQUIRE(client->persist(1000).is_ok());
  CHECK(client->append("events", record).is_ok());
  REQUIRE(client->persist(1000).is_ok());
  CHECK(h.queued().size() == queued_before + static_cast<size_t>(accepted) + 1);
}

TEST_CASE("an empty ingress queue takes a write heavier than ingress_max_bytes", "[client][unit]") {
  Harness h;
  Config c = h.config(true);
  c.ingress_max_bytes = 100;
  auto client = h.open(c);
  client->pump();
  CHECK(client->append("events", json{{"note", std::string(1000, 'n')}}).is_ok());
  CHECK(client->append("events", json{{"n", 1}}).code() == Code::kQueueFull);
  client->pump();
  CHECK(client->append("events", json{{"n", 1}}).is_ok());
}

TEST_CASE("first open creates a UUID v4 device_id that is stable across reopening",
          "[client][identity][unit]") {
  Harness h;
  std::string first;
  {
    auto client = h.open(h.config());
    first = client->device_id();
    CHECK(experiture::crypto::is_uuid_v4(first));
    REQUIRE(client->persist(5000).is_ok());
  }
  {
    auto client = h.open(h.config());
    CHECK(client->device_id() == first);
  }
  auto entries = h.queued();
  REQUIRE(entries.size() == 1);  // one anonymous profile, not one per open
  auto anon = json::parse(entries[0].payload);
  CHECK(entries[0].match_key == "device_id");
  CHECK(anon["device_id"] == first);
  CHECK(anon.contains("platform"));
  CHECK(anon.contains("sdk_version"));
  CHECK(std::regex_match(anon["last_seen_at"].get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST_CASE("an unchanged push token writes nothing", "[client][identity][unit]") {
  Harness h;
  auto client = h.open(h.config());
  REQUIRE(client->set_push_token("tok-1").is_ok());
  REQUIRE(client->set_push_token("tok-1").is_ok());
  REQUIRE(client->persist(5000).is_ok());
  client.reset();
  auto entries = h.queued();
  REQUIRE(entries.size() == 2);
  auto write = json::parse(entries[1].payload);
  CHECK(entries[1].match_key == "device_id");
  CHECK(write["push_token"] == "tok-1");
}

TEST_CASE(
    "login links the device: one write with device_id, push token and user keys, keyed by "
    "email",
    "[client][identity][unit]") {
  Harness h;
  std::string device;
  {
    auto client = h.open(h.config());
    device = client->device_id();
    REQUIRE(client->set_push_token("tok-1").is_ok());
    LoginInfo login;
    login.email = " Ann@Example.com";
    login.customer_id = "C-42";
    REQUIRE(client->login(login).is_ok());
    REQUIRE(client->persist(5000).is_ok());
  }
  auto entries = h.queued();
  REQUIRE(entries.size() == 3);
  const auto& link = entries[2];
  CHECK(link.match_key == "email");
  auto record = json::parse(link.payload);
  CHECK(record["email"] == "ann@example.com");
  CHECK(record["customer_id"] == "C-42");
  CHECK(record["device_id"] == device);
  CHECK(record["push_token"] == "tok-1");
  CHECK(link.flags & experiture::outbox::kEntryIdentity);
  // Identity state survives a restart: a later token change lands on the user's profile.
  auto client = h.open(h.config());
  REQUIRE(client->set_push_token("tok-2").is_ok());
  REQUIRE(client->persist(5000).is_ok());
  client.reset();
  entries = h.queued();
  CHECK(entries.back().match_key == "customer_id");
  CHECK(json::parse(entries.back().payload)["push_token"] == "tok-2");
}

TEST_CASE("logout clears the token on the user's profile and starts a new anonymous device",
          "[client][identity][unit]") {
  Harness h;
  auto client = h.open(h.config());
  const std::string device = client->device_id();
  REQUIRE(client->set_push_token("tok-1").is_ok());
  LoginInfo login;
  login.email = "ann@example.com";
  REQUIRE(client->login(login).is_ok());
  REQUIRE(client->logout().is_ok());
  CHECK(client->device_id() != device);
  CHECK(experiture::crypto::is_uuid_v4(client->device_id()));
  REQUIRE(client->persist(5000).is_ok());
  const std::string next = client->device_id();
  client.reset();
  auto entries = h.queued();
  REQUIRE(entries.size() == 5);
  const json cleared = json::parse(entries[3].payload);
  CHECK(entries[3].match_key == "email");
  CHECK(cleared.value("email", "") == "ann@example.com");
  REQUIRE(cleared.contains("push_token"));  // an explicit null clears the field on the server
  CHECK(cleared.at("push_token").is_null());
  auto anon = json::parse(entries[4].payload);
  CHECK(entries[4].match_key == "device_id");
  CHECK(anon["device_id"] == next);
  CHECK_FALSE(anon.contains("email"));
}

TEST_CASE("a login with the email as typed and one with its normal form are the same person",
          "[client][identity][unit]") {
  Harness h;
  auto client = h.open(h.config());
  const std::string device = client->device_id();
  REQUIRE(client->login(LoginInfo{"  Ann@Example.COM ", "", ""}).is_ok());
  REQUIRE(client->login(LoginInfo{"ann@example.com", "", ""}).is_ok());
  CHECK(client->device_id() == device);  // not logged out as another person
  REQUIRE(client->persist(5000).is_ok());
  client.reset();
  const auto entries = h.queued();
  REQUIRE(entries.size() == 3);  // the anonymous profile and the two logins, no logout writes
  for (size_t i = 1; i < entries.size(); ++i) {
    const json link = json::parse(entries[i].payload);
    CHECK(link.value("email", "") == "ann@example.com");
    CHECK(link.value("device_id", "") == device);
  }
}

TEST_CASE("logout behaviours are config switches", "[client][identity][unit]") {
  Harness h;
  Config c = h.config();
  c.logout_clears_push_token = false;
  c.logout_new_device_id = false;
  auto client = h.open(c);
  const std::string device = client->device_id();
  REQUIRE(client->set_push_token("tok-1").is_ok());
  REQUIRE(client->login(LoginInfo{"ann@example.com", "", ""}).is_ok());
  REQUIRE(client->logout().is_ok());
  CHECK(client->device_id() == device);
  REQUIRE(client->persist(5000).is_ok());
  client.reset();
  CHECK(h.queued().size() == 3);  // anonymous profile, token, login: nothing at logout
}

TEST_CASE("logging in as another person logs the first one out first", "[client][identity][unit]") {
  Harness h;
  auto client = h.open(h.config());
  const std::string device = client->device_id();
  REQUIRE(client->login(LoginInfo{"ann@example.com", "", ""}).is_ok());
  REQUIRE(client->login(LoginInfo{"bob@example.com", "", ""}).is_ok());
  CHECK(client->device_id() != device);
  REQUIRE(client->persist(5000).is_ok());
  client.reset();
  auto entries = h.queued();
  auto last = json::parse(entries.back().payload);
  CHECK(last["email"] == "bob@example.com");
  CHECK(last["device_id"] != device);
}

namespace {

// Records the region each phone number was normalised for; knows one British mobile number
// (in national and in E.164 form).
class RegionRecorder final : public experiture::platform::PhoneNormalizer {
 public:
  std::optional<std::string> to_e164(std::string_view raw,
                                     std::string_view default_region) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    regions_.emplace_back(default_region);
    if (raw == "07700 900123" && default_region == "GB") return std::string("+447700900123");
    if (raw == "+447700900123") return std::string(raw);  // already E.164
    return std::nullopt;
  }
  std::vector<std::string> regions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return regions_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::string> regions_;
};

}  // namespace

TEST_CASE("the configured default phone region reaches the phone normaliser",
          "[client][identity][unit]") {
  Harness h;
  auto recorder = std::make_shared<RegionRecorder>();
  Config c = h.config();
  c.default_phone_region = "GB";
  c.phone_normalizer = recorder;
  auto client = h.open(c);
  REQUIRE(client->upsert("profiles", json{{"phone", "07700 900123"}}, "phone").is_ok());
  REQUIRE(client->login(LoginInfo{"", "", "07700 900123"}).is_ok());
  REQUIRE(client->persist(5000).is_ok());
  const auto regions = recorder->regions();
  REQUIRE(regions.size() >= 2);
  for (const auto& region : regions) CHECK(region == "GB");
  client.reset();
  const auto entries = h.queued();
  REQUIRE(entries.size() == 3);
  CHECK(json::parse(entries[1].payload).value("phone", "") == "+447700900123");
  CHECK(json::parse(entries[2].payload).value("phone", "") == "+447700900123");
}

TEST_CASE("login with no key or a bad one is refused with the field named",
          "[client][identity][unit]") {
  Harness h;
  auto client = h.open(h.config());
  CHECK(client->login(LoginInfo{}).code() == Code::kInvalidArgument);
  auto bad = client->login(LoginInfo{"nope", "", ""});
  CHECK(bad.code() == Code::kInvalidEmail);
  CHECK(bad.message().find("email") != std::string::npos);
  CHECK(client->login(LoginInfo{"", "", "12"}).code() == Code::kInvalidPhone);
}

TEST_CASE("consent unknown buffers without sending, and granted sends", "[client][consent][unit]") {
  Harness h;
  h.http->set_responder(
      [](const experiture::platform::HttpRequest&) { return experiture::test::ok_response(); });
  Config c = h.config();
  c.initial_consent = Consent::kUnknown;
  auto client = h.open(c);
  REQUIRE(client->upsert("profiles", json{{"email", "a@b.co"}}, "email").is_ok());
  auto flushed = client->flush(2000);
  CHECK(flushed.code() == Code::kPaused);
  CHECK(flushed.message().find("consent") != std::string::npos);
  CHECK(h.http->request_count() == 0);
  REQUIRE(client->set_consent(Consent::kGranted).is_ok());
  REQUIRE(client->flush(5000).is_ok());
  CHECK(h.http->request_count() >= 1);
  CHECK(client->stats().queued_records == 0);
}

TEST_CASE("consent denied purges the queue, stops capture, and is remembered",
          "[client][consent][unit]") {
  Harness h;
  {
    auto client = h.open(h.config());
    for (int i = 0; i < 10; ++i) REQUIRE(client->append("events", json{{"n", i}}).is_ok());
    REQUIRE(client->set_consent(Consent::kDenied).is_ok());
    auto refused = client->append("events", json{{"n", 1}});
    CHECK(refused.code() == Code::kConsentDenied);
    REQUIRE(client->persist(5000).is_ok());
    CHECK(client->stats().queued_records == 0);
    CHECK(client->stats().dropped_consent == 11);
  }
  CHECK(h.queued().empty());
  auto client = h.open(h.config());
  CHECK(client->consent() == Consent::kDenied);
  CHECK(client->append("events", json{{"n", 1}}).code() == Code::kConsentDenied);
}

TEST_CASE("a corrupt outbox file is reported and replaced, and the client works",
          "[client][unit]") {
  Harness h;
  {
    std::FILE* f = std::fopen(h.dir.file("outbox.db").c_str(), "wb");
    REQUIRE(f != nullptr);
    std::string junk(8192, 'Z');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto client = h.open(h.config());
  CHECK(client->stats().last_error.find("moved to") != std::string::npos);
  CHECK(client->upsert("profiles", json{{"email", "a@b.co"}}, "email").is_ok());
  CHECK(client->persist(5000).is_ok());
}

TEST_CASE("every accepted write records wall-clock and monotonic capture times", "[client][unit]") {
  Harness h;
  auto client = h.open(h.config());
  h.clock->advance(1234);
  REQUIRE(client->append("events", json{{"n", 1}}).is_ok());
  REQUIRE(client->persist(5000).is_ok());
  client.reset();
  auto entries = h.queued();
  CHECK(entries.back().wall_ms == h.clock->wall_ms());
  CHECK(entries.back().mono_ms == h.clock->mono_ms());
}

TEST_CASE("stats report queued records, bytes and the age of the oldest", "[client][unit]") {
  Harness h;
  auto client = h.open(h.config());
  REQUIRE(client->append("events", json{{"n", 1}}).is_ok());
  client->pump();
  h.clock->advance(500);
  client->pump();
  auto s = client->stats();
  CHECK(s.queued_records == 2);
  CHECK(s.queued_bytes > 0);
  CHECK(s.oldest_queued_age_ms >= 500);
  CHECK(s.accepted == 2);
  CHECK(s.device_id == client->device_id());
}

TEST_CASE("a record can be passed as json, std::string or a C string", "[client][unit]") {
  Harness h;
  auto client = h.open(h.config());
  const std::string text = "{\"email\":\"s@example.com\"}";
  CHECK(client->upsert("profiles", text, "email").is_ok());
  CHECK(client->upsert("profiles", "{\"email\":\"c@example.com\"}", "email").is_ok());
  CHECK(client->upsert("profiles", json{{"email", "j@example.com"}}, "email").is_ok());
  CHECK(client->append("events", std::string("{\"event\":\"x\"}")).is_ok());
  CHECK(client->append("events", "{\"event\":\"y\"}").is_ok());
  CHECK(client->stats().accepted == 6);
}

TEST_CASE("a client can be opened with consent denied from the start", "[client][consent][unit]") {
  Harness h;
  Config c = h.config();
  c.initial_consent = Consent::kDenied;
  auto client = h.open(c);
  CHECK(experiture::crypto::is_uuid_v4(client->device_id()));
  CHECK(client->append("events", json{{"n", 1}}).code() == Code::kConsentDenied);
  REQUIRE(client->persist(5000).is_ok());
  client.reset();
  CHECK(h.queued().empty());
}

TEST_CASE("open refuses an unknown log_level, naming the field and the levels", "[client][unit]") {
  Harness h;
  Config c = h.config();
  c.logger = nullptr;
  c.log_level = "loud";
  auto opened = Client::open(c);
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == Code::kInvalidConfig);
  CHECK(opened.status().message().find("config.log_level: must be off, error, warn") !=
        std::string::npos);
  c.log_level = "off";
  CHECK(Client::open(c).is_ok());
}

namespace {

// Sends this process's stderr (fd 2) to a file while it lives; text() reads what was written.
class StderrCapture {
 public:
  explicit StderrCapture(std::string path) : path_(std::move(path)) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string text() {
    restore();
    std::ifstream file(path_);
    std::stringstream out;
    out << file.rdbuf();
    return out.str();
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  std::string path_;
  int saved_ = -1;
};

// What the built-in logger (no config.logger) writes to stderr while a delivery gets a 503.
std::string default_log_of_a_failed_delivery(const std::string& log_level) {
  Harness h;
  Config c = h.config();
  c.logger = nullptr;
  c.log_level = log_level;
  StderrCapture capture(h.dir.file("stderr.txt"));
  {
    auto client = h.open(c);
    client->on_background();
    client->pump();
    REQUIRE(h.http->release(experiture::test::status_response(503, "{}")));
    client->pump();
    REQUIRE(client->stats().consecutive_failures == 1);
    REQUIRE(client->close(1000).is_ok());
  }
  return capture.text();
}

}  // namespace

TEST_CASE("with no logger set, log_level off writes nothing even when EXPERITURE_LOG says debug",
          "[client][unit]") {
  ::setenv("EXPERITURE_LOG", "debug", 1);
  const std::string by_environment = default_log_of_a_failed_delivery("");
  const std::string off = default_log_of_a_failed_delivery("off");
  const std::string warn = default_log_of_a_failed_delivery("warn");
  ::unsetenv("EXPERITURE_LOG");
  INFO("EXPERITURE_LOG=debug:\n" << by_environment << "log_level warn:\n" << warn);
  CHECK(by_environment.find("experiture: warn: delivery failed: HTTP 503") != std::string::npos);
  CHECK(by_environment.find("experiture: debug: ") != std::string::npos);
  CHECK(by_environment.find("test-token") == std::string::npos);
  CHECK(warn.find("experiture: warn: delivery failed: HTTP 503") != std::string::npos);
  CHECK(warn.find("experiture: debug: ") == std::string::npos);
  CHECK(off.empty());
}

TEST_CASE("a storage error and a delivery error are reported apart", "[client][unit]") {
  Harness h;
  experiture::test::FaultyVfs vfs;
  Config c = h.config();
  c.sqlite_vfs = vfs.name();
  auto client = h.open(c);
  client->on_background();
  client->pump();
  REQUIRE(h.http->release(experiture::test::status_response(503, "{}")));
  client->pump();
  auto s = client->stats();
  CHECK(s.last_delivery_error.find("HTTP 503") != std::string::npos);
  CHECK(s.last_storage_error.empty());
  CHECK(s.consecutive_failures == 1);

  vfs.arm(experiture::test::FaultyVfs::Operation::kWrite, 0);  // the disk is full from now
  REQUIRE(client->upsert("profiles", R"({"email":"full@example.com"})", "email").is_ok());
  client->pump();
  s = client->stats();
  CHECK(s.last_storage_error.find("STORAGE") == 0);
  CHECK(s.last_storage_error_at_ms > 0);
  CHECK(s.last_delivery_error.find("HTTP 503") != std::string::npos);  // not overwritten
  vfs.disarm_all();
  client->pump();
  REQUIRE(client->close(1000).is_ok());
}
