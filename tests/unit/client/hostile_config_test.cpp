// Client::open() against misconfiguration that would expose data or fail only later: cleartext
// to a far host, a record cap past the API's body limit, a missing CA file, a malformed pin.
#include <catch2/catch.hpp>

#include <fstream>

#include "client/config_checks.hpp"
#include "experiture/client.hpp"
#include "fakes.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::test::TempDir;

namespace {

Config base_config(const TempDir& dir) {
  Config c;
  c.storage_path = dir.file("outbox.db");
  c.token = "test-token";
  c.manual_mode = true;
  c.http = std::make_shared<experiture::test::FakeHttpClient>();
  return c;
}

// The status of Client::open(c): OK when it opened.
experiture::Status open_status(const Config& c) {
  auto opened = Client::open(c);
  return opened.is_ok() ? experiture::Status::ok() : opened.status();
}

}  // namespace

TEST_CASE("cleartext http to a host other than loopback is refused naming endpoint",
          "[client][unit][hostile]") {
  TempDir dir;
  Config c = base_config(dir);
  const std::string endpoint =
      GENERATE("http://203.0.113.7/public/v1", "http://api.experiture.ai/public/v1",
               "http://127.0.0.1.example.com/public/v1", "http://user@10.0.0.1:8080/public/v1",
               "HTTP://api.experiture.ai/public/v1", "http://[2001:db8::1]:80/public/v1",
               "ftp://x/y", "http:///public/v1");
  c.endpoint = endpoint;
  const auto status = open_status(c);
  INFO(endpoint << " -> " << status.to_string());
  CHECK(status.code() == Code::kInvalidConfig);
  CHECK(status.message().find("endpoint") != std::string::npos);
}

TEST_CASE("http to a loopback host and https to any host are accepted", "[client][unit][hostile]") {
  TempDir dir;
  Config c = base_config(dir);
  const std::string endpoint = GENERATE(
      "http://127.0.0.1:8080/public/v1", "http://127.1.2.3/public/v1",
      "http://localhost:9/public/v1", "http://LOCALHOST/public/v1", "http://[::1]:9/public/v1",
      "https://api.experiture.ai/public/v1", "https://203.0.113.7/public/v1");
  c.endpoint = endpoint;
  const auto status = open_status(c);
  INFO(endpoint << " -> " << status.to_string());
  CHECK(status.is_ok());
}

TEST_CASE("the loudly named opt-in allows cleartext to any host", "[client][unit][hostile]") {
  TempDir dir;
  Config c = base_config(dir);
  c.endpoint = "http://203.0.113.7/public/v1";
  c.allow_insecure_http_for_testing = true;
  CHECK(open_status(c).is_ok());
}

TEST_CASE("url_host and is_loopback_host read hosts as a URL parser does",
          "[client][unit][hostile]") {
  using experiture::client::is_loopback_host;
  using experiture::client::url_host;
  CHECK(url_host("http://a.b:80/x") == "a.b");
  CHECK(url_host("http://u:p@127.0.0.1/x") == "127.0.0.1");
  CHECK(url_host("http://127.0.0.1@evil.example/x") == "evil.example");
  CHECK(url_host("http://[::1]:9/x") == "[::1]");
  CHECK(url_host("http://h?q") == "h");
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.255.255.254"));
  CHECK_FALSE(is_loopback_host("127.0.0"));
  CHECK_FALSE(is_loopback_host("127.0.0.256"));
  CHECK_FALSE(is_loopback_host("127.0.0.1.5"));
  CHECK_FALSE(is_loopback_host("0127.0.0.1"));
  CHECK_FALSE(is_loopback_host("128.0.0.1"));
  CHECK_FALSE(is_loopback_host("localhost.example.com"));
  CHECK_FALSE(is_loopback_host(""));
}

TEST_CASE("max_record_bytes above what one API request can carry is refused",
          "[client][unit][hostile]") {
  TempDir dir;
  Config c = base_config(dir);
  c.endpoint = "http://127.0.0.1:9/public/v1";
  c.max_record_bytes = 50u * 1000 * 1000;
  auto status = open_status(c);
  CHECK(status.code() == Code::kInvalidConfig);
  CHECK(status.message().find("max_record_bytes") != std::string::npos);
  CHECK(status.message().find(std::to_string(experiture::kMaxRecordBytesLimit)) !=
        std::string::npos);
  c.max_record_bytes = experiture::kMaxRecordBytesLimit;
  CHECK(open_status(c).is_ok());
}

TEST_CASE("batch_size outside 1 to 10000 is refused naming the field", "[client][unit][hostile]") {
  TempDir dir;
  Config c = base_config(dir);
  c.endpoint = "http://127.0.0.1:9/public/v1";
  const size_t size = GENERATE(size_t{0}, size_t{10001});
  c.batch_size = size;
  auto status = open_status(c);
  INFO(size << " -> " << status.to_string());
  CHECK(status.code() == Code::kInvalidConfig);
  CHECK(status.message().find("batch_size") != std::string::npos);
  c.batch_size = size == 0 ? 1 : 10000;  // the bounds themselves are allowed
  CHECK(open_status(c).is_ok());
}

TEST_CASE("a missing CA file is refused at open naming the option", "[client][unit][hostile]") {
  TempDir dir;
  Config c = base_config(dir);
  c.endpoint = "https://127.0.0.1:9/public/v1";
  c.tls.ca_bundle_path = dir.file("no-such-ca.pem");
  auto status = open_status(c);
  CHECK(status.code() == Code::kInvalidConfig);
  CHECK(status.message().find("tls.ca_bundle_path") != std::string::npos);
  std::ofstream(dir.file("ca.pem")) << "-----BEGIN CERTIFICATE-----\n";
  c.tls.ca_bundle_path = dir.file("ca.pem");
  CHECK(open_status(c).is_ok());
}

TEST_CASE("a malformed pin is refused at open naming the option", "[client][unit][hostile]") {
  TempDir dir;
  Config c = base_config(dir);
  c.endpoint = "https://127.0.0.1:9/public/v1";
  const std::string good = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const std::string pins = GENERATE_COPY(
      std::string("sha256//short="), std::string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
      std::string("sha1//AAAAAAAAAAAAAAAAAAAAAAAAAAAA"), good + ";nonsense", good + ";",
      std::string("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*A="),
      std::string("sha384//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));  // another hash
  c.tls.pinned_public_keys = pins;
  auto status = open_status(c);
  INFO(pins << " -> " << status.to_string());
  CHECK(status.code() == Code::kInvalidConfig);
  CHECK(status.message().find("tls.pinned_public_keys") != std::string::npos);
  c.tls.pinned_public_keys = good + "; " + good;
  CHECK(open_status(c).is_ok());
}
