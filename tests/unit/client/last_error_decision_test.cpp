// A successful commit clears a last error that is a storage Status, decided on the Status code
// kept with it, never on its text: the stored diagnostics of an earlier process give errors
// whose words and codes disagree.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "experiture/client.hpp"
#include "fakes.hpp"
#include "outbox/outbox.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Config;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

// An outbox file whose kept storage diagnostics (diag.storage) are `diag`, as an earlier
// process left them.
void leave_diagnostics(const std::string& path, const char* key, const json& diag) {
  experiture::outbox::Outbox::Options options;
  options.path = path;
  auto outbox = experiture::outbox::Outbox::open(options, nullptr);
  REQUIRE(outbox.is_ok());
  std::vector<experiture::outbox::Entry> none;
  REQUIRE(outbox.value()->commit(none, {{key, diag.dump()}}).is_ok());
}

void leave_storage_diagnostics(const std::string& path, const json& diag) {
  leave_diagnostics(path, "diag.storage", diag);
}

std::unique_ptr<Client> open_client(const TempDir& dir) {
  Config c;
  c.storage_path = dir.file("outbox.db");
  c.endpoint = "https://api.example.test/public/v1";
  c.token = "test-token";
  c.manual_mode = true;
  c.clock = std::make_shared<experiture::test::FakeClock>();
  c.http = std::make_shared<experiture::test::FakeHttpClient>();
  c.logger = std::make_shared<experiture::test::CapturingLogger>();
  auto opened = Client::open(c);
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

void commit_one(Client& client) {
  REQUIRE(client.append("events", R"({"event":"x"})").is_ok());
  REQUIRE(client.pump().is_ok());
  REQUIRE(client.stats().pending_durable == 0);
}

}  // namespace

TEST_CASE("a storage error is cleared by the next commit whatever its message says",
          "[client][unit]") {
  TempDir dir;
  const std::string message =
      GENERATE(as<std::string>{}, "STORAGE_FULL: sqlite: database or disk is full",
               "the disk was full (no words SQLite would use)");
  leave_storage_diagnostics(dir.file("outbox.db"),
                            {{"error", message}, {"at_ms", 1000}, {"code", "STORAGE_FULL"}});
  auto client = open_client(dir);
  CHECK(client->stats().last_error == message);
  commit_one(*client);
  CHECK(client->stats().last_error.empty());
  CHECK(client->stats().last_storage_error == message);  // the history is kept
}

TEST_CASE("an error that is not a storage Status stays after a commit even when it reads like one",
          "[client][unit]") {
  TempDir dir;
  const std::string message =
      GENERATE(as<std::string>{}, "STORAGE_ERROR: reads like a storage status",
               "outbox file was damaged (page 3): moved aside");
  leave_storage_diagnostics(dir.file("outbox.db"), {{"error", message}, {"at_ms", 1000}});
  auto client = open_client(dir);
  CHECK(client->stats().last_error == message);
  commit_one(*client);
  CHECK(client->stats().last_error == message);
}

TEST_CASE("kept delivery diagnostics without an error time read as no error time (0)",
          "[client][unit]") {
  TempDir dir;
  // As kept by a process that never failed a delivery: counts, no error and no time for one.
  leave_diagnostics(dir.file("outbox.db"), "diag.delivery",
                    {{"consecutive_failures", 2}, {"dropped_queue_full", 5}});
  auto client = open_client(dir);
  CHECK(client->stats().consecutive_failures == 2);  // the record was read
  CHECK(client->stats().dropped_queue_full == 5);
  CHECK(client->stats().last_delivery_error.empty());
  CHECK(client->stats().last_delivery_error_at_ms == 0);
  CHECK(client->stats().last_success_at_ms == 0);  // nor a time of success
  CHECK(client->stats().next_attempt_at_ms == 0);
}
