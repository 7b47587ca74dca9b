#include "request_log.hpp"

#include "emulated_clock.hpp"

namespace experiture {
namespace emulator {

void RequestLog::add(LoggedRequest entry) {
  if (entry.request_bytes < entry.request_body.size())
    entry.request_bytes = entry.request_body.size();
  if (entry.request_body.size() > kMaxBodyBytes) entry.request_body.resize(kMaxBodyBytes);
  if (entry.response_body.size() > kMaxBodyBytes) entry.response_body.resize(kMaxBodyBytes);
  std::lock_guard<std::mutex> lock(mutex_);
  entry.id = next_id_++;
  entries_.push_back(std::move(entry));
  while (entries_.size() > kCapacity) entries_.pop_front();
}

nlohmann::json RequestLog::summary(const LoggedRequest& entry) {
  return {{"id", entry.id},
          {"at", EmulatedClock::iso8601(entry.at_ms)},
          {"method", entry.method},
          {"path", entry.path},
          {"idempotency_key", entry.idempotency_key},
          {"status", entry.status},
          {"latency_ms", entry.latency_ms},
          {"records", entry.records},
          {"replay", entry.replay},
          {"fault", entry.fault},
          {"rejected", entry.rejected},
          {"request_bytes", entry.request_bytes}};
}

nlohmann::json RequestLog::list_json(uint64_t after_id, size_t limit) const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json list = nlohmann::json::array();
  for (auto it = entries_.rbegin(); it != entries_.rend() && list.size() < limit; ++it) {
    if (it->id <= after_id) break;
    list.push_back(summary(*it));
  }
  return {{"last_id", next_id_ - 1}, {"entries", list}};
}

nlohmann::json RequestLog::entry_json(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const LoggedRequest& entry : entries_) {
    if (entry.id != id) continue;
    nlohmann::json doc = summary(entry);
    doc["request_body"] = entry.request_body;
    doc["response_body"] = entry.response_body;
    doc["truncated"] = entry.request_bytes > entry.request_body.size();
    return doc;
  }
  return nullptr;
}

uint64_t RequestLog::last_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_id_ - 1;
}

void RequestLog::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

}  // namespace emulator
}  // namespace experiture
