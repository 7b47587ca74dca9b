#include "capi/c_callbacks.hpp"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "capi/capi_guard.hpp"
#include "capi/transport_error_from_c.hpp"

namespace experiture {
namespace capi {
namespace {

// Owns a copy of a table; the last owner releases the app's user_data.
template <typename Table>
class TableHolder {
 public:
  explicit TableHolder(const Table& table) : table_(table) {}
  ~TableHolder() {
    if (table_.destroy != nullptr) table_.destroy(table_.user_data);
  }
  TableHolder(const TableHolder&) = delete;
  TableHolder& operator=(const TableHolder&) = delete;
  const Table& table() const { return table_; }

 private:
  Table table_;
};

// Requests handed to the C client and not completed yet. Shared with every completion handle so
// that a handle completed after the adapter is gone finds the adapter closed and is just freed.
struct PendingRequests {
  std::mutex mutex;
  std::condition_variable idle;
  std::map<uint64_t, platform::HttpCompletion> completions;  // guarded by mutex
  uint64_t next_id = 1;                                      // guarded by mutex
  size_t running = 0;   // completions being invoked now; guarded by mutex
  bool closed = false;  // guarded by mutex

  // Runs the completion of `id` unless it already ran or the adapter closed.
  void complete(uint64_t id, platform::HttpResponse response) {
    platform::HttpCompletion completion;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = completions.find(id);
      if (closed || it == completions.end()) return;
      completion = std::move(it->second);
      completions.erase(it);
      ++running;
    }
    // Never under our lock: the completion may send() again.
    completion(std::move(response));
    {
      std::lock_guard<std::mutex> lock(mutex);
      --running;
    }
    idle.notify_all();
  }
};

}  // namespace
}  // namespace capi
}  // namespace experiture

struct experiture_http_completion_t {
  std::shared_ptr<experiture::capi::PendingRequests> pending;
  uint64_t id;
};

struct experiture_token_sink_t {
  std::string token;
};

struct experiture_phone_sink_t {
  std::optional<std::string> e164;
};

namespace experiture {
namespace capi {
namespace {

platform::HttpResponse cancelled_response() {
  platform::HttpResponse response;
  response.error = platform::TransportError::kCancelled;
  response.error_message = "cancelled: the HTTP client was shut down";
  return response;
}

class CHttpClient final : public platform::HttpClient {
 public:
  explicit CHttpClient(const experiture_http_client_t& table)
      : holder_(std::make_unique<TableHolder<experiture_http_client_t>>(table)),
        pending_(std::make_shared<PendingRequests>()) {}

  // Contract: after the destructor no completion runs; in-flight requests end kCancelled.
  ~CHttpClient() override {
    cancel_all();
    std::map<uint64_t, platform::HttpCompletion> orphans;
    {
      std::unique_lock<std::mutex> lock(pending_->mutex);
      pending_->closed = true;
      orphans.swap(pending_->completions);
      pending_->idle.wait(lock, [this] { return pending_->running == 0; });
    }
    for (auto& entry : orphans) entry.second(cancelled_response());
    holder_.reset();  // destroy(user_data), after cancel_all as documented
  }

  void send(platform::HttpRequest request, platform::HttpCompletion completion) override {
    uint64_t id = 0;
    {
      std::lock_guard<std::mutex> lock(pending_->mutex);
      if (pending_->closed) return;
      id = pending_->next_id++;
      pending_->completions.emplace(id, std::move(completion));
    }
    std::vector<experiture_http_header_t> headers;
    headers.reserve(request.headers.size());
    for (const auto& header : request.headers) {
      headers.push_back(
          {header.first.data(), header.first.size(), header.second.data(), header.second.size()});
    }
    const experiture_http_request_t c_request = {
        request.method.data(), request.method.size(), request.url.data(),
        request.url.size(),    headers.data(),        headers.size(),
        request.body.data(),   request.body.size(),   request.timeout_ms};
    auto* handle = new experiture_http_completion_t{pending_, id};
    const auto& table = holder_->table();
    table.send(table.user_data, &c_request, handle);
  }

  void cancel_all() override {
    const auto& table = holder_->table();
    if (table.cancel_all != nullptr) table.cancel_all(table.user_data);
  }

 private:
  std::unique_ptr<TableHolder<experiture_http_client_t>> holder_;
  std::shared_ptr<PendingRequests> pending_;
};

class CLogger final : public platform::Logger {
 public:
  explicit CLogger(const experiture_logger_t& table) : holder_(table) {}
  void log(platform::LogLevel level, std::string_view message) override {
    const auto& table = holder_.table();
    table.log(table.user_data, static_cast<int>(level), message.data(), message.size());
  }

 private:
  TableHolder<experiture_logger_t> holder_;
};

class CPhoneNormalizer final : public platform::PhoneNormalizer {
 public:
  explicit CPhoneNormalizer(const experiture_phone_normalizer_t& table) : holder_(table) {}
  std::optional<std::string> to_e164(std::string_view raw,
                                     std::string_view default_region) const override {
    const auto& table = holder_.table();
    experiture_phone_sink_t sink;
    table.normalize(table.user_data, raw.data(), raw.size(), default_region.data(),
                    default_region.size(), &sink);
    return std::move(sink.e164);
  }

