// The durable outbox: one SQLite file holding queued writes (entries), the batch in flight, dead
// letters and the SDK's own state (meta). Owned and used by the store thread only.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "experiture/client.hpp"
#include "experiture/status.hpp"
#include "outbox/dead_letters.hpp"
#include "outbox/sqlite_db.hpp"

namespace experiture {
namespace outbox {

struct SalvagedRows;

enum class WriteKind : int { kUpsert = 0, kAppend = 1 };

// Entry flags, stored as an integer bit set.
inline constexpr uint32_t kEntryIdentity = 1;       // identity/login link: never evicted
inline constexpr uint32_t kEntrySdkTimestamps = 2;  // carries timestamps the SDK wrote itself

struct Entry {
  int64_t seq = 0;  // outbox order; assigned by commit()
  std::string object;
  WriteKind kind = WriteKind::kUpsert;
  std::string match_key;  // "" for appends
  std::string payload;    // the record, compact JSON (plaintext in memory)
  int64_t wall_ms = 0;    // device wall clock at capture
  int64_t mono_ms = 0;    // monotonic clock at capture
  uint32_t flags = 0;
};

// A batch persisted before its first send: every retry sends `body` byte for byte with `key`.
struct Batch {
  int64_t id = 0;
  std::string object;
  WriteKind kind = WriteKind::kUpsert;
  std::string match_key;
  std::string idempotency_key;
  std::string body;
  // sources[i] = the entry seqs coalesced into record i of the body.
  std::vector<std::vector<int64_t>> sources;
  int attempts = 0;

  size_t record_count() const { return sources.size(); }
};

using MetaUpdates = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Transforms payloads at rest (AES-GCM sealing); identity when absent.
struct PayloadCodec {
  std::function<std::string(const std::string& plain)> seal;
  std::function<Result<std::string>(const std::string& stored)> open;
};

class Outbox {
 public:
  struct Options {
    std::string path;
    std::string vfs;  // "" = default VFS
    int64_t max_bytes = 64LL << 20;
    size_t max_dead_letters = 10000;
    PayloadCodec codec;  // optional
  };
  struct OpenReport {
    bool recovered = false;  // the old file was not a usable outbox
    std::string moved_to;    // where it was moved
    std::string reason;
    int from_version = 0;  // schema version found (0 = new file)
    // When recovered: what was read back out of the damaged file into the fresh one.
    uint64_t salvaged_entries = 0;  // queued writes (as entries or inside a persisted batch)
    uint64_t salvaged_batches = 0;  // re-sent with their own Idempotency-Key and body
    uint64_t salvaged_other = 0;    // meta rows (identity, consent) and dead letters
    uint64_t lost_entries = 0;      // queued writes that could not be read (an upper bound)
  };

  // Opens, creates or migrates. A damaged file (SQLITE_CORRUPT/NOTADB, a failed quick_check
  // after an unclean close, a schema that cannot be migrated) is recovered: see recover().
  static Result<std::unique_ptr<Outbox>> open(const Options& options, OpenReport* report);

  // True once any statement met damage (SQLITE_CORRUPT or SQLITE_NOTADB): call recover().
  bool damaged() const { return db_.corrupt(); }
  // Moves the file aside (".corrupt-<ms>", its WAL too), salvages every readable entry, batch,
  // meta and dead-letter row into a fresh outbox, and reloads. Persisted batches keep their
  // key and body; the counts go to `report` and to meta (damage.*). Errors only when the fresh
  // file cannot be written.
  Status recover(const std::string& reason, OpenReport* report);
  // Totals over every recovery of this outbox (persisted): salvaged and lost queued writes.
  uint64_t damage_salvaged_total() const;
  uint64_t damage_lost_total() const;
  static constexpr int kSchemaVersion = 2;
  // Page size of a new outbox file (an existing file keeps its own).
  static constexpr int kPageSizeBytes = 1024;
  // shrink() runs VACUUM when at least this much of the file is free pages and at most
  // kShrinkMaxLiveBytes are in use. VACUUM rewrites what is in use (into the WAL, the database
  // and a temporary file): at 4 MiB, repeated as a long drain went down, it added ~0.6x of the
  // drained payload to what draining wrote (bench drain_write_amplification 3.8 -> 3.2).
  static constexpr int64_t kShrinkMinBytes = 256 * 1024;
  static constexpr int64_t kShrinkMaxLiveBytes = 256 * 1024;
  // Full disk: "<outbox>-reserve" holds this many bytes of zeros, written at open when missing
  // (through the outbox's VFS) and deleted when a write that delivery needs (saving a batch,
  // deleting a delivered one, moving rejected records to dead letters, purging) fails with
  // SQLITE_FULL even after a checkpoint; re-created once the outbox is drained and there is room.
  // The WAL's pages beyond the end of the database file are kept below half of it (a checkpoint
  // after a commit that passes that), so the checkpoint after the release fits in it.
  static constexpr int64_t kReserveBytes = 256 * 1024;
  std::string reserve_path() const { return options_.path + "-reserve"; }
  // True while the reserve is given up (a full disk was met and it has not been re-created).
  bool reserve_released() const { return reserve_released_; }

  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Meta values (identity, consent) from the in-memory copy loaded at open.
  std::optional<std::string> meta(const std::string& key) const;

