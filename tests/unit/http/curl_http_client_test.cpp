#include "curl_http_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "http_client_contract.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace {

using experiture::platform::CurlHttpClient;
using experiture::platform::HttpClientOptions;
using experiture::platform::HttpRequest;
using experiture::platform::TransportError;
using experiture::test::CompletionCollector;
using experiture::test::TempDir;

void run_shell(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A self-signed EC certificate for `subject_alt_name`, made with the openssl CLI in `dir`.
struct TestCertificate {
  std::string cert_path;
  std::string key_path;
  std::string pin;  // "sha256//<base64 of the SHA-256 of the DER public key>"

  TestCertificate(const TempDir& dir, const std::string& subject_alt_name) {
    cert_path = dir.file("cert.pem");
    key_path = dir.file("key.pem");
    run_shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        " -subj /CN=experiture-test -addext subjectAltName=" +
        subject_alt_name + " -keyout '" + key_path + "' -out '" + cert_path + "' 2>/dev/null");
    run_shell("openssl x509 -in '" + cert_path + "' -pubkey -noout | openssl pkey -pubin" +
              " -outform der | openssl dgst -sha256 -binary | openssl base64 -A > '" +
              dir.file("pin.txt") + "'");
    pin = "sha256//" + read_file(dir.file("pin.txt"));
  }
};

// `openssl s_server -www` on an ephemeral 127.0.0.1 port, stopped (by its pid) on destruction.
class TlsServer {
 public:
  explicit TlsServer(const TestCertificate& certificate) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<std::string> args = {
        "openssl", "s_server",           "-accept", "127.0.0.1:0", "-cert", certificate.cert_path,
        "-key",    certificate.key_path, "-www"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(&arg[0]);
    argv.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    output_fd_ = fds[0];
    if (rc != 0) throw std::runtime_error("cannot start openssl s_server");
    port_ = read_port();
  }

  ~TlsServer() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(output_fd_);
  }

  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  // s_server prints "ACCEPT 127.0.0.1:<port>" once it listens.
  int read_port() {
    std::string output;
    for (;;) {
      const size_t accept = output.find("ACCEPT ");
      if (accept != std::string::npos) {
        const size_t end = output.find('\n', accept);
        if (end != std::string::npos) {
          return std::stoi(output.substr(output.rfind(':', end) + 1));
        }
      }
      pollfd readable{output_fd_, POLLIN, 0};
      char chunk[256];
      if (::poll(&readable, 1, 20000) <= 0) throw std::runtime_error("s_server did not start");
      const ssize_t n = ::read(output_fd_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("s_server exited");
      output.append(chunk, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int output_fd_ = -1;
  int port_ = 0;
};

experiture::platform::HttpResponse get(const std::string& url, const HttpClientOptions& options) {
  CompletionCollector collector;
  {
    CurlHttpClient client(options);
    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.timeout_ms = 20000;
    client.send(request, collector.callback());
    REQUIRE(collector.wait_for(1));
  }
  return collector.responses().front().second;
}

}  // namespace

TEST_CASE("the curl client keeps the HttpClient contract", "[http][unit]") {
  experiture::test::run_http_client_contract(
      [] { return std::make_unique<CurlHttpClient>(HttpClientOptions()); });
}

TEST_CASE("the default factory gives a working curl client", "[http][unit]") {
  experiture::test::run_http_client_contract(
      [] { return experiture::platform::make_default_http_client(HttpClientOptions()); });
}

TEST_CASE("a self-signed server is rejected with kTls without a CA bundle", "[http][unit][tls]") {
  TempDir dir;
  TestCertificate certificate(dir, "IP:127.0.0.1");
  TlsServer server(certificate);
  const auto response = get(server.url(), HttpClientOptions());
  CHECK(response.error == TransportError::kTls);
  CHECK(response.status == 0);
  CHECK_FALSE(response.error_message.empty());
}

TEST_CASE("the CA bundle override makes the self-signed server trusted", "[http][unit][tls]") {
  TempDir dir;
  TestCertificate certificate(dir, "IP:127.0.0.1");
  TlsServer server(certificate);
  HttpClientOptions options;
  options.ca_bundle_path = certificate.cert_path;
  const auto response = get(server.url(), options);
  CHECK(response.error == TransportError::kNone);
  CHECK(response.status == 200);
}

TEST_CASE("a trusted certificate for another host name is rejected with kTls",
          "[http][unit][tls]") {
  TempDir dir;
  TestCertificate certificate(dir, "DNS:api.example.invalid");
  TlsServer server(certificate);
  HttpClientOptions options;
  options.ca_bundle_path = certificate.cert_path;
  const auto response = get(server.url(), options);
  CHECK(response.error == TransportError::kTls);
}

TEST_CASE("a pinned key that does not match is rejected with kPinning", "[http][unit][tls]") {
  TempDir dir;
  TestCertificate certificate(dir, "IP:127.0.0.1");
  TlsServer server(certificate);
  HttpClientOptions options;
  options.ca_bundle_path = certificate.cert_path;
  options.pinned_public_keys = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const auto response = get(server.url(), options);
  CHECK(response.error == TransportError::kPinning);
  CHECK(response.status == 0);
}

TEST_CASE("the server's pinned key is accepted, also among other pins", "[http][unit][tls]") {
  TempDir dir;
  TestCertificate certificate(dir, "IP:127.0.0.1");
  TlsServer server(certificate);
  HttpClientOptions options;
  options.ca_bundle_path = certificate.cert_path;
  options.pinned_public_keys =
      "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;" + certificate.pin;
  const auto response = get(server.url(), options);
  CHECK(response.error == TransportError::kNone);
  CHECK(response.status == 200);
}
