#include "http_client_contract.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <catch2/catch.hpp>

namespace experiture {
namespace test {
namespace {

using platform::HttpRequest;
using platform::HttpResponse;
using platform::TransportError;

struct ReceivedRequest {
  std::string method;
  std::string target;
  platform::Headers headers;  // names exactly as received
  std::string body;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A minimal HTTP/1.1 server on 127.0.0.1 with keep-alive, one thread per connection. Routes:
//   /echo        200 with the request body, plus "X-Mixed-Case: Mixed Value"
//   /status/<n>  status n with body "status <n>"
//   /hang        never answers; the connection is held until the server stops
//   /close       closes the connection without answering
// Written on raw sockets (no test-only library to link) so that connections can be counted and
// closed exactly.
class LoopbackHttpServer {
 public:
  LoopbackHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("loopback server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~LoopbackHttpServer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    changed_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept() on Linux
    acceptor_.join();
    for (auto& thread : threads_) thread.join();  // the acceptor no longer adds any
    for (int fd : connection_fds_) ::close(fd);
    ::close(listen_fd_);
  }

  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  size_t connections() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return connection_fds_.size();
  }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  // Waits until `count` requests to /hang are being held.
  bool wait_for_held(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return held_ >= count; });
  }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      connection_fds_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string buffer;
    ReceivedRequest request;
    while (read_request(fd, buffer, request)) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
      }
      const std::string& target = request.target;
      if (target == "/echo") {
        respond(fd, 200, request.body);
      } else if (target.compare(0, 8, "/status/") == 0) {
        respond(fd, std::stoi(target.substr(8)), "status " + target.substr(8));
      } else if (target == "/hang") {
        std::unique_lock<std::mutex> lock(mutex_);
        ++held_;
        changed_.notify_all();
        changed_.wait(lock, [&] { return stopping_; });
        return;
      } else if (target == "/close") {
        ::shutdown(fd, SHUT_RDWR);  // the fd itself is closed by the destructor
        return;
      } else {
        respond(fd, 404, "no such route");
      }
    }
  }

  // Reads one request (Content-Length bodies only) from `fd`; bytes past it stay in `buffer`.
  static bool read_request(int fd, std::string& buffer, ReceivedRequest& request) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more(fd, buffer)) return false;
    }
    request = ReceivedRequest();
    const std::string head = buffer.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const size_t space1 = request_line.find(' ');
    const size_t space2 = request_line.find(' ', space1 + 1);
    request.method = request_line.substr(0, space1);
    request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
    size_t content_length = 0;
    while (line_end != std::string::npos && line_end < head.size()) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line =
          head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      const size_t first = line.find_first_not_of(' ', colon + 1);
      std::string value = first == std::string::npos ? "" : line.substr(first);
      while (!value.empty() && value.back() == ' ') value.pop_back();
      if (lower(line.substr(0, colon)) == "content-length") content_length = std::stoul(value);
      request.headers.emplace_back(line.substr(0, colon), std::move(value));
    }
    buffer.erase(0, head_end + 4);
    while (buffer.size() < content_length) {
      if (!read_more(fd, buffer)) return false;
    }
    request.body = buffer.substr(0, content_length);
    buffer.erase(0, content_length);
    return true;
  }

  static bool read_more(int fd, std::string& buffer) {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }

  static void respond(int fd, int status, const std::string& body) {
    std::string response = "HTTP/1.1 " + std::to_string(status) + " Status\r\n" +
                           "Content-Length: " + std::to_string(body.size()) + "\r\n" +
                           "Content-Type: application/octet-stream\r\n" +
                           "X-Mixed-Case: Mixed Value\r\n\r\n" + body;
    size_t sent = 0;
    while (sent < response.size()) {
      const ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;                  // guarded by mutex_
  size_t held_ = 0;                        // guarded by mutex_
  std::vector<int> connection_fds_;        // guarded by mutex_; closed by the destructor only
  std::vector<ReceivedRequest> requests_;  // guarded by mutex_
  std::vector<std::thread> threads_;       // the acceptor thread only, then the destructor
  std::thread acceptor_;
};

// A port on 127.0.0.1 that refuses connections: bound, never listening, held for the test.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot bind a port on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/echo"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

HttpRequest post(const std::string& url, std::string body = "{}", int64_t timeout_ms = 20000) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::move(body);
  request.timeout_ms = timeout_ms;
  return request;
}

