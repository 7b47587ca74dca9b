// The C++ API of the Experiture SDK.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "experiture/config.hpp"
#include "experiture/export.h"
#include "experiture/status.hpp"

namespace experiture {

// The SDK's version, e.g. "0.1.0".
EXPERITURE_API const char* sdk_version() noexcept;

struct LoginInfo {
  std::string email;        // optional; normalised (trim + lower-case)
  std::string customer_id;  // optional
  std::string phone;        // optional; normalised to E.164
};

// A health snapshot. Cheap: no disk access.
struct Stats {
  uint64_t accepted = 0;         // writes accepted since open
  uint64_t pending_durable = 0;  // accepted, not yet committed to the outbox
  uint64_t queued_records = 0;   // durable, not yet delivered (includes in flight)
  uint64_t queued_bytes = 0;
  int64_t oldest_queued_age_ms = 0;  // 0 when nothing is queued
  uint64_t in_flight = 0;            // records in the batch being sent
  uint64_t delivered = 0;            // since open
  uint64_t dead_letters = 0;         // currently held
  // Drops by cause. queue_full and consent are counted across processes too (kept in the
  // outbox with the diagnostics); evicted and dead_letter_overflow are the outbox's own totals.
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_evicted = 0;
  uint64_t dropped_consent = 0;
  uint64_t dropped_dead_letter_overflow = 0;
  std::string pause_reason;  // "" when delivery is not paused
  std::string last_error;    // most recent storage or delivery error, "" when none

  // Delivery diagnostics, kept in the outbox file so that a later process (another app run,
  // `experiture-cli status`) sees why records are stuck. Times are wall-clock ms since the Unix
  // epoch, 0 when never. Never values or tokens, only codes, hosts and reasons.
  std::string last_delivery_error;  // e.g. "NETWORK.CONNECT: 127.0.0.1:9: connection refused"
  int64_t last_delivery_error_at_ms = 0;
  std::string last_storage_error;  // outbox (SQLite, disk) errors, kept apart from delivery ones
  int64_t last_storage_error_at_ms = 0;
  std::string last_pause_reason;  // the most recent non-empty pause_reason, also from a past run
  uint64_t consecutive_failures = 0;  // failed delivery attempts since the last success
  int64_t next_attempt_at_ms = 0;     // when the next attempt is due while backing off, else 0
  int64_t last_success_at_ms = 0;     // the most recent delivered batch
  Consent consent = Consent::kGranted;
  std::string device_id;
  // Another process delivering from the same outbox file (its pid; 0 when none was seen or this
  // process delivers). Writes made here are delivered by it.
  int64_t delivery_owner_pid = 0;
  // Damage found in the outbox file, kept in it (any later process sees them): totals over the
  // file's life of the queued writes salvaged into a fresh file and of those lost with the
  // damaged pages, and the last damage found ("" when none): the reason and where the damaged
  // file was moved.
  uint64_t damage_salvaged = 0;
  uint64_t damage_lost = 0;
  std::string last_damage;
};

struct DeadLetter {
  int64_t id = 0;
  std::string object;
  std::string match_key;  // "" for appends
  std::string record;     // JSON text
  int http_status = 0;
  std::string code;  // server error code, e.g. CDP_ETL.VALIDATION.REQUEST_SCHEMA
  std::string message;
  std::string correlation_id;
  int64_t failed_at_ms = 0;
};

namespace detail {

// A JSON document type (nlohmann::json, say): an object with dump() to JSON text and items().
// This header needs no JSON library: such a record is passed on as its JSON text.
template <typename Json, typename = void>
struct IsJsonDocument : std::false_type {};
template <typename Json>
struct IsJsonDocument<Json, std::void_t<decltype(std::declval<const Json&>().dump()),
                                        decltype(std::declval<const Json&>().is_object()),
                                        decltype(std::declval<const Json&>().empty()),
                                        decltype(std::declval<const Json&>().items())>>
    : std::is_same<decltype(std::declval<const Json&>().dump()), std::string> {};

// The record's JSON text into *text; false when it cannot be written (text that is not valid
// UTF-8), with *field the first top-level field whose name or value is the cause ("" if none).
template <typename Json>
bool json_text(const Json& record, std::string* text, std::string* field) {
  try {
    *text = record.dump();
    return true;
  } catch (const std::exception&) {
  }
  if (record.is_object()) {
    for (const auto& item : record.items()) {
      try {
        (void)Json(item.key()).dump();
        (void)item.value().dump();
      } catch (const std::exception&) {
        *field = item.key();
        break;
      }
    }
  }
  return false;
}

}  // namespace detail

// Thread-safe. Calls not documented as waiting never block on disk or network.
class EXPERITURE_API Client {
 public:
  // Opens (or creates, or migrates) the outbox at config.storage_path and starts the store thread
  // unless config.manual_mode. Waits for the disk: call it at start-up, off the UI thread if you
  // can. Returns kInvalidConfig naming the field, or kStorageError. A corrupt outbox file is moved
  // aside
  // (".corrupt-<ms>") and replaced: open succeeds and stats().last_error reports it.
  static Result<std::unique_ptr<Client>> open(Config config);

