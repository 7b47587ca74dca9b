#include "outbox/outbox.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include <system_error>
#include "json/json.hpp"

#include "outbox/migrations.hpp"
#include "outbox/salvage.hpp"

namespace experiture {
namespace outbox {
namespace {

// Bytes charged per row on top of its variable columns (rowid, integers, record header).
constexpr int64_t kRowOverheadBytes = 32;

int64_t row_bytes(const Entry& e, size_t stored_payload_size) {
  return static_cast<int64_t>(stored_payload_size + e.object.size() + e.match_key.size()) +
         kRowOverheadBytes;
}

constexpr const char* kDeliveredThroughKey = "delivered_through";
constexpr const char* kDamageSalvagedKey = "damage.salvaged";
constexpr const char* kDamageLostKey = "damage.lost";
constexpr const char* kDamageLastKey = "damage.last";

std::string encode_sources(const std::vector<std::vector<int64_t>>& sources) {
  std::string out;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (i > 0) out += ';';
    for (size_t j = 0; j < sources[i].size(); ++j) {
      if (j > 0) out += ',';
      out += std::to_string(sources[i][j]);
    }
  }
  return out;
}

std::vector<std::vector<int64_t>> decode_sources(const std::string& text) {
  std::vector<std::vector<int64_t>> out(1);
  int64_t value = 0;
  bool have = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      have = true;
    } else {
      if (have) out.back().push_back(value);
      value = 0;
      have = false;
      if (c == ';') out.emplace_back();
    }
  }
  if (have) out.back().push_back(value);
  if (out.size() == 1 && out[0].empty()) out.clear();
  return out;
}

int64_t now_wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Identity values (email, phone, push token) are personal data: sealed like payloads.
bool is_private_meta(const std::string& key) {
  return key.rfind("identity.", 0) == 0;
}

// Result codes that say the file is fine but the moment is not (busy, disk full, I/O error,
// permissions, memory): the open fails and is tried again later. Any other failure to open,
// check, migrate or load the outbox means the file is not a usable outbox.
bool is_transient_rc(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_INTERRUPT:
      return true;
    default:
      return false;
  }
}

uint64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

// Newer SDKs add migrations one at a time: a version beyond this is damage, not the future.
constexpr int kMaxPlausibleSchemaVersion = 1000;

bool starts_with_sqlite_magic(const std::string& path, uint64_t size) {
  if (size < 100) return false;
  char head[16] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof(head));
  return in.gcount() == 16 && std::string(head, 16) == std::string("SQLite format 3\0", 16);
}

// Non-throwing decimal parse of a counter value ("" or garbage: nullopt).
std::optional<int64_t> parse_int(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Creates the file owner-only before SQLite touches it; SQLite gives -wal/-shm the same mode.
// An existing file (and its -wal/-shm) loses any group and other access: an outbox created by
// an older version, by hand or under a loose umask holds personal data too.
void create_private_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string file = path + suffix;
      if (!std::filesystem::exists(file, ec)) continue;
      std::filesystem::permissions(
          file, std::filesystem::perms::group_all | std::filesystem::perms::others_all,
          std::filesystem::perm_options::remove, ec);
    }
    return;
  }
  { std::ofstream create(path, std::ios::binary); }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace, ec);
}

int64_t pragma_int(SqliteDb& db, const char* sql) {
  auto stmt = db.prepare(sql);
  if (!stmt.is_ok() || stmt->step() != SQLITE_ROW) return -1;
  return stmt->column_int(0);
}

// Bytes of WAL between automatic checkpoints, and what the WAL is cut back to after one. A page
// rewritten many times between two checkpoints (the counters, the entries leaf being filled,
// the pages a batch body reuses) reaches the database file once per checkpoint: a longer
// interval writes less (bench drain_write_amplification at the default cap: 3.2 with 1 MiB,
// 2.97 with 4 MiB). The WAL counts against the byte cap's slack, so the interval is 1/16 of
// max_bytes, kept within [1 MiB, 4 MiB] (4 MiB at the default 64 MiB cap and with no cap).
int64_t wal_checkpoint_bytes(int64_t max_bytes) {
  constexpr int64_t kMin = 1024 * 1024;
  constexpr int64_t kMax = 4 * 1024 * 1024;
  if (max_bytes <= 0) return kMax;  // no cap
  return std::min(kMax, std::max(kMin, max_bytes / 16));
}

Status configure(SqliteDb& db, int64_t wal_bytes) {
  // A new file (no pages yet) gets small pages, fixed once the first table exists (in WAL mode
  // even VACUUM keeps the size). A group commit rewrites whole pages (the entries leaf it
  // appends to, the counters' page, the interior pages above them), so with 1 KiB pages a
  // few-record commit writes far fewer bytes than with 4 KiB ones (bench disk_bytes_per_event).
  if (pragma_int(db, "PRAGMA page_count") == 0) {
    Status status = db.exec(("PRAGMA page_size=" + std::to_string(Outbox::kPageSizeBytes)).c_str());
    if (!status.is_ok()) return status;
  }
  // FULL: a committed group survives power loss too, not only an app kill. Group commit keeps
  // the number of syncs low. The WAL is checkpointed every `wal_bytes` instead of SQLite's 1000
  // pages and cut back to that size after each checkpoint, so that outbox + WAL on disk stay
  // near the byte cap plus one commit group plus `wal_bytes` (tests/fault/outbox_cap_test.cpp).
  // secure_delete=FAST: deleted rows are zeroed on the b-tree pages a delete writes anyway, but
  // freed pages are not rewritten with zeros (Debian's SQLite defaults to ON, which doubled
  // what a drain writes); shrink() then cuts free pages off the end of the file.
  Status status = db.exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;"
      "PRAGMA busy_timeout=2000; PRAGMA secure_delete=FAST;");
  if (!status.is_ok()) return status;
  const int64_t page_size = std::max<int64_t>(512, pragma_int(db, "PRAGMA page_size"));
  status = db.exec(("PRAGMA wal_autocheckpoint=" + std::to_string(wal_bytes / page_size) +
                    "; PRAGMA journal_size_limit=" + std::to_string(wal_bytes) + ";")
                       .c_str());
  if (!status.is_ok()) return status;
  return migrate(db, Outbox::kSchemaVersion);
}

