// HttpClient over libcurl: one worker thread drives a curl multi handle for every request.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "experiture/platform/backends.hpp"
#include "experiture/platform/http_client.hpp"

namespace experiture {
namespace platform {

// Asynchronous HTTP/1.1 (and HTTP/2 where libcurl negotiates it) over libcurl's multi interface.
// - One worker thread runs every transfer; connections are kept alive and reused across requests
//   through the multi handle's connection cache.
// - TLS 1.2 or later; peer and host verification are always on, with no way to turn them off.
//   options.ca_bundle_path replaces the system CA store; options.pinned_public_keys
//   ("sha256//<base64>;...") pins the server key (a mismatch completes with kPinning, every other
//   TLS failure with kTls). options.proxy "" means no proxy, also ignoring *_proxy variables.
// - HttpRequest::timeout_ms bounds the whole exchange, options.connect_timeout_ms the connect.
// - Completions run on the worker thread with no lock of the client held; they may call send()
//   and cancel_all() again. A completion must not destroy the client that runs it. Once the
//   destructor has begun, send() completes at once, on the caller's thread, with kCancelled.
// - error_message carries libcurl's description; it never contains request headers.
// - A response body past kMaxResponseBodyBytes or headers past kMaxResponseHeaderBytes stop the
//   transfer there and complete it with kOther; an allocation failure completes it with kOther
//   too. No exception leaves a libcurl callback or the worker thread.
// Thread-safety: send() and cancel_all() may be called from any thread; neither waits on the
// network.
class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(HttpClientOptions options);
  // Completes every request not yet completed with kCancelled, waits for completions already
  // running, then returns. No completion runs after it returns.
  ~CurlHttpClient() override;

  void send(HttpRequest request, HttpCompletion completion) override;
  // Completes every request sent before this call and not yet completed with kCancelled (on the
  // worker thread, shortly after; does not wait). Requests sent afterwards are unaffected.
  void cancel_all() override;

 private:
  struct Transfer;

  // libcurl's body and header callbacks (user = the Transfer); they enforce the size caps.
  static size_t on_body(char* data, size_t size, size_t count, void* user) noexcept;
  static size_t on_header(char* data, size_t size, size_t count, void* user) noexcept;
  void run();
  bool start(Transfer& transfer);
  bool start_guarded(Transfer& transfer);
  void finish_done_transfers();
  static void complete(std::unique_ptr<Transfer> transfer);

  const HttpClientOptions options_;
  void* multi_ = nullptr;  // CURLM*; created in the constructor, used by the worker only
                           // (curl_multi_wakeup excepted, which is thread-safe)

  std::mutex mutex_;
  std::deque<std::unique_ptr<Transfer>> submitted_;  // guarded by mutex_
  uint64_t cancel_generation_ = 0;                   // guarded by mutex_
  bool stopping_ = false;                            // guarded by mutex_
  // The worker sleeps here, not in curl_multi_poll, while nothing is in flight: an idle client
  // never wakes up (no polling loop).
  std::condition_variable idle_cv_;

  std::deque<std::unique_ptr<Transfer>> active_;  // worker thread only
  std::thread worker_;
};

}  // namespace platform
}  // namespace experiture
