// The asynchronous HTTP seam: the SDK hands a request in and gets exactly one completion back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace experiture {
namespace platform {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The most response body bytes any HttpClient keeps. The API's largest answer names each record
// of a 10,000-record batch with an error code and message (well under 800 bytes each), so a
// longer body is not an answer from the API (a hostile or broken network streaming without end):
// the exchange fails with TransportError::kOther and error_message says the cap was exceeded,
// never growing memory past it. The Java and Swift clients use the same number.
inline constexpr size_t kMaxResponseBodyBytes = size_t{8} << 20;  // 8 MiB
// The most response header bytes (all lines together) an HttpClient keeps; more is kOther too.
inline constexpr size_t kMaxResponseHeaderBytes = size_t{256} << 10;  // 256 KiB

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  Headers headers;
  std::string body;
  int64_t timeout_ms = 30000;  // total time for the exchange
};

// Why a request produced no HTTP status.
enum class TransportError : int {
  kNone = 0,       // an HTTP response arrived; see status
  kConnect = 1,    // could not connect (refused, unreachable)
  kTimeout = 2,    // connect or total timeout
  kTls = 3,        // certificate verification or handshake failed
  kPinning = 4,    // the server's public key matched no pin
  kReset = 5,      // connection dropped mid-exchange (the write may have been applied)
  kCancelled = 6,  // cancel_all() or client shutdown
  kOther = 7,
  kDns = 8,  // the host name did not resolve (DNS failure)
};

struct HttpResponse {
  int status = 0;   // 0 when error != kNone
  Headers headers;  // names lower-cased
  std::string body;
  TransportError error = TransportError::kNone;
  std::string error_message;  // transport detail; never contains the Authorization header

  // First header with this lower-case name, or "" when absent.
  std::string header(const std::string& lower_name) const {
    for (const auto& h : headers) {
      if (h.first == lower_name) return h.second;
    }
    return std::string();
  }
};

using HttpCompletion = std::function<void(HttpResponse)>;

// Contract (checked by tests/support/http_client_contract.hpp for every implementation):
// - send() never blocks on the network; it may be called from any thread.
// - Each send() leads to exactly one call of its completion, from any thread (possibly the
//   caller's, possibly before send() returns), including after cancel_all() (with kCancelled).
// - After the destructor returns no completion runs any more; the destructor cancels what is
//   in flight and waits for completions already running.
// - Response header names are lower-cased.
// - A body longer than kMaxResponseBodyBytes (or headers past kMaxResponseHeaderBytes) completes
//   with kOther; the client stops reading there. No allocation failure escapes as an exception:
//   it completes the request with kOther ("out of memory").
class HttpClient {
 public:
  HttpClient() = default;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  virtual ~HttpClient() = default;

  virtual void send(HttpRequest request, HttpCompletion completion) = 0;
  // Completes every request in flight with TransportError::kCancelled.
  virtual void cancel_all() = 0;
};

}  // namespace platform
}  // namespace experiture