 private:
  TableHolder<experiture_phone_normalizer_t> holder_;
};

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

}  // namespace
}  // namespace capi
}  // namespace experiture

namespace experiture {
namespace capi {

bool is_valid(const experiture_http_client_t& table) {
  return table.version >= 1 && table.send != nullptr;
}
bool is_valid(const experiture_logger_t& table) {
  return table.version >= 1 && table.log != nullptr;
}
bool is_valid(const experiture_token_provider_t& table) {
  return table.version >= 1 && table.get_token != nullptr;
}
bool is_valid(const experiture_delivery_listener_t& table) {
  return table.version >= 1 && table.on_event != nullptr;
}
bool is_valid(const experiture_phone_normalizer_t& table) {
  return table.version >= 1 && table.normalize != nullptr;
}

std::shared_ptr<platform::HttpClient> make_http_client(const experiture_http_client_t& table) {
  return std::make_shared<CHttpClient>(table);
}

std::shared_ptr<platform::PhoneNormalizer> make_phone_normalizer(
    const experiture_phone_normalizer_t& table) {
  return std::make_shared<CPhoneNormalizer>(table);
}

std::shared_ptr<platform::Logger> make_logger(const experiture_logger_t& table) {
  return std::make_shared<CLogger>(table);
}

TokenProvider make_token_provider(const experiture_token_provider_t& table) {
  auto holder = std::make_shared<TableHolder<experiture_token_provider_t>>(table);
  return [holder](bool refresh) {
    experiture_token_sink_t sink;
    holder->table().get_token(holder->table().user_data, refresh ? 1 : 0, &sink);
    return std::move(sink.token);
  };
}

DeliveryListener make_delivery_listener(const experiture_delivery_listener_t& table) {
  auto holder = std::make_shared<TableHolder<experiture_delivery_listener_t>>(table);
  return [holder](const DeliveryEvent& event) {
    const experiture_delivery_event_t c_event = {static_cast<int>(event.type), event.count,
                                                 event.reason.data(), event.reason.size()};
    holder->table().on_event(holder->table().user_data, &c_event);
  };
}

}  // namespace capi
}  // namespace experiture

extern "C" {

EXPERITURE_API experiture_status_t experiture_http_complete(
    experiture_http_completion_t* completion, const experiture_http_response_t* response) {
  using namespace experiture;
  if (completion == nullptr) {
    return capi::fail(EXPERITURE_INVALID_ARGUMENT, "completion is NULL");
  }
  // The handle is consumed whatever happens below.
  std::unique_ptr<experiture_http_completion_t> handle(completion);
  return capi::guarded([&] {
    platform::HttpResponse out;
    Status status = Status::ok();
    if (response == nullptr) {
      out.error = platform::TransportError::kOther;
      out.error_message = "the HTTP client completed without a response";
      status = Status(Code::kInvalidArgument, "response is NULL");
    } else {
      out.status = response->status;
      out.error = capi::transport_error_from_c(response->error);
      std::string_view body;
      std::string_view message;
      if (!capi::to_view(response->body, response->body_length, &body) ||
          !capi::to_view(response->error_message, response->error_message_length, &message) ||
          (response->headers == nullptr && response->header_count > 0)) {
        out = platform::HttpResponse();
        out.error = platform::TransportError::kOther;
        out.error_message = "the HTTP client completed with a malformed response";
        status = Status(Code::kInvalidArgument, "response has a NULL pointer with a length");
      } else if (body.size() > platform::kMaxResponseBodyBytes) {
        // Whatever the app's HTTP stack read, a body this long is not an answer from the API.
        out = platform::HttpResponse();
        out.error = platform::TransportError::kOther;
        out.error_message =
            "response body exceeds 8 MiB (kMaxResponseBodyBytes): not an answer the API sends";
      } else {
        out.body.assign(body);
        out.error_message.assign(message);
        for (size_t i = 0; i < response->header_count; ++i) {
          const experiture_http_header_t& h = response->headers[i];
          std::string_view name;
          std::string_view value;
          if (!capi::to_view(h.name, h.name_length, &name) ||
              !capi::to_view(h.value, h.value_length, &value)) {
            continue;
          }
          out.headers.emplace_back(capi::lower(std::string(name)), std::string(value));
        }
      }
    }
    handle->pending->complete(handle->id, std::move(out));
    return status;
  });
}

EXPERITURE_API experiture_status_t experiture_token_sink_write(experiture_token_sink_t* sink,
                                                               const char* token, size_t length) {
  using namespace experiture;
  return capi::guarded([&] {
    std::string_view view;
    if (sink == nullptr) return Status(Code::kInvalidArgument, "sink is NULL");
    if (!capi::to_view(token, length, &view)) return capi::bad_string("token");
    sink->token.assign(view);
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_phone_sink_write(experiture_phone_sink_t* sink,
                                                               const char* e164, size_t length) {
  using namespace experiture;
  return capi::guarded([&] {
    std::string_view view;
    if (sink == nullptr) return Status(Code::kInvalidArgument, "sink is NULL");
    if (!capi::to_view(e164, length, &view)) return capi::bad_string("e164");
    sink->e164 = std::string(view);
    return Status::ok();
  });
}

}  // extern "C"
