// Status codes and Result<T>: every expected failure in the SDK is a value, never an exception.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "experiture/export.h"

namespace experiture {

// One enum for the whole SDK. OK is 0; values are append-only (bindings and the C ABI mirror them),
// and each has a stable name returned by code_name().
enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,      // a parameter other than the record is wrong (empty object name, ...)
  kInvalidJson = 2,          // record text is not JSON
  kRecordNotObject = 3,      // record is not a JSON object
  kRecordEmpty = 4,          // record is {}
  kMatchKeyMissing = 5,      // match_key is not a field of the record
  kMatchKeyNull = 6,         // the match_key field is null
  kMatchKeyNotString = 7,    // the match_key field is not a string (or is an empty string)
  kMatchKeyNotIdentity = 8,  // match_key is not an identity field of the object
  kRecordTooLarge = 9,       // serialised record above Config::max_record_bytes
  kInvalidEmail = 10,        // an `email` that cannot be normalised
  kInvalidPhone = 11,        // a `phone` that cannot be normalised to E.164
  kTimestampWithoutZone = 12,  // a field ending `_at` that is not ISO 8601 with a zone
  kQueueFull = 13,             // the in-memory ingress queue is full; nothing was accepted
  kConsentDenied = 14,         // consent is denied: capture is off
  kClosed = 15,                // the client is closed or closing
  kTimeout = 16,               // a waiting call ran out of time; the work goes on
  kStorageError = 17,          // SQLite failed (I/O error, busy); accepted data is kept in memory
  kStorageFull = 18,           // disk full or the outbox byte cap reached
  kStorageRecovered = 19,      // the outbox file was corrupt: moved aside, a fresh one created
  kNotFound = 20,              // no such item (dead letter id, ...)
  kInvalidConfig = 21,         // Config names the field that is wrong
  kNetworkError = 22,          // transport failure (connect, TLS, timeout)
  kUnauthorized = 23,          // no token, or the server refused it
  kForbidden = 24,             // the server answered 403
  kPaused = 25,                // delivery is paused (offline, consent, app request, rate limit)
  kRejected = 26,              // the server rejected records (they are in dead letters)
  kWrongState = 27,            // call not valid now (e.g. pump() on a threaded client)
  kInternal = 28,              // a bug: an unexpected exception was caught at a boundary
};

// Stable upper-case name, e.g. "RECORD_NOT_OBJECT". Never NULL.
EXPERITURE_API const char* code_name(Code code) noexcept;

class EXPERITURE_API Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  // Human-readable: names the field and the rule that failed. Never contains record values
  // other than the field names, never a token.
  const std::string& message() const { return message_; }
  // "NAME: message"
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the status saying why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace experiture
