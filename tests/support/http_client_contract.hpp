// The contract every platform::HttpClient implementation must keep (see http_client.hpp),
// checked against a loopback HTTP/1.1 server that this file runs itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "experiture/platform/http_client.hpp"

namespace experiture {
namespace test {

using HttpClientFactory = std::function<std::unique_ptr<platform::HttpClient>()>;

// Runs every contract check as a Catch2 SECTION; call it from inside a TEST_CASE:
//   TEST_CASE("the curl client keeps the HttpClient contract", "[http][unit]") {
//     run_http_client_contract([] { return std::make_unique<CurlHttpClient>(options); });
//   }
// `make` is called once per section and must return a client that may talk plain HTTP to
// 127.0.0.1. Checks: byte-exact request bodies and headers (4-byte UTF-8 included), status, body
// and lower-cased response headers; exactly one completion per request under concurrency;
// connection refused -> kConnect; timeout -> kTimeout; server closing without an answer ->
// kReset; cancel_all() and the destructor complete in-flight requests with kCancelled; keep-alive
// reuses one connection; a completion may send() again; error_message never holds the token.
void run_http_client_contract(const HttpClientFactory& make);

// Collects completions for tests: hand out callback() per request, then wait for them.
// Safe to outlive or be outlived by the client (callbacks share its state).
class CompletionCollector {
 public:
  CompletionCollector();

  // A completion that records its response; `tag` identifies the request in responses().
  platform::HttpCompletion callback(int tag = 0);
  // Waits until at least `count` completions arrived or `timeout` passed; true if they did.
  bool wait_for(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for the first completion and returns it (nullopt after `timeout`).
  std::optional<platform::HttpResponse> wait_one(
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Every completion so far, in arrival order, with its tag.
  std::vector<std::pair<int, platform::HttpResponse>> responses() const;

 private:
  struct State {
    mutable std::mutex mutex;
    std::condition_variable arrived;
    std::vector<std::pair<int, platform::HttpResponse>> responses;
  };
  std::shared_ptr<State> state_;
};

}  // namespace test
}  // namespace experiture
