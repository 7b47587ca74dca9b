#include "curl_http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "curl_transport_error.hpp"

namespace experiture {
namespace platform {
namespace {

constexpr int kMaxPollWaitMs = 1000;

CURLM* as_multi(void* multi) {
  return static_cast<CURLM*>(multi);
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool equals_ignore_case(const std::string& a, const char* b) {
  std::string lower = a;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == b;
}

}  // namespace

struct CurlHttpClient::Transfer {
  HttpRequest request;
  HttpCompletion completion;
  uint64_t generation = 0;
  CURL* easy = nullptr;
  CURLM* multi = nullptr;  // set while the easy handle is added to it
  curl_slist* header_list = nullptr;
  HttpResponse response;
  size_t header_bytes = 0;
  // Set by the body or header callback when it stopped the transfer: why, for error_message.
  const char* abort_reason = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (multi != nullptr) curl_multi_remove_handle(multi, easy);
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(header_list);
  }

  void fail(TransportError error, std::string message) {
    response = HttpResponse();
    response.error = error;
    response.error_message = std::move(message);
  }
};

namespace {

constexpr const char* kBodyTooLarge =
    "response body exceeds 8 MiB (kMaxResponseBodyBytes): not an answer the API sends";
constexpr const char* kHeadersTooLarge =
    "response headers exceed 256 KiB (kMaxResponseHeaderBytes): not an answer the API sends";
constexpr const char* kOutOfMemory = "out of memory while reading the response";

}  // namespace

// libcurl calls these from C: no exception may leave them. Returning a count other than the one
// given stops the transfer (CURLE_WRITE_ERROR), which finish_done_transfers() reports through
// abort_reason.

size_t CurlHttpClient::on_body(char* data, size_t size, size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string& body = transfer->response.body;
  if (n > kMaxResponseBodyBytes - body.size()) {
    transfer->abort_reason = kBodyTooLarge;
    return 0;
  }
  try {
    body.append(data, n);
  } catch (...) {
    transfer->abort_reason = kOutOfMemory;
    return 0;
  }
  return n;
}

// Called once per header line, status lines included. A new status line (after 1xx responses)
// starts the header list afresh so only the final response's headers are kept.
size_t CurlHttpClient::on_header(char* data, size_t size, size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  HttpResponse* response = &transfer->response;
  const size_t n = size * count;
  transfer->header_bytes += n;
  if (transfer->header_bytes > kMaxResponseHeaderBytes) {
    transfer->abort_reason = kHeadersTooLarge;
    return 0;
  }
  try {
    std::string line(data, n);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.compare(0, 5, "HTTP/") == 0) {
      response->headers.clear();
      return n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) return n;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const size_t first = line.find_first_not_of(" \t", colon + 1);
    const size_t last = line.find_last_not_of(" \t");
    std::string value = first == std::string::npos ? "" : line.substr(first, last - first + 1);
    response->headers.emplace_back(std::move(name), std::move(value));
  } catch (...) {
    transfer->abort_reason = kOutOfMemory;
    return 0;
  }
  return n;
}

CurlHttpClient::CurlHttpClient(HttpClientOptions options) : options_(std::move(options)) {
  init_curl_once();
  multi_ = curl_multi_init();
  if (multi_ != nullptr) worker_ = std::thread([this] { run(); });
}

CurlHttpClient::~CurlHttpClient() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    if (multi_ != nullptr) curl_multi_wakeup(as_multi(multi_));
  }
  idle_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  active_.clear();
  if (multi_ != nullptr) curl_multi_cleanup(as_multi(multi_));
}

void CurlHttpClient::send(HttpRequest request, HttpCompletion completion) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->completion = std::move(completion);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && multi_ != nullptr) {
      transfer->generation = cancel_generation_;
      submitted_.push_back(std::move(transfer));
      // Thread-safe; wakes curl_multi_poll now or makes the next one return at once, so a
      // request submitted while the worker is between polls is never left waiting.
      curl_multi_wakeup(as_multi(multi_));
    }
  }
  if (!transfer) {
    idle_cv_.notify_one();
    return;
  }
  if (multi_ == nullptr) {
    transfer->fail(TransportError::kOther, "curl_multi_init failed");
  } else {
    transfer->fail(TransportError::kCancelled, "client is shutting down");
  }
  complete(std::move(transfer));
}

void CurlHttpClient::cancel_all() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++cancel_generation_;
    if (multi_ != nullptr) curl_multi_wakeup(as_multi(multi_));
  }
  idle_cv_.notify_one();
}