// Commits inside its scope are not fsynced (WAL with synchronous=NORMAL): they survive an app
// kill, and the next FULL commit syncs them too, in order. Only for commits whose loss on power
// failure is harmless: the attempt counter, and completing a delivered batch (the batch comes
// back and is re-sent with the same key and bytes; the server replays its stored result).
// Saves two of the three fsyncs per delivered batch.
class RelaxedSync {
 public:
  explicit RelaxedSync(SqliteDb& db) : db_(db) { db_.exec("PRAGMA synchronous=NORMAL"); }
  ~RelaxedSync() { db_.exec("PRAGMA synchronous=FULL"); }
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;

 private:
  SqliteDb& db_;
};

// The reserve file's I/O through `vfs_name` ("" = the default VFS), with a name SQLite's VFSes
// accept (double NUL terminated; "-reserve" gives it the database file's mode, owner-only).
class VfsFile {
 public:
  VfsFile(const std::string& vfs_name, const std::string& path)
      : vfs_(sqlite3_vfs_find(vfs_name.empty() ? nullptr : vfs_name.c_str())), name_(path) {
    name_.append(2, '\0');
  }
  ~VfsFile() { close(); }
  VfsFile(const VfsFile&) = delete;
  VfsFile& operator=(const VfsFile&) = delete;

  bool open() {
    if (vfs_ == nullptr) return false;
    storage_.assign((static_cast<size_t>(vfs_->szOsFile) + sizeof(std::max_align_t) - 1) /
                        sizeof(std::max_align_t),
                    std::max_align_t());
    file_ = reinterpret_cast<sqlite3_file*>(storage_.data());
    file_->pMethods = nullptr;
    int out_flags = 0;
    const int rc = vfs_->xOpen(
        vfs_, name_.c_str(), file_,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_JOURNAL, &out_flags);
    if (rc != SQLITE_OK) close();
    return rc == SQLITE_OK;
  }
  int write(const void* data, int amount, int64_t offset) {
    return file_->pMethods->xWrite(file_, data, amount, offset);
  }
  int truncate(int64_t size) { return file_->pMethods->xTruncate(file_, size); }
  int sync() { return file_->pMethods->xSync(file_, SQLITE_SYNC_NORMAL); }
  void close() {
    if (file_ != nullptr && file_->pMethods != nullptr) file_->pMethods->xClose(file_);
    file_ = nullptr;
  }
  bool remove() { return vfs_ != nullptr && vfs_->xDelete(vfs_, name_.c_str(), 0) == SQLITE_OK; }

 private:
  sqlite3_vfs* vfs_;
  std::string name_;
  std::vector<std::max_align_t> storage_;
  sqlite3_file* file_ = nullptr;
};

}  // namespace

template <typename Body>
Status Outbox::with_room(bool may_release, Body body) {
  Status status = body();
  for (int attempt = 0; attempt < 2 && status.code() == Code::kStorageFull; ++attempt) {
    // First the WAL's own space (the checkpoint writes inside the database file's pages, or
    // grows it by at most kReserveBytes / 2, see bound_wal_growth()); then the reserve.
    bool changed = attempt == 0 && checkpoint_all();
    if (!changed && may_release && release_reserve()) {
      checkpoint_all();
      changed = true;
    }
    if (!changed) break;
    status = body();
  }
  return status;
}

bool Outbox::checkpoint_all() {
  sqlite3_busy_timeout(db_.handle(), 0);  // another process's reader: not waited for
  int log_frames = -1;
  int checkpointed = -1;
  const int rc = sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_RESTART,
                                           &log_frames, &checkpointed);
  sqlite3_busy_timeout(db_.handle(), 2000);
  return rc == SQLITE_OK && log_frames == checkpointed;
}

