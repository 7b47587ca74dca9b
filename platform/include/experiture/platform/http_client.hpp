// The asynchronous HTTP seam: the SDK hands a request in and gets exactly one completion back.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace experiture {
namespace platform {

using Headers = std::vector<std::pair<std::string, std::string>>;

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
  kConnect = 1,    // could not connect (refused, unreachable, DNS)
  kTimeout = 2,    // connect or total timeout
  kTls = 3,        // certificate verification or handshake failed
  kPinning = 4,    // the server's public key matched no pin
  kReset = 5,      // connection dropped mid-exchange (the write may have been applied)
  kCancelled = 6,  // cancel_all() or client shutdown
  kOther = 7,
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
