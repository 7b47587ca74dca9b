// Turns one HTTP exchange for a batch into the drain loop's next step (docs/api.md, status table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drain/http_date.hpp"  // parse_http_date_ms, used with parse_retry_after_ms
#include "experiture/platform/http_client.hpp"

namespace experiture {
namespace drain {

enum class Outcome {
  kDelivered,      // 2xx: every record not listed in `rejected` was accepted
  kRetry,          // send the same bytes with the same key again after backoff
  kRateLimited,    // 429: pause all delivery for retry_after_ms (-1: none given, use backoff)
  kUnauthorized,   // 401: ask the token provider for a new token, then retry
  kForbidden,      // 403: pause delivery and report; never drop data for it
  kRejectRecords,  // `rejected` lists the bad records; the rest go out as a new batch, new key
  kBisect,         // 400/422 naming no record: split in halves to isolate the bad record(s)
  kSplit,          // 413: the body is too large; split the batch
  kDeadLetterAll,  // 404 and other 4xx: every record of the batch goes to dead letters
  kUnreadable,     // 2xx whose body is no readable success envelope: no proof of delivery; the
                   // batch is kept and re-sent with the same key and bytes (the loop pauses
                   // after repeated ones)
};

// One record of the batch the server refused, by its index in the batch as sent.
struct RecordRejection {
  size_t index = 0;
  std::string code;     // the server's code, e.g. "CDP_ETL.VALIDATION.REQUEST_SCHEMA"
  std::string message;  // the server's message, e.g. "records[2].email: invalid email format"
};

struct Classification {
  Outcome outcome = Outcome::kRetry;
  int http_status = 0;         // 0 for transport errors
  std::string code;            // error.code from the body, or "NETWORK.<KIND>" for transport errors
  std::string message;         // error.message from the body, or the transport's detail
  std::string correlation_id;  // x-correlation-id header, else the body's correlationId
  int64_t retry_after_ms = -1;  // from Retry-After on 429 and 503; -1 when absent or unusable
  // kRejectRecords: at least one entry. kDelivered: the records the server rejected in its
  // per-record results (ASSUMED A), possibly empty. Sorted by index, no duplicates, each
  // index < record_count.
  std::vector<RecordRejection> rejected;
  std::optional<int64_t> server_date_ms;  // the Date header as Unix ms, for clock-skew checks
};

// Retry-After values are clamped to this (a day): a broken proxy must not stop delivery forever.
inline constexpr int64_t kMaxRetryAfterMs = 24LL * 60 * 60 * 1000;

// Classifies the response to a batch of `record_count` records (>= 1) sent as one request.
// `now_wall_ms` is the device's wall clock (Unix ms), used only to turn an HTTP-date
// Retry-After into a delay. Pure; never throws, whatever the body holds; any thread.
//
// Rules, first match wins:
// - any TransportError other than kNone -> kRetry (also kReset: the write may have been applied,
//   which the idempotency key makes safe; also kCancelled: the engine decides whether it is
//   shutting down, and a cancelled batch must be re-sent later, never dropped; also kTls and
//   kPinning: retried with backoff, as the cause may be a captive portal or a clock not yet set).
// - 2xx whose body is not a readable success envelope -> kUnreadable: not JSON, truncated JSON,
//   a JSON value that is not an object, an object whose "success" is false, or an empty body
//   (a captive portal's HTML page, a proxy's empty 200 or 204: nothing proves the write arrived).
// - 2xx -> kDelivered. Rejected entries of data.results (ASSUMED A) go to `rejected` with their
//   error.code / error.message, by their "index" when in range (by their position when they
//   have none; skipped when it is not a non-negative integer). An entry is rejected when its
//   status is "rejected", "failed", "failure", "error" or "invalid", accepted when it is
//   "accepted", "ok", "success", "created", "updated", "merged" or "inserted", and otherwise
//   rejected only if it carries a non-null "error". A readable envelope with no results
//   (ASSUMED B) or a jobId (ASSUMED C): all delivered.
// - 400 / 422: the record indexes named by error.details.path, error.details.errors[].path,
//   error.details[].path (paths such as "records[3].email", "records[3]", "/records/3/email",
//   "$.records[3].x"; and "record" / "record.x" of the single-record endpoint -> index 0 when
//   record_count is 1), or, when no details path is usable, by a "records[N]" at the start of
//   error.message -> kRejectRecords with those indexes (de-duplicated, out-of-range dropped).
//   None usable -> kBisect, except that a single record is kRejectRecords index 0.
// - 401 -> kUnauthorized; 403 -> kForbidden; 404 -> kDeadLetterAll; 409 -> kRetry.
// - 413 -> kSplit; a single record is kRejectRecords index 0 (it can never be sent).
// - 429 -> kRateLimited, retry_after_ms from Retry-After (delta seconds or an HTTP-date
//   relative to now_wall_ms; at least 0, at most kMaxRetryAfterMs; absent or garbage -> -1).
// - 5xx -> kRetry (503 with Retry-After: retry_after_ms set as for 429).
// - other 4xx -> kDeadLetterAll; anything else (1xx, 3xx, 0, >= 600) -> kRetry.
// For every HTTP status, code/message come from the error envelope when there is one, and
// server_date_ms from the Date header when it parses.
// Whether a 2xx body can be classified without a parse: true when it cannot reject a record.
// A record is rejected only through a result status among is_rejected_result()'s words or an
// "error" member; without escape sequences those appear as the quoted strings "rejected",
// "failed", "failure", "error" or "invalid" (any case), so a body with no backslash and none of
// them rejects nothing, whatever its shape, and (with the correlation id in the header) nothing
// else is read from it. Pure; any thread.
bool body_cannot_reject(std::string_view body);

// Whether a body without backslashes is one complete JSON object by its brackets: '{' first
// and its matching '}' last (white space around), brackets outside strings balanced, strings
// closed. With body_cannot_reject(), no "false" in it and a syntax check that builds nothing
// (json::accept: brackets alone pass `{,}` or invalid UTF-8), a 2xx body is a readable success
// envelope without a parse (a truncated or non-JSON body fails here and takes the full parse).
// Pure; any thread.
bool body_is_closed_object(std::string_view body);

// `allow_fast_path` false parses every body (for tests comparing the two; same result).
Classification classify_response(const platform::HttpResponse& response, size_t record_count,
                                 int64_t now_wall_ms, bool allow_fast_path = true);

// Parses a Retry-After value: delta seconds (digits; a fraction is tolerated and rounded up to
// whole ms) or an HTTP-date taken relative to now_wall_ms. Result clamped to
// [0, kMaxRetryAfterMs]; nullopt when the value is neither. Pure; any thread.
std::optional<int64_t> parse_retry_after_ms(std::string_view value, int64_t now_wall_ms);

}  // namespace drain
}  // namespace experiture