void Outbox::bound_wal_growth() {
  const int64_t page_size = pragma_int(db_, "PRAGMA page_size");
  const int64_t pages = pragma_int(db_, "PRAGMA page_count");
  if (page_size <= 0 || pages <= 0) return;
  const int64_t past_end =
      pages * page_size - static_cast<int64_t>(file_size_or_zero(options_.path));
  if (past_end <= kReserveBytes / 2) return;
  sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

bool Outbox::create_reserve() {
  if (static_cast<int64_t>(file_size_or_zero(reserve_path())) >= kReserveBytes) {
    reserve_released_ = false;
    return true;
  }
  VfsFile reserve(options_.vfs, reserve_path());
  if (!reserve.open()) return false;
  // Zeros from the heap, not a static array: 64 KiB of .rodata would be 64 KiB more library.
  const std::vector<char> zeros(64 * 1024, '\0');
  int rc = SQLITE_OK;
  for (int64_t offset = 0; rc == SQLITE_OK && offset < kReserveBytes;
       offset += static_cast<int64_t>(zeros.size())) {
    rc = reserve.write(zeros.data(), static_cast<int>(zeros.size()), offset);
  }
  if (rc == SQLITE_OK) rc = reserve.sync();
  if (rc != SQLITE_OK) {
    // No room for all of it: whatever was written goes back at once.
    reserve.truncate(0);
    reserve.close();
    reserve.remove();
    return false;
  }
  reserve.close();
  reserve_released_ = false;
  return true;
}

bool Outbox::release_reserve() {
  if (file_size_or_zero(reserve_path()) == 0) return false;
  VfsFile reserve(options_.vfs, reserve_path());
  const bool removed = reserve.remove();
  if (removed) reserve_released_ = true;
  return removed;
}

Result<std::unique_ptr<Outbox>> Outbox::open(const Options& options, OpenReport* report) {
  OpenReport local;
  OpenReport& out = report != nullptr ? *report : local;
  out = OpenReport();
  std::unique_ptr<Outbox> outbox(new Outbox(SqliteDb(), options));
  std::string damage;
  Status status = outbox->open_file(&out.from_version, &damage);
  if (status.is_ok()) return outbox;
  if (damage.empty()) return status;  // busy, full, I/O, permissions: the file is kept as it is
  // Keep the bytes for support, salvage what can be read, start a fresh outbox with it.
  status = outbox->recover(damage, &out);
  if (!status.is_ok()) return status;
  return outbox;
}

Status Outbox::open_file(int* from_version, std::string* damage) {
  // A WAL left behind means the last connection did not close cleanly (a kill, a power cut,
  // or another process still has the file open): then the pages are checked once.
  const bool unclean = file_size_or_zero(options_.path + "-wal") > 0;
  // SQLite takes a file shorter than its header for an empty database: not when it has bytes.
  const uint64_t size = file_size_or_zero(options_.path);
  if (size > 0 && !starts_with_sqlite_magic(options_.path, size)) {
    *damage = "not an SQLite database (header damaged or file cut short)";
    return Status(Code::kStorageError, *damage);
  }
  create_private_file(options_.path);
  auto db = SqliteDb::open(options_.path, options_.vfs);
  if (!db.is_ok()) return db.status();
  db_ = std::move(db).value();
  // Before the first read: another process may hold a lock for a moment (WAL recovery).
  db_.exec("PRAGMA busy_timeout=2000");
  auto failed = [&](Status status) {
    const int rc = db_.last_error_rc();
    if (db_.corrupt() || (rc != SQLITE_OK && !is_transient_rc(rc))) *damage = status.message();
    return status;
  };
  auto version = schema_version(db_);
  if (!version.is_ok()) return failed(version.status());
  *from_version = version.value();
  if (version.value() < 0 || version.value() > kMaxPlausibleSchemaVersion) {
    *damage = "schema version " + std::to_string(version.value()) +
              " is not one any SDK writes (header bytes 60-63 damaged)";
    return Status(Code::kStorageError, *damage);
  }
  if (version.value() == 0) {
    // A new file has no tables. Tables with a zero version: the header was damaged (bytes
    // 60-63), and migrating would fail for good with "table meta already exists".
    auto tables = db_.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
    if (!tables.is_ok()) return failed(tables.status());
    const int rc = tables->step();
    if (rc != SQLITE_ROW) return failed(db_.error(rc, "read schema"));
    if (tables->column_int(0) > 0) {
      *damage = "the header's schema version reads 0 but the outbox tables exist";
      return Status(Code::kStorageError, *damage);
    }
  } else if (unclean && wal_damaged(options_.path + "-wal")) {
    *damage =
        "the WAL is damaged: a long run of committed frames follows one that fails its checksum";
    return Status(Code::kStorageError, *damage);
  } else if (unclean) {
    auto check = db_.prepare("PRAGMA quick_check(1)");
    if (!check.is_ok()) return failed(check.status());
    const int rc = check->step();
    if (rc != SQLITE_ROW) return failed(db_.error(rc, "quick_check"));
    const std::string verdict = check->column_text(0);
    if (verdict != "ok") {
      *damage = "integrity check after an unclean close: " + verdict;
      return Status(Code::kStorageError, *damage);
    }
  }
  Status status = configure(db_, wal_checkpoint_bytes(options_.max_bytes));
  if (status.is_ok()) status = prepare_statements();
  if (status.is_ok()) status = load();
  if (!status.is_ok()) return failed(status);
  // Best effort: on a full disk the outbox opens without it (and reports it released).
  if (!create_reserve()) reserve_released_ = true;
  return Status::ok();
}

std::array<Statement*, 9> Outbox::statements() {
  return {&insert_entry_, &upsert_meta_,  &delete_meta_,   &read_entries_,     &count_attempt_,
          &sum_range_,    &delete_range_, &read_counters_, &data_version_stmt_};
}

void Outbox::close_file() {
  // Statements first: a connection closes only once its statements are finalized.
  for (Statement* statement : statements()) *statement = Statement();
  db_ = SqliteDb();
}

Status Outbox::recover(const std::string& reason, OpenReport* report) {
  OpenReport local;
  OpenReport& out = report != nullptr ? *report : local;
  out.recovered = true;
  out.reason = reason;
  // Read first (the WAL too), then move aside: the moved file is kept for support. Closing must
  // not checkpoint: SQLite would fold the WAL's readable prefix in and delete the rest.
  SalvagedRows rows = salvage_rows(options_.path, options_.path + "-wal");
  if (db_.handle() != nullptr) {
    sqlite3_db_config(db_.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }
  close_file();
  out.moved_to = options_.path + ".corrupt-" + std::to_string(now_wall_ms());
  std::error_code ec;
  std::filesystem::rename(options_.path, out.moved_to, ec);
  if (ec) std::filesystem::remove(options_.path, ec);
  std::filesystem::rename(options_.path + "-wal", out.moved_to + "-wal", ec);
  if (ec) std::filesystem::remove(options_.path + "-wal", ec);
  std::filesystem::remove(options_.path + "-shm", ec);
  batches_.clear();
  meta_.clear();
  queued_records_ = queued_bytes_ = dead_letter_count_ = 0;
  first_seq_ = last_seq_ = oldest_wall_ms_ = 0;
  data_version_ = -1;
  create_private_file(options_.path);
  auto db = SqliteDb::open(options_.path, options_.vfs);
  if (!db.is_ok()) return db.status();
  db_ = std::move(db).value();
  out.from_version = 0;
  Status status = configure(db_, wal_checkpoint_bytes(options_.max_bytes));
  if (status.is_ok()) status = prepare_statements();
  if (status.is_ok()) status = restore_salvaged(rows, reason, &out);
  if (status.is_ok()) status = load();
  return status;
}
Status Outbox::restore_salvaged(const SalvagedRows& rows, const std::string& reason,
                                OpenReport* out) {
  auto max_of = [&rows](const char* key) {
    int64_t best = 0;
    auto it = rows.meta.find(key);
    if (it == rows.meta.end()) return best;
    for (const auto& v : it->second) best = std::max(best, parse_int(v).value_or(0));
    return best;
  };
  // Every entry up to here was delivered (it only grows, so stale copies cannot mislead):
  // older rows still readable on freed pages are not sent again.
  const int64_t delivered_through = max_of(kDeliveredThroughKey);
  int64_t last_seq = max_of("last_seq");
  Transaction tx(db_);
  if (!tx.status().is_ok()) return tx.status();
  Status status;
  for (const auto& m : rows.meta) {
    const std::string& key = m.first;
    if (key == "queued_records" || key == "queued_bytes" || key == "last_seq" ||
        key == "dead_letters" || key == kDeliveredThroughKey || key.rfind("damage.", 0) == 0) {
      continue;  // recomputed below
    }
    upsert_meta_.reset();
    status = upsert_meta_.bind(1, key).bind_blob(2, m.second.back()).run(db_, "salvage meta");
    if (!status.is_ok()) return status;
    ++out->salvaged_other;
  }
  std::set<int64_t> covered;  // entry seqs whose records were salvaged (as entries or in a batch)
  // A batch goes back with its key and body when some of its records were not delivered, and
  // its body reads (a damaged one: its entries are batched again).
  auto restorable = [&](const SalvagedBatch& b, int64_t* highest, int64_t* lowest) {
    const auto sources = decode_sources(b.sources);
    *highest = 0;
    *lowest = INT64_MAX;
    for (const auto& s : sources) {
      for (int64_t seq : s) {
        *highest = std::max(*highest, seq);
        *lowest = std::min(*lowest, seq);
      }
    }
    if (sources.empty() || *highest <= delivered_through) return false;  // delivered already
    auto body = decode(b.body);
    if (!body.is_ok()) return false;
    return options_.codec.open || json::accept(body.value());
  };
  std::map<int64_t, const SalvagedBatch*> restored;  // by lowest seq: the order they are sent in
  std::set<std::string> keys;
  for (const auto& item : rows.batches) {
    int64_t highest = 0, lowest = 0;
    if (!restorable(item.second, &highest, &lowest) ||
        !restored.emplace(lowest, &item.second).second)
      continue;
    keys.insert(item.second.idempotency_key);
    for (const auto& s : decode_sources(item.second.sources)) covered.insert(s.begin(), s.end());
    last_seq = std::max(last_seq, highest);
  }
  // A record that was sent is in a batch persisted before the send. When the newest versions of
  // the pages show the record queued but in no batch (a power cut let only part of the
  // transaction that completed its batch reach the disk), an older version of the batch row
  // still has it: that batch goes back with its own key, so the server replays it instead of
  // applying the record again under a new key.
  std::set<int64_t> unbatched;
  for (const auto& item : rows.entries) {
    if (item.first > delivered_through && covered.count(item.first) == 0)
      unbatched.insert(item.first);
  }
  for (const auto& item : rows.batch_history) {
    const SalvagedBatch& b = item.second;
    if (unbatched.empty()) break;
    if (keys.count(b.idempotency_key) != 0) continue;
    bool needed = false, overlaps = false;
    const auto sources = decode_sources(b.sources);
    for (const auto& s : sources) {
      for (int64_t seq : s) {
        needed = needed || unbatched.count(seq) != 0;
        overlaps = overlaps || covered.count(seq) != 0;
      }
    }
    int64_t highest = 0, lowest = 0;
    if (!needed || overlaps || !restorable(b, &highest, &lowest) ||
        !restored.emplace(lowest, &b).second) {
      continue;
    }
    keys.insert(b.idempotency_key);
    for (const auto& s : sources) {
      for (int64_t seq : s) {
        covered.insert(seq);
        unbatched.erase(seq);
      }
    }
    last_seq = std::max(last_seq, highest);
  }
  auto insert_batch = db_.prepare(
      "INSERT INTO batches(id, object, kind, match_key, idempotency_key, body, sources, attempts)"
      " VALUES(?,?,?,?,?,?,?,?)");
  if (!insert_batch.is_ok()) return insert_batch.status();
  int64_t id = 0;
  for (const auto& item : restored) {
    const SalvagedBatch& b = *item.second;
    insert_batch->reset();
    status = insert_batch->bind(1, ++id)
                 .bind(2, b.object)
                 .bind(3, b.kind)
                 .bind(4, b.match_key)
                 .bind(5, b.idempotency_key)
                 .bind_blob(6, b.body)
                 .bind(7, b.sources)
                 .bind(8, b.attempts)
                 .run(db_, "salvage batch");
    if (!status.is_ok()) return status;
    ++out->salvaged_batches;
  }
  for (const auto& item : rows.entries) {
    const SalvagedEntry& e = item.second;
    if (e.seq <= delivered_through) continue;
    auto plain = decode(e.payload);
    if (!plain.is_ok()) continue;
    if (!options_.codec.open && !json::accept(plain.value())) continue;
    insert_entry_.reset();
    status = insert_entry_.bind(1, e.seq)
                 .bind(2, e.object)
                 .bind(3, e.kind)
                 .bind(4, e.match_key)
                 .bind_blob(5, e.payload)
                 .bind(6, e.wall_ms)
                 .bind(7, e.mono_ms)
                 .bind(8, e.flags)
                 .run(db_, "salvage entry");
    if (!status.is_ok()) return status;
    covered.insert(e.seq);
    last_seq = std::max(last_seq, e.seq);
  }
  auto insert_dead = db_.prepare(
      "INSERT INTO dead_letters(object, kind, match_key, payload, wall_ms, mono_ms, flags,"
      " http_status, code, message, correlation_id, failed_at_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!insert_dead.is_ok()) return insert_dead.status();
  for (const auto& d : rows.dead_letters) {
    insert_dead->reset();
    status = insert_dead->bind(1, d.object)
                 .bind(2, d.kind)
                 .bind(3, d.match_key)
                 .bind_blob(4, d.payload)
                 .bind(5, d.wall_ms)
                 .bind(6, d.mono_ms)
                 .bind(7, d.flags)
                 .bind(8, d.http_status)
                 .bind(9, d.code)
                 .bind(10, d.message)
                 .bind(11, d.correlation_id)
                 .bind(12, d.failed_at_ms)
                 .run(db_, "salvage dead letter");
    if (!status.is_ok()) return status;
    ++out->salvaged_other;
  }
  // Lost: every seq the file had handed out after the delivered ones and not salvaged (an upper
  // bound: entries dead-lettered or evicted since the last delivery count too).
  uint64_t salvaged = 0;
  for (int64_t seq : covered) {
    if (seq > delivered_through) ++salvaged;
  }
  const uint64_t handed_out =
      last_seq > delivered_through ? static_cast<uint64_t>(last_seq - delivered_through) : 0;
  out->salvaged_entries = salvaged;
  out->lost_entries = handed_out > salvaged ? handed_out - salvaged : 0;
  {
    auto count = db_.prepare(std::string("SELECT count(*), coalesce(sum(") + kRowBytesSql +
                             "),0) FROM entries");
    if (!count.is_ok()) return count.status();
    if (count->step() != SQLITE_ROW) return db_.error(SQLITE_ERROR, "count salvaged entries");
    queued_records_ = static_cast<uint64_t>(count->column_int(0));
    queued_bytes_ = static_cast<uint64_t>(count->column_int(1));
  }
  dead_letter_count_ = rows.dead_letters.size();
  last_seq_ = last_seq;
  status = write_counters();
  // The report, persisted: status in any later process shows it.
  const std::pair<std::string, std::string> report[] = {
      {kDeliveredThroughKey, std::to_string(delivered_through)},
      {kDamageSalvagedKey, std::to_string(max_of(kDamageSalvagedKey) + out->salvaged_entries)},
      {kDamageLostKey, std::to_string(max_of(kDamageLostKey) + out->lost_entries)},
      {kDamageLastKey, reason + "; moved to " + out->moved_to},
  };
  for (const auto& r : report) {
    if (!status.is_ok()) break;
    upsert_meta_.reset();
    status = upsert_meta_.bind(1, r.first).bind(2, r.second).run(db_, "write damage report");
  }
  if (status.is_ok()) status = tx.commit();
  return status;
}

Outbox::Outbox(SqliteDb db, Options options) : db_(std::move(db)), options_(std::move(options)) {}

Outbox::~Outbox() {
  close_file();
}

Status Outbox::prepare_statements() {
  // In the order of statements().
  const std::string sql[] = {
      "INSERT INTO entries(seq, object, kind, match_key, payload, wall_ms, mono_ms, flags)"
      " VALUES(?,?,?,?,?,?,?,?)",
      "INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)",
      "DELETE FROM meta WHERE key = ?",
      "SELECT seq, object, kind, match_key, payload, wall_ms, mono_ms, flags FROM entries"
      " WHERE seq > ? ORDER BY seq LIMIT ?",
      // Per batch: counted before each send, then the delivered range summed and deleted.
      "UPDATE batches SET attempts = attempts + 1 WHERE id = ?",
      std::string("SELECT count(*), coalesce(sum(") + kRowBytesSql +
          "),0) FROM entries WHERE seq BETWEEN ? AND ?",
      "DELETE FROM entries WHERE seq BETWEEN ? AND ?",
      "SELECT key, value FROM meta WHERE key IN"
      " ('queued_records','queued_bytes','last_seq','dead_letters')",
      "PRAGMA data_version",
  };
  const std::array<Statement*, 9> into = statements();
  for (size_t i = 0; i < into.size(); ++i) {
    auto prepared = db_.prepare(sql[i]);
    if (!prepared.is_ok()) return prepared.status();
    *into[i] = std::move(prepared).value();
  }
  return Status::ok();
}

Status Outbox::load_counters(bool* found) {
  read_counters_.reset();
  int seen = 0;
  int64_t values[4] = {0, 0, 0, 0};
  int rc;
  while ((rc = read_counters_.step()) == SQLITE_ROW) {
    const std::string key = read_counters_.column_text(0);
    const std::string text = read_counters_.column_text(1);
    int64_t value = 0;
    for (char c : text) {
      if (c < '0' || c > '9') break;
      value = value * 10 + (c - '0');
    }
    const int index = key == "queued_records" ? 0
                      : key == "queued_bytes" ? 1
                      : key == "last_seq"     ? 2
                                              : 3;
    values[index] = value;
    ++seen;
  }
  read_counters_.reset();
  if (rc != SQLITE_DONE) return db_.error(rc, "read counters");
  *found = seen == 4;
  if (*found) {
    queued_records_ = static_cast<uint64_t>(values[0]);
    queued_bytes_ = static_cast<uint64_t>(values[1]);
    last_seq_ = std::max(last_seq_, values[2]);
    dead_letter_count_ = static_cast<uint64_t>(values[3]);
  }
  return Status::ok();
}

Status Outbox::sync_counters() {
  // Another process may have committed since this one last looked: the file is the truth.
  bool found = false;
  return load_counters(&found);
}

Status Outbox::refresh_if_changed(bool batches) {
  data_version_stmt_.reset();
  const int rc = data_version_stmt_.step();
  const int64_t version = rc == SQLITE_ROW ? data_version_stmt_.column_int(0) : -1;
  data_version_stmt_.reset();
  if (rc != SQLITE_ROW) return db_.error(rc, "read data version");
  if (version == data_version_) return Status::ok();
  data_version_ = version;
  if (batches) return reload();
  bool found = false;
  Status status = load_counters(&found);
  if (!status.is_ok()) return status;
  return refresh_oldest();
}

Status Outbox::reload() {
  batches_.clear();
  meta_.clear();
  return load();
}

Status Outbox::load() {
  auto meta = db_.prepare("SELECT key, value FROM meta");
  if (!meta.is_ok()) return meta.status();
  int rc;
  while ((rc = meta->step()) == SQLITE_ROW) {
    std::string key = meta->column_text(0);
    std::string value = meta->column_text(1);
    if (is_private_meta(key)) {
      auto opened = decode(value);
      if (!opened.is_ok()) continue;  // unreadable with this key: treated as absent
      value = std::move(opened).value();
    }
    meta_[key] = std::move(value);
  }
  if (rc != SQLITE_DONE) return db_.error(rc, "read meta");

  auto number = [this](const char* key) -> std::optional<int64_t> {
    auto it = meta_.find(key);
    if (it == meta_.end()) return std::nullopt;
    return parse_int(it->second);
  };
  auto records = number("queued_records");
  auto bytes = number("queued_bytes");
  auto last = number("last_seq");
  auto dead = number("dead_letters");
  if (records && bytes && last && dead) {
    queued_records_ = static_cast<uint64_t>(*records);
    queued_bytes_ = static_cast<uint64_t>(*bytes);
    last_seq_ = *last;
    dead_letter_count_ = static_cast<uint64_t>(*dead);
  } else {
    // Counters are kept in meta so that opening a large outbox scans nothing; rebuild them once
    // for a file that has none (new, or migrated from an older schema).
    auto count = db_.prepare(std::string("SELECT count(*), coalesce(sum(") + kRowBytesSql +
                             "),0), coalesce(max(seq),0) FROM entries");
    if (!count.is_ok()) return count.status();
    if (count->step() != SQLITE_ROW) return db_.error(SQLITE_ERROR, "count entries");
    queued_records_ = static_cast<uint64_t>(count->column_int(0));
    queued_bytes_ = static_cast<uint64_t>(count->column_int(1));
    last_seq_ = count->column_int(2);
    auto dl = db_.prepare("SELECT count(*), coalesce(max(id),0) FROM dead_letters");
    if (!dl.is_ok()) return dl.status();
    if (dl->step() != SQLITE_ROW) return db_.error(SQLITE_ERROR, "count dead letters");
    dead_letter_count_ = static_cast<uint64_t>(dl->column_int(0));
  }
  auto batch = db_.prepare(
      "SELECT id, object, kind, match_key, idempotency_key, body, sources, attempts FROM batches"
      " ORDER BY id");
  if (!batch.is_ok()) return batch.status();
  while (batch->step() == SQLITE_ROW) {
    Batch b;
    b.id = batch->column_int(0);
    b.object = batch->column_text(1);
    b.kind = static_cast<WriteKind>(batch->column_int(2));
    b.match_key = batch->column_text(3);
    b.idempotency_key = batch->column_text(4);
    auto body = decode(batch->column_text(5));
    if (!body.is_ok()) return body.status();
    b.body = std::move(body).value();
    b.sources = decode_sources(batch->column_text(6));
    b.attempts = static_cast<int>(batch->column_int(7));
    batches_.push_back(std::move(b));
  }
  return refresh_oldest();
}

uint64_t Outbox::damage_salvaged_total() const {
  auto it = meta_.find(kDamageSalvagedKey);
  return it == meta_.end() ? 0 : static_cast<uint64_t>(parse_int(it->second).value_or(0));
}

uint64_t Outbox::damage_lost_total() const {
  auto it = meta_.find(kDamageLostKey);
  return it == meta_.end() ? 0 : static_cast<uint64_t>(parse_int(it->second).value_or(0));
}

std::optional<std::string> Outbox::meta(const std::string& key) const {
  auto it = meta_.find(key);
  if (it == meta_.end()) return std::nullopt;
  return it->second;
}

std::string Outbox::encode(const std::string& plain) const {
  return options_.codec.seal ? options_.codec.seal(plain) : plain;
}

Result<std::string> Outbox::decode(std::string stored) const {
  if (options_.codec.open) return options_.codec.open(stored);
  return stored;  // unsealed: moved (a by-value parameter), not copied again
}

Outbox::CounterSnapshot Outbox::snapshot() const {
  return CounterSnapshot{queued_records_,
                         queued_bytes_,
                         dead_letter_count_,
                         evicted_total_,
                         dead_letter_dropped_total_,
                         last_seq_};
}

void Outbox::restore(const CounterSnapshot& saved) {
  queued_records_ = saved.queued_records;
  queued_bytes_ = saved.queued_bytes;
  dead_letter_count_ = saved.dead_letters;
  evicted_total_ = saved.evicted;
  dead_letter_dropped_total_ = saved.dead_letters_dropped;
  last_seq_ = saved.last_seq;
}

Status Outbox::write_counters() {
  const std::pair<const char*, int64_t> counters[] = {
      {"queued_records", static_cast<int64_t>(queued_records_)},
      {"queued_bytes", static_cast<int64_t>(queued_bytes_)},
      {"last_seq", last_seq_},
      {"dead_letters", static_cast<int64_t>(dead_letter_count_)},
  };
  for (const auto& c : counters) {
    std::string value = std::to_string(c.second);
    upsert_meta_.reset();
    Status status = upsert_meta_.bind(1, c.first).bind(2, value).run(db_, "write counters");
    if (!status.is_ok()) return status;
  }
  return Status::ok();
}

Status Outbox::refresh_oldest() {
  auto stmt = db_.prepare("SELECT seq, wall_ms FROM entries ORDER BY seq LIMIT 1");
  if (!stmt.is_ok()) return stmt.status();
  int rc = stmt->step();
  if (rc == SQLITE_ROW) {
    first_seq_ = stmt->column_int(0);
    oldest_wall_ms_ = stmt->column_int(1);
  } else if (rc == SQLITE_DONE) {
    first_seq_ = 0;
    oldest_wall_ms_ = 0;
  } else {
    return db_.error(rc, "read oldest entry");
  }
  return Status::ok();
}

Status Outbox::commit(std::vector<Entry>& entries, const MetaUpdates& meta) {
  // Counters are restored if the transaction fails, so memory always matches the file.
  const CounterSnapshot saved = snapshot();
  auto fail = [&](Status status) {
    restore(saved);
    return status;
  };
  // New writes never take the reserve: it is kept for what delivery needs.
  const Status done = with_room(false, [&]() -> Status {
    Transaction tx(db_);
    if (!tx.status().is_ok()) return fail(tx.status());
    Status synced = sync_counters();
    if (!synced.is_ok()) return fail(synced);
    for (Entry& e : entries) {
      e.seq = ++last_seq_;
      // No copy of the payload unless it is sealed.
      std::string sealed;
      if (options_.codec.seal) sealed = encode(e.payload);
      const std::string& stored = options_.codec.seal ? sealed : e.payload;
      insert_entry_.reset();
      insert_entry_.bind(1, e.seq)
          .bind(2, e.object)
          .bind(3, static_cast<int64_t>(e.kind))
          .bind(4, e.match_key)
          .bind_blob(5, stored)
          .bind(6, e.wall_ms)
          .bind(7, e.mono_ms)
          .bind(8, static_cast<int64_t>(e.flags));
      Status status = insert_entry_.run(db_, "insert entry");
      if (!status.is_ok()) return fail(status);
      ++queued_records_;
      queued_bytes_ += static_cast<uint64_t>(row_bytes(e, stored.size()));
    }
    for (const auto& m : meta) {
      Status status;
      if (m.second) {
        upsert_meta_.reset();
        const std::string value = is_private_meta(m.first) ? encode(*m.second) : *m.second;
        status = upsert_meta_.bind(1, m.first).bind_blob(2, value).run(db_, "write meta");
      } else {
        delete_meta_.reset();
        status = delete_meta_.bind(1, m.first).run(db_, "delete meta");
      }
      if (!status.is_ok()) return fail(status);
    }
    Status status = evict_if_needed();
    if (status.is_ok()) status = write_counters();
    if (status.is_ok()) status = tx.commit();
    if (!status.is_ok()) return fail(status);
    return Status::ok();
  });
  if (!done.is_ok()) return done;
  bound_wal_growth();
  for (const auto& m : meta) {
    if (m.second) {
      meta_[m.first] = *m.second;
    } else {
      meta_.erase(m.first);
    }
  }
  if (first_seq_ == 0 || evicted_total_ != saved.evicted) return refresh_oldest();
  return Status::ok();
}

Status Outbox::evict_if_needed() {
  if (options_.max_bytes <= 0 || queued_bytes_ <= static_cast<uint64_t>(options_.max_bytes)) {
    return Status::ok();
  }
  // Oldest ordinary writes first; identity links and the batch in flight are never evicted.
  int64_t protect_through = batched_through_seq();
  auto select =
      db_.prepare(std::string("SELECT seq, ") + kRowBytesSql +
                  " FROM entries WHERE seq > ? AND (flags & 1) = 0 ORDER BY seq LIMIT 512");
  auto remove = db_.prepare("DELETE FROM entries WHERE seq = ?");
  if (!select.is_ok()) return select.status();
  if (!remove.is_ok()) return remove.status();
  while (queued_bytes_ > static_cast<uint64_t>(options_.max_bytes)) {
    select->reset();
    select->bind(1, protect_through);
    std::vector<std::pair<int64_t, int64_t>> victims;
    int rc;
    while ((rc = select->step()) == SQLITE_ROW) {
      victims.emplace_back(select->column_int(0), select->column_int(1));
    }
    if (rc != SQLITE_DONE) return db_.error(rc, "select eviction victims");
    if (victims.empty()) break;  // only identity links left: they stay, over the cap
    for (const auto& v : victims) {
      if (queued_bytes_ <= static_cast<uint64_t>(options_.max_bytes)) break;
      remove->reset();
      Status status = remove->bind(1, v.first).run(db_, "evict entry");
      if (!status.is_ok()) return status;
      --queued_records_;
      queued_bytes_ -= std::min<uint64_t>(queued_bytes_, static_cast<uint64_t>(v.second));
      ++evicted_total_;
      protect_through = v.first;
    }
  }
  return Status::ok();
}

Result<uint64_t> Outbox::purge_all() {
  uint64_t purged = 0;
  const Status done = with_room(true, [&]() -> Status {
    Transaction tx(db_);
    if (!tx.status().is_ok()) return tx.status();
    Status status = sync_counters();
    if (status.is_ok()) status = db_.exec("DELETE FROM entries; DELETE FROM batches;");
    purged = queued_records_;
    queued_records_ = 0;
    queued_bytes_ = 0;
    if (status.is_ok()) status = write_counters();
    if (status.is_ok()) status = tx.commit();
    if (!status.is_ok()) reload();
    return status;
  });
  if (!done.is_ok()) return done;
  batches_.clear();
  first_seq_ = 0;
  oldest_wall_ms_ = 0;
  return purged;
}

Result<std::vector<Entry>> Outbox::read_entries(int64_t after_seq, size_t limit) {
  for (;;) {
    std::vector<Entry> out;
    std::vector<int64_t> unreadable;
    read_entries_.reset();
    read_entries_.bind(1, after_seq).bind(2, static_cast<int64_t>(limit));
    int rc;
    while ((rc = read_entries_.step()) == SQLITE_ROW) {
      if (read_entries_.column_is_null(1) || read_entries_.column_is_null(4)) {
        // NOT NULL columns read back as NULL: a damaged page SQLite did not notice.
        read_entries_.reset();
        return db_.error(SQLITE_CORRUPT, "read entries (a row reads NULL)");
      }
      Entry e;
      e.seq = read_entries_.column_int(0);
      auto payload = decode(read_entries_.column_text(4));
      if (!payload.is_ok()) {
        unreadable.push_back(e.seq);
        continue;
      }
      e.object = read_entries_.column_text(1);
      e.kind = static_cast<WriteKind>(read_entries_.column_int(2));
      e.match_key = read_entries_.column_text(3);
      e.payload = std::move(payload).value();
      e.wall_ms = read_entries_.column_int(5);
      e.mono_ms = read_entries_.column_int(6);
      e.flags = static_cast<uint32_t>(read_entries_.column_int(7));
      out.push_back(std::move(e));
    }
    read_entries_.reset();
    if (rc != SQLITE_DONE) return db_.error(rc, "read entries");
    if (unreadable.empty()) return out;
    // A row whose seal does not verify (tampered, or sealed with a key we no longer have) is never
    // sent: it goes to dead letters, sealed bytes kept, with the reason.
    Status status = quarantine(unreadable);
    if (!status.is_ok()) return status;
  }
}

Status Outbox::quarantine(const std::vector<int64_t>& seqs) {
  DeadLetterReason reason;
  reason.code = "SDK.STORAGE.SEAL_INVALID";
  reason.message = "sealed payload failed authentication (tampered, or wrong key)";
  std::vector<std::pair<int64_t, DeadLetterReason>> rows;
  for (int64_t seq : seqs) rows.emplace_back(seq, reason);
  const CounterSnapshot saved = snapshot();
  Transaction tx(db_);
  Status status = tx.status();
  if (status.is_ok()) status = sync_counters();
  if (status.is_ok()) status = dead_letters_.move_entries(rows, now_wall_ms());
  if (status.is_ok()) status = write_counters();
  if (status.is_ok()) status = tx.commit();
  if (!status.is_ok()) {
    restore(saved);
    return status;
  }
  return refresh_oldest();
}

Status Outbox::save_batch(Batch& batch) {
  auto insert = db_.prepare(
      "INSERT INTO batches(object, kind, match_key, idempotency_key, body, sources, attempts)"
      " VALUES(?,?,?,?,?,?,0)");
  if (!insert.is_ok()) return insert.status();
  const std::string body = encode(batch.body);
  const std::string sources = encode_sources(batch.sources);
  // Delivery needs the batch persisted before its first send: it may take the reserve.
  Status status = with_room(true, [&] {
    insert->reset();
    insert->bind(1, batch.object)
        .bind(2, static_cast<int64_t>(batch.kind))
        .bind(3, batch.match_key)
        .bind(4, batch.idempotency_key)
        .bind_blob(5, body)
        .bind(6, sources);
    return insert->run(db_, "save batch");
  });
  if (!status.is_ok()) return status;
  bound_wal_growth();
  batch.id = db_.last_insert_rowid();
  batch.attempts = 0;
  batches_.push_back(batch);
  return Status::ok();
}

int64_t Outbox::batched_through_seq() const {
  int64_t through = 0;
  for (const auto& b : batches_) {
    for (const auto& s : b.sources) {
      for (int64_t seq : s) through = std::max(through, seq);
    }
  }
  return through;
}

Status Outbox::record_attempt(size_t index) {
  if (index >= batches_.size()) return Status(Code::kWrongState, "no such batch");
  // Counted in memory first: sending a persisted batch never needs a write, so a full disk
  // still delivers (and the deletes after delivery free space). The count reaches the file
  // when it can; it is informational, a lost one changes nothing that is sent.
  ++batches_[index].attempts;
  RelaxedSync relaxed(db_);
  count_attempt_.reset();
  count_attempt_.bind(1, batches_[index].id).run(db_, "count attempt");
  return Status::ok();
}

Status Outbox::move_to_dead_letters(
    const std::vector<std::pair<size_t, DeadLetterReason>>& rejected) {
  std::vector<std::pair<int64_t, DeadLetterReason>> rows;
  for (const auto& r : rejected) {
    if (r.first >= batches_.front().sources.size()) continue;
    for (int64_t seq : batches_.front().sources[r.first]) rows.emplace_back(seq, r.second);
  }
  return dead_letters_.move_entries(rows, now_wall_ms());
}

Status Outbox::delete_batch_row(int64_t id) {
  auto remove = db_.prepare("DELETE FROM batches WHERE id = ?");
  if (!remove.is_ok()) return remove.status();
  return remove->bind(1, id).run(db_, "delete batch");
}

Status Outbox::complete_batch(const std::vector<std::pair<size_t, DeadLetterReason>>& rejected) {
  if (batches_.empty()) return Status(Code::kWrongState, "no batch in flight");
  const CounterSnapshot saved = snapshot();
  RelaxedSync relaxed(db_);
  // The deletes are what frees space on a full disk: they may take the reserve.
  const Status done = with_room(true, [&]() -> Status {
    Transaction tx(db_);
    Status status = tx.status();
    if (status.is_ok()) status = sync_counters();
    if (status.is_ok()) status = move_to_dead_letters(rejected);
    int64_t first = INT64_MAX, last = 0;
    for (const auto& s : batches_.front().sources) {
      for (int64_t seq : s) {
        first = std::min(first, seq);
        last = std::max(last, seq);
      }
    }
    if (status.is_ok() && last > 0) {
      // A batch is a run of consecutive entries, so its seqs form one range.
      sum_range_.reset();
      sum_range_.bind(1, first).bind(2, last);
      const int rc = sum_range_.step();
      if (rc == SQLITE_ROW) {
        queued_records_ -= std::min<uint64_t>(queued_records_, sum_range_.column_int(0));
        queued_bytes_ -= std::min<uint64_t>(queued_bytes_, sum_range_.column_int(1));
      }
      sum_range_.reset();
      if (rc != SQLITE_ROW) status = db_.error(rc, "sum delivered entries");
      if (status.is_ok()) {
        delete_range_.reset();
        status = delete_range_.bind(1, first).bind(2, last).run(db_, "delete delivered entries");
      }
    }
    if (status.is_ok()) status = delete_batch_row(batches_.front().id);
    if (status.is_ok()) status = write_counters();
    if (status.is_ok() && last > 0) {
      // For salvage: rows up to here were delivered, even if a damaged file still shows them.
      upsert_meta_.reset();
      status = upsert_meta_.bind(1, kDeliveredThroughKey)
                   .bind(2, std::to_string(last))
                   .run(db_, "write delivered seq");
    }
    if (status.is_ok()) status = tx.commit();
    if (!status.is_ok()) restore(saved);
    return status;
  });
  if (!done.is_ok()) return done;
  batches_.pop_front();
  Status status = refresh_oldest();
  if (status.is_ok()) shrink();
  return status;
}

void Outbox::shrink() {
  // Runs on the store thread after a delivered batch: never on an app thread. A failure (busy,
  // full disk) changes nothing that matters: the pages stay free and a later batch tries again.
  const int64_t page_size = pragma_int(db_, "PRAGMA page_size");
  const int64_t pages = pragma_int(db_, "PRAGMA page_count");
  const int64_t free_pages = pragma_int(db_, "PRAGMA freelist_count");
  const bool drained = queued_records_ == 0 && batches_.empty();
  // Mostly free (over 3/4 of the file and at least kShrinkMinBytes) with little left in use:
  // VACUUM copies only the pages in use (at most kShrinkMaxLiveBytes, a bounded pause of the
  // store thread) and the file follows the outbox down instead of keeping its largest size.
  if (page_size > 0 && free_pages * page_size >= kShrinkMinBytes && free_pages * 4 > pages * 3 &&
      (pages - free_pages) * page_size <= kShrinkMaxLiveBytes) {
    RelaxedSync relaxed(db_);
    db_.exec("VACUUM");
  }
  if (!drained) return;
  // After a full disk the reserve comes back first, once there is room for it. While it cannot,
  // the WAL keeps its size (journal_size_limit): the next writes reuse it from its start.
  if (reserve_released_ && !create_reserve()) {
    checkpoint_all();
    return;
  }
  if (file_size_or_zero(options_.path + "-wal") > 0) {
    // The WAL back to zero bytes. Not waiting for another process's reader (busy: next time).
    db_.exec("PRAGMA busy_timeout=0");
    db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db_.exec("PRAGMA busy_timeout=2000");
  }
}

Status Outbox::abandon_batch(const std::vector<std::pair<size_t, DeadLetterReason>>& rejected) {
  if (batches_.empty()) return Status(Code::kWrongState, "no batch in flight");
  const CounterSnapshot saved = snapshot();
  // Dead-lettering moves rows (and drops the batch body): it may take the reserve.
  const Status done = with_room(true, [&]() -> Status {
    Transaction tx(db_);
    Status status = tx.status();
    if (status.is_ok()) status = sync_counters();
    if (status.is_ok()) status = move_to_dead_letters(rejected);
    // Every persisted batch goes: prepared ones were never sent, so dropping them is safe.
    for (const auto& b : batches_) {
      if (status.is_ok()) status = delete_batch_row(b.id);
    }
    if (status.is_ok()) status = write_counters();
    if (status.is_ok()) status = tx.commit();
    if (!status.is_ok()) restore(saved);
    return status;
  });
  if (!done.is_ok()) return done;
  batches_.clear();
  return refresh_oldest();
}

Result<std::vector<DeadLetter>> Outbox::dead_letters(size_t limit) {
  return dead_letters_.list(limit,
                            [this](std::string stored) { return decode(std::move(stored)); });
}

Result<uint64_t> Outbox::retry_dead_letters() {
  const CounterSnapshot saved = snapshot();
  Transaction tx(db_);
  Status status = tx.status();
  if (status.is_ok()) status = sync_counters();
  Result<uint64_t> moved =
      status.is_ok() ? dead_letters_.requeue_all(&last_seq_) : Result<uint64_t>(status);
  if (!moved.is_ok()) status = moved.status();
  if (status.is_ok()) status = write_counters();
  if (status.is_ok()) status = tx.commit();
  if (!status.is_ok()) {
    restore(saved);
    return status;
  }
  Status refreshed = refresh_oldest();
  if (!refreshed.is_ok()) return refreshed;
  return moved;
}

Result<uint64_t> Outbox::purge_dead_letters() {
  const CounterSnapshot saved = snapshot();
  Transaction tx(db_);
  Status status = tx.status();
  if (status.is_ok()) status = sync_counters();
  Result<uint64_t> purged = status.is_ok() ? dead_letters_.delete_all() : Result<uint64_t>(status);
  if (!purged.is_ok()) status = purged.status();
  if (status.is_ok()) status = write_counters();
  if (status.is_ok()) status = tx.commit();
  if (!status.is_ok()) {
    restore(saved);
    return status;
  }
  return purged;
}

}  // namespace outbox
}  // namespace experiture