  // Several processes may share the file. Every write transaction reads the counters (last_seq
  // among them) inside itself, so entry seqs never collide; only the holder of the delivery
  // lease (DrainLoop) builds, sends and completes batches.
  // Picks up what other processes committed since the last look (counters, oldest entry); with
  // `batches`, the persisted batches too. Cheap when nothing changed (PRAGMA data_version).
  Status refresh_if_changed(bool batches);
  // Reads everything back from the file (taking over delivery from another process).
  Status reload();

  // One transaction: appends `entries` (assigning their seq), applies meta updates (nullopt
  // deletes), then evicts by policy when over the byte cap. On failure nothing changed.
  Status commit(std::vector<Entry>& entries, const MetaUpdates& meta);
  // Deletes every queued entry and the batch in flight (consent denied). Returns the count.
  Result<uint64_t> purge_all();

  // The first `limit` queued entries with seq > after_seq, in order. Entries whose sealed
  // payload does not verify are moved to dead letters (code SDK.STORAGE.SEAL_INVALID) first.
  Result<std::vector<Entry>> read_entries(int64_t after_seq, size_t limit);
  // The persisted batch to send (the oldest), or null.
  const Batch* batch() const { return batches_.empty() ? nullptr : &batches_.front(); }
  // A batch prepared behind it (built and persisted while the first is in flight), or null.
  const Batch* next_batch() const { return batches_.size() > 1 ? &batches_[1] : nullptr; }
  // The highest entry seq in any persisted batch (0 when none): new batches start after it.
  int64_t batched_through_seq() const;
  // Persists a new batch (assigns id) behind those already persisted.
  Status save_batch(Batch& batch);
  // Counts a send of batch() (index 0) or next_batch() (1): in memory, and in the file when a
  // write is possible (never fails for want of one: a full disk must still deliver).
  Status record_attempt(size_t index = 0);
  // The first batch was delivered: its entries are deleted, `rejected` records (index into the
  // body -> reason) go to dead letters first. One transaction. Then the file shrinks when most
  // of it is free, and the WAL is truncated when nothing is left queued (see shrink()).
  Status complete_batch(const std::vector<std::pair<size_t, DeadLetterReason>>& rejected);
  // The first batch was not applied: `rejected` records go to dead letters, its row is dropped
  // and every other entry stays queued, to be batched again (with a new key). Batches prepared
  // behind it are dropped too, so its remaining entries go out before theirs. One transaction.
  Status abandon_batch(const std::vector<std::pair<size_t, DeadLetterReason>>& rejected);

  // Dead letters.
  Result<std::vector<DeadLetter>> dead_letters(size_t limit);
  // Re-queues every dead letter at the end of the outbox; returns how many.
  Result<uint64_t> retry_dead_letters();
  Result<uint64_t> purge_dead_letters();

  uint64_t queued_records() const { return queued_records_; }
  uint64_t queued_bytes() const { return queued_bytes_; }
  uint64_t dead_letter_count() const { return dead_letter_count_; }
  int64_t oldest_wall_ms() const { return oldest_wall_ms_; }  // 0 when empty
  int64_t last_seq() const { return last_seq_; }
  int64_t first_seq() const { return first_seq_; }  // 0 when empty
  uint64_t evicted_total() const { return evicted_total_; }
  uint64_t dead_letter_dropped_total() const { return dead_letter_dropped_total_; }

