// The emulated CDP data: profile rows under the merge model and appended event rows.
// Not thread-safe: the server calls it with its state lock held.
//
// Merge model (docs/api.md): an upsert resolves the row whose matchKey field equals the record's
// value; field-level last-write-wins (omitted kept, null clears); identifiers accumulate (every
// identity value a row ever carried keeps resolving to it).
// ASSUMED (emulator): when matchKey resolves nothing but another identifier of the record does,
// that row is the target; when the record's identifiers resolve several rows, they merge into the
// target (identifiers unioned, other fields keep the value of the most recently written row).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema.hpp"

namespace experiture {
namespace emulator {

class StateFile;

// One applied write of a profile: the dev console's timeline shows which write set which field.
struct WriteLogEntry {
  uint64_t seq = 0;
  std::string idempotency_key;
  int64_t at_ms = 0;                              // emulated time the write was applied
  nlohmann::json set = nlohmann::json::object();  // the fields it sent (null = cleared)
};

struct Profile {
  uint64_t id = 0;
  nlohmann::json fields = nlohmann::json::object();
  std::map<std::string, std::set<std::string>> identifiers;
  uint64_t write_count = 0;
  uint64_t last_write_seq = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<WriteLogEntry> writes;  // the last kMaxWriteLog writes, oldest first
};

class RecordStore {
 public:
  static constexpr size_t kMaxWriteLog = 1000;

  // state may be null (memory only); borrowed, must outlive the store.
  explicit RecordStore(StateFile* state) : state_(state) {}

  // Reloads everything from the state file (no-op without one).
  void load();
  // Applies one validated record; returns the id of the row it landed on.
  uint64_t upsert(const std::string& object, const ObjectSchema& schema,
                  const nlohmann::json& record, const std::string& match_key, int64_t now_ms,
                  const std::string& idempotency_key);
  // Appends one validated record as a new row of `object`; returns its sequence number.
  uint64_t append(const std::string& object, const nlohmann::json& record, int64_t now_ms,
                  const std::string& idempotency_key);
  // Writes rows changed since the last call to the state file (inside the caller's transaction).
  void persist_changes();
  void clear();

  // Null when no row of `object` carries identifier field `key` = `value`.
  const Profile* find(const std::string& object, const std::string& key,
                      const std::string& value) const;
  // Null when `object` has no row with this id.
  const Profile* find_id(const std::string& object, uint64_t id) const;
  nlohmann::json profile_json(const std::string& object, const Profile& profile) const;
  nlohmann::json list_json(const std::string& object) const;
  // One page of `object`'s rows, newest first: {object,total,matched,offset,limit,profiles}.
  // Rows are summaries (no write log); cost O(offset + limit).
  nlohmann::json page_json(const std::string& object, size_t offset, size_t limit) const;
  // A search in slices, so the caller can release its lock between them: scans up to
  // `max_rows` rows of `object` with id < *cursor (newest first; *cursor 0 = from the newest),
  // keeping rows whose id equals `query` or whose identifier values contain it (ASCII
  // case-insensitive). Matches number `offset`.. are appended to *page (up to `limit`), all are
  // counted in *matched. Moves *cursor on; returns false once every row was scanned.
  bool search_slice(const std::string& object, const std::string& query, size_t max_rows,
                    size_t offset, size_t limit, uint64_t* cursor, size_t* matched,
                    nlohmann::json* page) const;
  // One page of appended rows (all objects when `object` is empty), newest first, with the total
  // and the count per object: {total,offset,limit,objects:{name:n},events}.
  nlohmann::json events_page_json(const std::string& object, size_t offset, size_t limit) const;
  size_t event_count() const { return events_.size(); }
  // Rows appended to `object` (all objects when empty), oldest first.
  nlohmann::json events_json(const std::string& object) const;
  size_t profile_count(const std::string& object) const;
  // Every object that holds profile rows.
  std::vector<std::string> objects() const;

 private:
  struct Table {
    std::map<uint64_t, Profile> rows;
    std::unordered_map<std::string, uint64_t> index;  // "field\x1fvalue" -> row id
  };
  struct EventRow {
    uint64_t seq = 0;
    std::string object;
    nlohmann::json fields;
    int64_t received_at_ms = 0;
    std::string idempotency_key;
  };

  static std::string index_key(const std::string& field, const std::string& value);
  static std::string identity_value(const nlohmann::json& value);
  void merge_into(Table& table, Profile& target, Profile& other);
  nlohmann::json event_json(const EventRow& row) const;

  StateFile* state_;
  std::map<std::string, Table> tables_;
  std::vector<EventRow> events_;
  uint64_t next_id_ = 1;
  uint64_t next_seq_ = 1;
  std::set<std::pair<std::string, uint64_t>> dirty_;
  std::set<std::pair<std::string, uint64_t>> deleted_;
  size_t persisted_events_ = 0;
};

}  // namespace emulator
}  // namespace experiture
