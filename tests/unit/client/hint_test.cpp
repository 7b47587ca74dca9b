// Client hints: on_background() asks for a flush (hint with flush = true), on_foreground() only
// wakes the store thread (flush = false). Manual mode, fake clock and transport: no waiting.
#include <catch2/catch.hpp>

#include "experiture/client.hpp"
#include "fakes.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Config;
using experiture::test::TempDir;

TEST_CASE("on_background sends a partial batch at once and on_foreground does not",
          "[client][unit]") {
  TempDir dir;
  auto http = std::make_shared<experiture::test::FakeHttpClient>();
  Config c;
  c.storage_path = dir.file("outbox.db");
  c.endpoint = "https://api.example.test/public/v1";
  c.token = "test-token";
  c.manual_mode = true;
  c.flush_interval_ms = 60000;
  c.clock = std::make_shared<experiture::test::FakeClock>();
  c.http = http;
  c.logger = std::make_shared<experiture::test::CapturingLogger>();
  auto opened = Client::open(c);
  REQUIRE(opened.is_ok());
  std::unique_ptr<Client> client = std::move(opened).value();
  REQUIRE(client->append("events", R"({"event":"x"})").is_ok());
  REQUIRE(client->pump().is_ok());
  REQUIRE(client->stats().queued_records == 2);  // the anonymous profile and the event
  CHECK(http->request_count() == 0);             // a partial batch waits for the interval
  client->on_foreground();
  REQUIRE(client->pump().is_ok());
  CHECK(http->request_count() == 0);
  client->on_background();
  REQUIRE(client->pump().is_ok());
  CHECK(http->request_count() == 1);
}
