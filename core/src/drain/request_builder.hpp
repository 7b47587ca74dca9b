// Builds the HTTP request for one batch: the body once (it is persisted with the batch and
// re-sent byte for byte), the headers at every attempt (the token may have changed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "experiture/platform/http_client.hpp"
#include "experiture/status.hpp"

namespace experiture {
namespace drain {

// Server caps per request (docs/api.md). "10 MB" is read as the stricter 10,000,000 bytes.
inline constexpr size_t kMaxBatchRecords = 10000;
inline constexpr size_t kMaxBatchBodyBytes = 10 * 1000 * 1000;
// Match keys whose UTF-8 name is at most this long are covered by kBodyOverheadBytes.
inline constexpr size_t kMaxMatchKeyBytes = 160;
// At least the envelope's share of any body (everything but the record texts and the commas
// between them) for a match key of at most kMaxMatchKeyBytes, even if every byte needs a \u
// escape: a cheap bound for batch building; body_size_for() is exact.
inline constexpr size_t kBodyOverheadBytes = 1024;

// Which endpoint and envelope a batch uses.
enum class BatchKind { kUpsert, kAppend };

// "<base>/records/<object>/upsert" for exactly one upsert record, ".../upsert-batch" for more,
// ".../append-batch" for appends of any count. Trailing slashes of `base_url` are dropped;
// `object` is percent-encoded (everything but A-Z a-z 0-9 - . _ ~). Pure; any thread.
std::string batch_url(const std::string& base_url, const std::string& object, BatchKind kind,
                      size_t record_count);

// The request body from records that are already compact JSON object texts (as stored in the
// outbox; they are copied, never parsed):
//   upsert, 1 record:  {"record":<r>,"matchKey":"<k>"}
//   upsert, n records: {"records":[<r1>,<r2>,...],"matchKey":"<k>"}
//   append:            {"records":[<r1>,...]}
// `match_key` is JSON-escaped; it is ignored for appends. The same inputs always give the same
// bytes. Callers keep 1 <= record count <= kMaxBatchRecords and check body_size_for() against
// kMaxBatchBodyBytes. Pure; any thread.
std::string build_body(BatchKind kind, const std::vector<std::string>& record_jsons,
                       const std::string& match_key);

// The exact size of build_body() for `record_count` records whose texts total
// `records_total_bytes`, without building it. Grows with each record added, so a batch builder
// can add records while body_size_for(kind, n + 1, total + next, key) <= kMaxBatchBodyBytes.
size_t body_size_for(BatchKind kind, size_t record_count, size_t records_total_bytes,
                     const std::string& match_key);
size_t body_size_for(BatchKind kind, const std::vector<std::string>& record_jsons,
                     const std::string& match_key);

// "experiture-sdk/<version>".
std::string user_agent();

// The POST for one attempt at a batch: batch_url(base_url, object, kind, record_count), the
// persisted `body` as is, and the headers
//   Content-Type: application/json, Accept: application/json,
//   Authorization: Bearer <token>, Idempotency-Key: <idempotency_key>, User-Agent: user_agent().
// timeout_ms is left at its default for the caller to set. Blanks around `token` are trimmed (a
// token read from a file often ends in a newline). kUnauthorized when the token is then empty
// or holds a space or control character; kInvalidArgument when the key is empty or holds one
// (either could otherwise forge headers). Messages never contain the token. Pure; any thread.
Result<platform::HttpRequest> build_request(const std::string& base_url, const std::string& object,
                                            BatchKind kind, size_t record_count,
                                            const std::string& body, const std::string& token,
                                            const std::string& idempotency_key);

}  // namespace drain
}  // namespace experiture
