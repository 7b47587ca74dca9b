// The dev console's live request log: the last kCapacity API requests (time, endpoint,
// Idempotency-Key, status, latency, record count, bodies, replay/fault marks, rejected records).
// Thread-safe with its own lock, separate from the server's state lock, so reading the log never
// waits for a write being applied.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace experiture {
namespace emulator {

struct LoggedRequest {
  uint64_t id = 0;  // assigned by add(), increasing from 1
  int64_t at_ms = 0;
  std::string method;
  std::string path;
  std::string idempotency_key;
  int status = 0;  // 0: the connection was reset with no response
  double latency_ms = 0;
  uint64_t records = 0;  // records in the request body (0 when it did not parse)
  bool replay = false;
  std::string fault;                                  // the injected fault's kind, "" for none
  nlohmann::json rejected = nlohmann::json::array();  // [{index?,code,message,path?}]
  std::string request_body;                           // capped at kMaxBodyBytes
  std::string response_body;                          // capped at kMaxBodyBytes
  size_t request_bytes = 0;                           // the full request body's size
};

class RequestLog {
 public:
  static constexpr size_t kCapacity = 500;
  static constexpr size_t kMaxBodyBytes = 64 * 1024;

  // Stores `entry` (bodies cut to kMaxBodyBytes; callers may pass them cut already), dropping the
  // oldest beyond kCapacity.
  void add(LoggedRequest entry);
  // Entries with id > after_id, newest first, at most `limit`, without bodies:
  // {last_id,entries:[...]}.
  nlohmann::json list_json(uint64_t after_id, size_t limit) const;
  // One entry with its bodies; null when it has left the log.
  nlohmann::json entry_json(uint64_t id) const;
  uint64_t last_id() const;
  void clear();

 private:
  static nlohmann::json summary(const LoggedRequest& entry);

  mutable std::mutex mutex_;
  std::deque<LoggedRequest> entries_;
  uint64_t next_id_ = 1;
};

}  // namespace emulator
}  // namespace experiture