  // close(default 5 s) when not closed yet. Inside one of this client's own callbacks it does not
  // wait: the client closes and is released by its store thread when the callback returns.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Accepts an upsert keyed by `match_key`. Validates and normalises on the caller's thread, then
  // queues it in memory; returns at once. Statuses: kOk, each validation code, kQueueFull,
  // kConsentDenied, kClosed. kQueueFull: the writes accepted but not yet committed reached
  // Config::ingress_capacity or ingress_max_bytes; nothing was accepted and nothing waited. Call
  // it again after persist() returns (off the UI thread), or later, or drop the write.
  Status upsert(std::string_view object, std::string_view record_json, std::string_view match_key);
  // JSON text as std::string or a C string (both would otherwise also convert to json).
  Status upsert(std::string_view object, const std::string& record_json,
                std::string_view match_key) {
    return upsert(object, std::string_view(record_json), match_key);
  }
  Status upsert(std::string_view object, const char* record_json, std::string_view match_key) {
    return upsert(object, std::string_view(record_json), match_key);
  }
  // A JSON document (nlohmann::json, or any type with dump() and items()): taken as its JSON
  // text, with the statuses of the text overload. Text that is not valid UTF-8 cannot be
  // written: kInvalidJson naming the field.
  template <typename Json, std::enable_if_t<detail::IsJsonDocument<Json>::value, int> = 0>
  Status upsert(std::string_view object, const Json& record, std::string_view match_key) {
    std::string text, field;
    if (!detail::json_text(record, &text, &field)) {
      return unwritable_record(object, record.is_object(), record.empty(), field);
    }
    return upsert(object, std::string_view(text), match_key);
  }
  // Accepts an event row (never merged by the server).
  Status append(std::string_view object, std::string_view record_json);
  Status append(std::string_view object, const std::string& record_json) {
    return append(object, std::string_view(record_json));
  }
  Status append(std::string_view object, const char* record_json) {
    return append(object, std::string_view(record_json));
  }
  template <typename Json, std::enable_if_t<detail::IsJsonDocument<Json>::value, int> = 0>
  Status append(std::string_view object, const Json& record) {
    std::string text, field;
    if (!detail::json_text(record, &text, &field)) {
      return unwritable_record(object, record.is_object(), record.empty(), field);
    }
    return append(object, std::string_view(text));
  }

  // Identity (see docs/design.md "Identity"). Non-blocking like upsert.
  Status set_push_token(std::string_view token);
  Status login(const LoginInfo& info);
  Status logout();
  std::string device_id() const;

  Status set_consent(Consent consent);
  Consent consent() const;

  // Waits until every write accepted before the call is durable. kOk or kTimeout.
  Status persist(int64_t timeout_ms);
  // Waits until every write accepted before the call is delivered or dead-lettered.
  // kOk, kTimeout, or kPaused (with the reason) when delivery cannot progress.
  Status flush(int64_t timeout_ms);
  // Persists, stops sending, stops the store thread. Later calls return kClosed. Idempotent.
  // Inside one of this client's callbacks (listener, token provider, HttpClient::send) it returns
  // kOk at once: later calls are kClosed, the store thread commits what was accepted and stops
  // when the callback returns, and a later close() or ~Client from an app thread joins it.
  // Inside a callback, persist(), flush() and pump() return kWrongState at once (they would wait
  // for the thread running the callback); the dead-letter calls run in place.
  Status close(int64_t timeout_ms);
  // Manual mode only: does all due work (commit, drain step, completions) on the caller's thread.
  Status pump();

  // Hints from the app: background flushes now; set_online(false) pauses delivery.
  void on_background();
  void on_foreground();
  void set_online(bool online);
  void pause();
  void resume();

  Stats stats() const;

  // Dead letters, oldest first; at most `limit`. Waits for the store thread.
  Result<std::vector<DeadLetter>> dead_letters(size_t limit);
  // Re-queues every dead letter (at the end of the outbox). Waits for the store thread.
  Status retry_dead_letters();
  Status purge_dead_letters();

  class Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  // The status for a JSON document that cannot be written as text (invalid UTF-8 in `field`,
  // or in a field name when `field` is ""), checked in the order of the text overloads.
  Status unwritable_record(std::string_view object, bool is_object, bool is_empty,
                           const std::string& field);
  std::unique_ptr<Impl> impl_;
};

}  // namespace experiture
