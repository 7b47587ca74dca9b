// DeadLetters: the outbox file's dead_letters table, the writes the server rejected (or whose
// sealed payload no longer opens), kept with the reason until the app retries or purges them.
// It works on the Outbox's own connection and in-memory counters: the calls marked "inside the
// caller's transaction" write nothing on their own; the Outbox opens the transaction, syncs and
// writes its counters around them, and restores the counters when the transaction fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "experiture/client.hpp"
#include "outbox/sqlite_db.hpp"

namespace experiture {
namespace outbox {

// Why a write went to dead letters (from the server's answer, or the SDK's own code).
struct DeadLetterReason {
  int http_status = 0;
  std::string code;
  std::string message;
  std::string correlation_id;
};

// The bytes a row of entries or dead_letters is charged, in SQL (queued_bytes, the byte cap).
inline constexpr const char* kRowBytesSql = "(length(payload)+length(object)+length(match_key)+32)";

class DeadLetters {
 public:
  // The Outbox's in-memory counters that moving rows changes.
  struct Counters {
    uint64_t* queued_records = nullptr;
    uint64_t* queued_bytes = nullptr;
    uint64_t* dead_letters = nullptr;
    uint64_t* dropped_total = nullptr;  // dead letters trimmed over max_dead_letters
  };
  using Decode = std::function<Result<std::string>(std::string stored)>;

  // `db` and the counters must outlive this object.
  DeadLetters(SqliteDb* db, size_t max_dead_letters, Counters counters)
      : db_(db), max_(max_dead_letters), counters_(counters) {}

  // Inside the caller's transaction: moves the entries `rows` name (by seq) to dead letters
  // with their reason and `failed_at_ms`, then drops the oldest dead letters over the bound.
  // Seqs no longer queued are skipped.
  Status move_entries(const std::vector<std::pair<int64_t, DeadLetterReason>>& rows,
                      int64_t failed_at_ms);
  // Inside the caller's transaction: every dead letter back to the end of entries, in order,
  // with seqs after *last_seq (advanced); the table is emptied. Returns how many moved.
  Result<uint64_t> requeue_all(int64_t* last_seq);
  // Inside the caller's transaction: empties the table. Returns how many there were.
  Result<uint64_t> delete_all();
  // The first `limit` dead letters, oldest first; records through `decode` ("" when it fails).
  Result<std::vector<DeadLetter>> list(size_t limit, const Decode& decode);

 private:
  SqliteDb* db_;
  size_t max_;
  Counters counters_;
};

}  // namespace outbox
}  // namespace experiture