 private:
  Outbox(SqliteDb db, Options options);
  // Opens options_.path into db_ and checks it; `damage` says why when it is not usable.
  Status open_file(int* from_version, std::string* damage);
  // Finalizes the prepared statements, then closes the connection (recover(), ~Outbox()).
  void close_file();
  // Every prepared statement member, in prepare_statements()' order.
  std::array<Statement*, 9> statements();
  Status restore_salvaged(const SalvagedRows& rows, const std::string& reason, OpenReport* out);
  Status load();
  Status load_counters(bool* found);
  // At the start of each write transaction: the file's counters replace the in-memory ones.
  Status sync_counters();
  Status prepare_statements();
  Status evict_if_needed();
  Status quarantine(const std::vector<int64_t>& seqs);
  // Batch record indexes -> their entries -> dead_letter_entries().
  Status move_to_dead_letters(const std::vector<std::pair<size_t, DeadLetterReason>>& rejected);
  // The in-memory counters, saved before a transaction and restored when it fails, so that
  // memory always matches the file.
  struct CounterSnapshot {
    uint64_t queued_records;
    uint64_t queued_bytes;
    uint64_t dead_letters;
    uint64_t evicted;
    uint64_t dead_letters_dropped;
    int64_t last_seq;
  };
  CounterSnapshot snapshot() const;
  void restore(const CounterSnapshot& saved);
  Status write_counters();
  Status refresh_oldest();
  Status delete_batch_row(int64_t id);
  // After a delivered batch: gives free pages back to the file system when most of the file is
  // free (VACUUM), and truncates the WAL when the outbox is drained. Best effort.
  void shrink();
  // Full disk. with_room() runs `body` (one write transaction that restores memory when it
  // fails) and, when it fails with SQLITE_FULL, makes room and runs it again (at most twice):
  // first a checkpoint of the whole WAL, so that the next transaction writes the WAL from its
  // start over frames already on disk instead of growing it; then, when `may_release` (a write
  // delivery needs), the reserve. Returns the last attempt's status.
  template <typename Body>
  Status with_room(bool may_release, Body body);
  // wal_checkpoint(RESTART) without waiting for other processes' readers: true when every
  // frame reached the database (the next writer starts the WAL over).
  bool checkpoint_all();
  // After a commit that grew the database: a passive checkpoint when the WAL holds more than
  // kReserveBytes / 2 of pages past the end of the database file.
  void bound_wal_growth();
  // The reserve file: written when missing (best effort: nothing is left behind when the disk
  // has no room for all of it), and deleted. Both through the outbox's VFS.
  bool create_reserve();
  bool release_reserve();
  std::string encode(const std::string& plain) const;
  Result<std::string> decode(std::string stored) const;

  SqliteDb db_;
  Options options_;
  std::map<std::string, std::string> meta_;
  std::deque<Batch> batches_;  // persisted batches, oldest first (references stay valid)
  uint64_t queued_records_ = 0;
  uint64_t queued_bytes_ = 0;
  uint64_t dead_letter_count_ = 0;
  uint64_t evicted_total_ = 0;
  uint64_t dead_letter_dropped_total_ = 0;
  // The dead_letters table, on db_ and the counters above.
  DeadLetters dead_letters_{
      &db_,
      options_.max_dead_letters,
      {&queued_records_, &queued_bytes_, &dead_letter_count_, &dead_letter_dropped_total_}};
  int64_t oldest_wall_ms_ = 0;
  int64_t first_seq_ = 0;
  int64_t last_seq_ = 0;
  int64_t data_version_ = -1;
  bool reserve_released_ = false;
  Statement insert_entry_;
  Statement read_counters_;
  Statement data_version_stmt_;
  Statement upsert_meta_;
  Statement delete_meta_;
  Statement read_entries_;
  Statement count_attempt_;
  Statement sum_range_;
  Statement delete_range_;
};

}  // namespace outbox
}  // namespace experiture