void CurlHttpClient::run() {
  for (;;) {
    std::deque<std::unique_ptr<Transfer>> incoming;
    uint64_t cancel_generation = 0;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (active_.empty()) {
        idle_cv_.wait(lock, [this] { return stopping_ || !submitted_.empty(); });
      }
      incoming.swap(submitted_);
      cancel_generation = cancel_generation_;
      stopping = stopping_;
    }

    // Cancelled transfers are completed after the easy handle left the multi (in ~Transfer),
    // so a completion never races libcurl for the same transfer.
    std::vector<std::unique_ptr<Transfer>> finished;
    auto cancelled = [&](const std::unique_ptr<Transfer>& t) {
      return stopping || t->generation < cancel_generation;
    };
    for (auto& transfer : incoming) {
      if (cancelled(transfer)) {
        transfer->fail(TransportError::kCancelled, "request cancelled");
        finished.push_back(std::move(transfer));
      } else if (!start_guarded(*transfer)) {
        finished.push_back(std::move(transfer));
      } else {
        active_.push_back(std::move(transfer));
      }
    }
    for (auto it = active_.begin(); it != active_.end();) {
      if (cancelled(*it)) {
        (*it)->fail(TransportError::kCancelled, "request cancelled");
        finished.push_back(std::move(*it));
        it = active_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& transfer : finished) complete(std::move(transfer));
    // Once stopping_ is seen, send() completes new requests itself: nothing more can arrive.
    if (stopping) return;

    int running = 0;
    curl_multi_perform(as_multi(multi_), &running);
    finish_done_transfers();
    // Nothing in flight: sleep on idle_cv_ at the top of the loop, not in a timed poll.
    if (active_.empty()) continue;
    curl_multi_poll(as_multi(multi_), nullptr, 0, kMaxPollWaitMs, nullptr);
  }
}

bool CurlHttpClient::start_guarded(Transfer& transfer) {
  try {
    return start(transfer);
  } catch (...) {
    // An allocation failure while setting up: the request still completes exactly once.
    // "out of memory" fits std::string's inline buffer, so failing allocates nothing.
    transfer.fail(TransportError::kOther, "out of memory");
    return false;
  }
}

bool CurlHttpClient::start(Transfer& transfer) {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    transfer.fail(TransportError::kOther, "curl_easy_init failed");
    return false;
  }
  transfer.easy = easy;
  const HttpRequest& request = transfer.request;

  bool has_content_type = false;
  bool has_expect = false;
  for (const auto& header : request.headers) {
    has_content_type = has_content_type || equals_ignore_case(header.first, "content-type");
    has_expect = has_expect || equals_ignore_case(header.first, "expect");
    // "Name;" is libcurl's spelling of a header with an empty value.
    const std::string line =
        header.second.empty() ? header.first + ";" : header.first + ": " + header.second;
    transfer.header_list = curl_slist_append(transfer.header_list, line.c_str());
  }
  // Send exactly the caller's headers: no form Content-Type, no 100-continue round trip.
  if (!has_content_type)
    transfer.header_list = curl_slist_append(transfer.header_list, "Content-Type:");
  if (!has_expect) transfer.header_list = curl_slist_append(transfer.header_list, "Expect:");

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  if (request.method == "GET" && request.body.empty()) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST")
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.header_list);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (request.timeout_ms > 0)
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  if (options_.connect_timeout_ms > 0) {
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_ms));
  }

  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_bundle_path.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);  // the bundle replaces the system store
  }
  if (!options_.pinned_public_keys.empty()) {
    curl_easy_setopt(easy, CURLOPT_PINNEDPUBLICKEY, options_.pinned_public_keys.c_str());
  }
  // "" disables proxies, including the ones named by environment variables.
  curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy.c_str());

  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer);

  if (curl_multi_add_handle(as_multi(multi_), easy) != CURLM_OK) {
    transfer.fail(TransportError::kOther, "curl_multi_add_handle failed");
    return false;
  }
  transfer.multi = as_multi(multi_);
  return true;
}

void CurlHttpClient::finish_done_transfers() {
  std::vector<std::unique_ptr<Transfer>> finished;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(as_multi(multi_), &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    const CURLcode code = message->data.result;
    auto it = std::find_if(active_.begin(), active_.end(), [&](const std::unique_ptr<Transfer>& t) {
      return t->easy == message->easy_handle;
    });
    if (it == active_.end()) continue;
    std::unique_ptr<Transfer> transfer = std::move(*it);
    active_.erase(it);

    const TransportError error = transport_error_of(code);
    if (transfer->abort_reason != nullptr) {
      // Stopped by a callback: the cap, not the network, ended it.
      transfer->fail(TransportError::kOther, transfer->abort_reason);
    } else if (error == TransportError::kNone) {
      long status = 0;
      curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
      transfer->response.status = static_cast<int>(status);
    } else {
      // libcurl's messages name the host and the failing step, never request headers.
      std::string message_text = curl_easy_strerror(code);
      if (transfer->error_buffer[0] != '\0') {
        message_text += ": ";
        message_text += transfer->error_buffer;
      }
      transfer->fail(error, std::move(message_text));
    }
    finished.push_back(std::move(transfer));
  }
  for (auto& transfer : finished) complete(std::move(transfer));
}

void CurlHttpClient::complete(std::unique_ptr<Transfer> transfer) {
  HttpCompletion completion = std::move(transfer->completion);
  HttpResponse response = std::move(transfer->response);
  transfer.reset();  // leaves the multi before the app sees the outcome
  if (!completion) return;
  try {
    completion(std::move(response));
  } catch (...) {
    // No exception escapes the worker thread; the completion owns its failures.
  }
}

std::unique_ptr<HttpClient> make_default_http_client(const HttpClientOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

}  // namespace platform
}  // namespace experiture