std::string header_named(const platform::Headers& headers, const std::string& name) {
  for (const auto& header : headers) {
    if (header.first == name) return header.second;
  }
  return "<absent>";
}

}  // namespace

CompletionCollector::CompletionCollector() : state_(std::make_shared<State>()) {}

platform::HttpCompletion CompletionCollector::callback(int tag) {
  std::shared_ptr<State> state = state_;
  return [state, tag](HttpResponse response) {
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->responses.emplace_back(tag, std::move(response));
    }
    state->arrived.notify_all();
  };
}

bool CompletionCollector::wait_for(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->arrived.wait_for(lock, timeout, [&] { return state_->responses.size() >= count; });
}

std::optional<HttpResponse> CompletionCollector::wait_one(std::chrono::milliseconds timeout) {
  if (!wait_for(1, timeout)) return std::nullopt;
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->responses.front().second;
}

std::vector<std::pair<int, HttpResponse>> CompletionCollector::responses() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->responses;
}

void run_http_client_contract(const HttpClientFactory& make) {
  LoopbackHttpServer server;
  CompletionCollector collector;
  std::unique_ptr<platform::HttpClient> client = make();
  REQUIRE(client != nullptr);

  SECTION("a POST arrives byte-exact and status, body and lower-cased headers come back") {
    // Multi-byte and 4-byte UTF-8 (emoji), a NUL and CR/LF inside the body.
    const std::string body = std::string("{\"name\":\"Zo\xC3\xAB \xF0\x9F\x98\x80\",\"raw\":\"") +
                             std::string(1, '\0') + "\r\n\"}";
    HttpRequest request = post(server.url("/echo"), body);
    request.headers = {{"Content-Type", "application/json; charset=utf-8"},
                       {"Authorization", "Bearer t0ken"},
                       {"Idempotency-Key", "6f1c2b9e-0d1a-4c55-9f3e-2b7d8e1a4c00"},
                       {"X-Note", "caf\xC3\xA9 \xF0\x9F\x9A\x80"}};
    client->send(request, collector.callback());
    const auto response = collector.wait_one();
    REQUIRE(response.has_value());
    CHECK(response->error == TransportError::kNone);
    CHECK(response->status == 200);
    CHECK(response->body == body);
    CHECK(response->header("x-mixed-case") == "Mixed Value");
    CHECK(response->header("content-length") == std::to_string(body.size()));
    for (const auto& header : response->headers) CHECK(header.first == lower(header.first));

    const auto received = server.requests();
    REQUIRE(received.size() == 1);
    CHECK(received[0].method == "POST");
    CHECK(received[0].target == "/echo");
    CHECK(received[0].body == body);
    for (const auto& header : request.headers) {
      CHECK(header_named(received[0].headers, header.first) == header.second);
    }
  }

  SECTION("an error status is a response, not a transport error") {
    client->send(post(server.url("/status/503")), collector.callback());
    const auto response = collector.wait_one();
    REQUIRE(response.has_value());
    CHECK(response->error == TransportError::kNone);
    CHECK(response->status == 503);
    CHECK(response->body == "status 503");
  }

  SECTION("many concurrent requests each complete exactly once with their own response") {
    constexpr int kRequests = 40;
    for (int i = 0; i < kRequests; ++i) {
      client->send(post(server.url("/echo"), "request " + std::to_string(i)),
                   collector.callback(i));
    }
    REQUIRE(collector.wait_for(kRequests));
    client.reset();  // nothing more may arrive, also not during shutdown
    std::map<int, int> completions;
    for (const auto& entry : collector.responses()) {
      ++completions[entry.first];
      CHECK(entry.second.status == 200);
      CHECK(entry.second.body == "request " + std::to_string(entry.first));
    }
    CHECK(completions.size() == static_cast<size_t>(kRequests));
    for (const auto& entry : completions) CHECK(entry.second == 1);
  }

  SECTION("connection refused is kConnect and the error never shows the token") {
    RefusingPort refusing;
    HttpRequest request = post(refusing.url());
    request.headers.emplace_back("Authorization", "Bearer secret-token-4711");
    client->send(request, collector.callback());
    const auto response = collector.wait_one();
    REQUIRE(response.has_value());
    CHECK(response->error == TransportError::kConnect);
    CHECK(response->status == 0);
    CHECK(response->error_message.find("secret-token-4711") == std::string::npos);
  }

  SECTION("a server slower than timeout_ms is kTimeout") {
    client->send(post(server.url("/hang"), "{}", 300), collector.callback());
    const auto response = collector.wait_one();
    REQUIRE(response.has_value());
    CHECK(response->error == TransportError::kTimeout);
    CHECK(response->status == 0);
  }

  SECTION("a connection closed without a response is kReset") {
    client->send(post(server.url("/close")), collector.callback());
    const auto response = collector.wait_one();
    REQUIRE(response.has_value());
    CHECK(response->error == TransportError::kReset);
    CHECK(response->status == 0);
  }

  SECTION("cancel_all completes in-flight requests with kCancelled and later ones still work") {
    for (int i = 0; i < 3; ++i) client->send(post(server.url("/hang")), collector.callback(i));
    REQUIRE(server.wait_for_held(3));
    client->cancel_all();
    REQUIRE(collector.wait_for(3));
    for (const auto& entry : collector.responses()) {
      CHECK(entry.second.error == TransportError::kCancelled);
    }
    client->send(post(server.url("/echo"), "after"), collector.callback(99));
    REQUIRE(collector.wait_for(4));
    const auto last = collector.responses().back();
    CHECK(last.first == 99);
    CHECK(last.second.status == 200);
    CHECK(last.second.body == "after");
  }

  SECTION("the destructor completes in-flight requests with kCancelled before it returns") {
    for (int i = 0; i < 3; ++i) client->send(post(server.url("/hang")), collector.callback(i));
    REQUIRE(server.wait_for_held(3));
    client.reset();
    const auto responses = collector.responses();
    REQUIRE(responses.size() == 3);
    for (const auto& entry : responses) CHECK(entry.second.error == TransportError::kCancelled);
  }

  SECTION("sequential requests reuse one kept-alive connection") {
    for (int i = 0; i < 3; ++i) {
      client->send(post(server.url("/echo"), "keep " + std::to_string(i)), collector.callback(i));
      REQUIRE(collector.wait_for(static_cast<size_t>(i + 1)));
    }
    for (const auto& entry : collector.responses()) CHECK(entry.second.status == 200);
    CHECK(server.connections() == 1);
  }

  SECTION("a completion may send the next request") {
    platform::HttpClient* raw = client.get();
    const std::string second_url = server.url("/echo");
    platform::HttpCompletion second = collector.callback(2);
    platform::HttpCompletion first = collector.callback(1);
    client->send(post(server.url("/echo"), "first"),
                 [raw, second_url, first, second](HttpResponse response) {
                   raw->send(post(second_url, "second"), second);
                   first(std::move(response));
                 });
    REQUIRE(collector.wait_for(2));
    const auto responses = collector.responses();
    CHECK(responses[0].first == 1);
    CHECK(responses[0].second.body == "first");
    CHECK(responses[1].first == 2);
    CHECK(responses[1].second.body == "second");
  }
}

}  // namespace test
}  // namespace experiture
