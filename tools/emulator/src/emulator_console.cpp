// The dev console of EmulatorServer: the page (/_emulator/) and the paged JSON it reads
// (/_emulator/api/*). The page is static (embedded in the binary, no CDN) and the browser fetches
// small pages of JSON, so no request holds the state lock for longer than one page of rows.
#include <httplib.h>

#include "console_page.hpp"
#include "emulator_server.hpp"

namespace experiture {
namespace emulator {

namespace {

constexpr size_t kMaxPage = 500;
constexpr size_t kSearchSlice = 1000;  // rows scanned per hold of the state lock

std::string dump_json(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(httplib::Response& res, int status, const nlohmann::json& doc) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(dump_json(doc), "application/json");
}

size_t size_param(const httplib::Request& req, const char* name, size_t fallback, size_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str()) return fallback;
  return value > max ? max : static_cast<size_t>(value);
}

std::string text_param(const httplib::Request& req, const char* name, const char* fallback) {
  return req.has_param(name) ? req.get_param_value(name) : std::string(fallback);
}

}  // namespace

void EmulatorServer::install_console_routes() {
  httplib::Server& s = *server_;
  auto page = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(console_page_html(), "text/html; charset=utf-8");
  };
  s.Get("/_emulator", page);
  s.Get("/_emulator/", page);
  s.Get("/_emulator/api/summary", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, summary_json());
  });
  s.Get("/_emulator/api/log", [this](const httplib::Request& req, httplib::Response& res) {
    send_json(res, 200,
              log_.list_json(size_param(req, "after", 0, UINT64_MAX),
                             size_param(req, "limit", 100, RequestLog::kCapacity)));
  });
  s.Get(R"(/_emulator/api/log/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json entry =
        log_.entry_json(std::strtoull(req.matches[1].str().c_str(), nullptr, 10));
    if (entry.is_null()) {
      send_json(res, 404,
                {{"error", "that request has left the log (it keeps the last " +
                               std::to_string(RequestLog::kCapacity) + ")"}});
    } else {
      send_json(res, 200, entry);
    }
  });
  s.Get("/_emulator/api/profiles", [this](const httplib::Request& req, httplib::Response& res) {
    std::string object = text_param(req, "object", "profiles");
    size_t offset = size_param(req, "offset", 0, SIZE_MAX);
    size_t limit = size_param(req, "limit", 50, kMaxPage);
    std::string query = text_param(req, "q", "");
    if (query.empty()) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      send_json(res, 200, store_.page_json(object, offset, limit));
      return;
    }
    // A search scans every row: in slices, with the state lock released between them, so API
    // requests are served while it runs (rows written meanwhile may or may not be seen).
    nlohmann::json page = nlohmann::json::array();
    uint64_t cursor = 0;
    size_t matched = 0, total = 0;
    for (bool more = true; more;) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      more =
          store_.search_slice(object, query, kSearchSlice, offset, limit, &cursor, &matched, &page);
      total = store_.profile_count(object);
    }
    send_json(res, 200,
              {{"object", object},
               {"total", total},
               {"matched", matched},
               {"offset", offset},
               {"limit", limit},
               {"profiles", page}});
  });
  s.Get("/_emulator/api/profile", [this](const httplib::Request& req, httplib::Response& res) {
    std::string object = text_param(req, "object", "profiles");
    uint64_t id = std::strtoull(text_param(req, "id", "0").c_str(), nullptr, 10);
    std::lock_guard<std::mutex> lock(state_mutex_);
    const Profile* profile = store_.find_id(object, id);
    if (profile == nullptr) {
      send_json(res, 404, {{"error", "no row with that id (merged into another, or reset?)"}});
    } else {
      send_json(res, 200, store_.profile_json(object, *profile));
    }
  });
  s.Get("/_emulator/api/events", [this](const httplib::Request& req, httplib::Response& res) {
    std::string object = text_param(req, "object", "");
    size_t offset = size_param(req, "offset", 0, SIZE_MAX);
    size_t limit = size_param(req, "limit", 50, kMaxPage);
    std::lock_guard<std::mutex> lock(state_mutex_);
    send_json(res, 200, store_.events_page_json(object, offset, limit));
  });
}

nlohmann::json EmulatorServer::summary_json() {
  nlohmann::json faults = faults_.to_json();
  uint64_t last_log_id = log_.last_id();
  int64_t now = clock_.now_ms();
  std::lock_guard<std::mutex> lock(state_mutex_);
  nlohmann::json objects = nlohmann::json::object();
  for (const std::string& object : store_.objects()) objects[object] = store_.profile_count(object);
  return {{"counters",
           {{"requests", counters_.requests},
            {"records_applied", counters_.writes_applied},
            {"batches_applied", counters_.batches_applied},
            {"replays", counters_.replays},
            {"resets", counters_.resets},
            {"rejects", counters_.rejects},
            {"statuses", counters_.statuses},
            {"faults", counters_.faults}}},
          {"profiles", objects},
          {"events", store_.event_count()},
          {"fault_script", faults},
          {"batch_mode", batch_mode_name(batch_mode_)},
          {"clock", EmulatedClock::iso8601(now)},
          {"expired_tokens", expired_tokens_},
          {"last_log_id", last_log_id}};
}

}  // namespace emulator
}  // namespace experiture
