// Salvage: reads whatever rows can still be read from a damaged outbox file, page by page,
// without SQLite (whose b-tree code stops at the first damaged page). Used once the file has
// been moved aside; the rows go into a fresh outbox.
//
// The reader takes the main file's pages, overlays the WAL's committed frames (checksums
// checked, as SQLite does), skips pages on the freelist when the header still says which, and
// decodes every cell of every b-tree leaf (and index interior) page, following overflow chains.
// Rows are recognised by their shape (column count and types), so a lost schema page (page 1)
// loses no data. A cell that does not decode is skipped; nothing here throws or aborts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace experiture {
namespace outbox {

struct SalvagedEntry {
  int64_t seq = 0;
  std::string object;
  int64_t kind = 0;
  std::string match_key;
  std::string payload;  // as stored (sealed or not)
  int64_t wall_ms = 0;
  int64_t mono_ms = 0;
  int64_t flags = 0;
};

struct SalvagedBatch {
  int64_t id = 0;
  std::string object;
  int64_t kind = 0;
  std::string match_key;
  std::string idempotency_key;
  std::string body;  // as stored
  std::string sources;
  int64_t attempts = 0;
};

struct SalvagedDeadLetter {
  std::string object;
  int64_t kind = 0;
  std::string match_key;
  std::string payload;
  int64_t wall_ms = 0;
  int64_t mono_ms = 0;
  int64_t flags = 0;
  int64_t http_status = 0;
  std::string code;
  std::string message;
  std::string correlation_id;
  int64_t failed_at_ms = 0;
};

struct SalvagedRows {
  std::map<int64_t, SalvagedEntry> entries;  // by seq
  std::map<int64_t, SalvagedBatch> batches;  // by id
  // Every batch row found in any version of any page (the main file's pages, free ones too,
  // and every committed WAL frame that checks out), by Idempotency-Key. A batch is persisted
  // before its first send, so a record that may have been sent is in one of these; the newest
  // version of its page may no longer show it (a transaction that deleted it only in part
  // reached the disk).
  std::map<std::string, SalvagedBatch> batch_history;
  std::vector<SalvagedDeadLetter> dead_letters;
  // Meta rows by key; a key seen more than once (stale copies) keeps every value, newest
  // page content last.
  std::map<std::string, std::vector<std::string>> meta;
  uint64_t pages = 0;             // pages looked at
  uint64_t unreadable_pages = 0;  // b-tree pages that did not decode
  bool header_ok = false;         // the 100-byte header (page size, freelist) was usable
  bool wal_used = false;          // committed WAL frames were applied
};

// True when the WAL at `wal_path` was damaged after its frames were committed: past a frame
// whose salts or checksum fail (where SQLite stops reading), a long run of later frames checks
// out, with a commit. A lost or torn frame followed by a few that landed is the tail a power
// cut leaves when the disk reorders unsynced writes: not damage (salvage.cpp, scan_wal).
bool wal_damaged(const std::string& wal_path);

// Reads `path` and, when present, `wal_path`. Never fails: an unreadable file yields no rows.
SalvagedRows salvage_rows(const std::string& path, const std::string& wal_path);

}  // namespace outbox
}  // namespace experiture
