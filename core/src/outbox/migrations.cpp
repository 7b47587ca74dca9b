#include "outbox/migrations.hpp"

#include <string>

namespace experiture {
namespace outbox {
namespace {

// Index i holds migration i + 1.
const char* const kMigrations[] = {
    // 1: state and queued writes. seq is assigned by the SDK (monotonic across deletes).
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE entries(seq INTEGER PRIMARY KEY, object TEXT NOT NULL, kind INTEGER NOT NULL,"
    " match_key TEXT NOT NULL, payload BLOB NOT NULL, wall_ms INTEGER NOT NULL,"
    " mono_ms INTEGER NOT NULL, flags INTEGER NOT NULL);",
    // 2: the batch in flight (body and idempotency key persisted before the first send) and
    // dead letters.
    "CREATE TABLE batches(id INTEGER PRIMARY KEY, object TEXT NOT NULL, kind INTEGER NOT NULL,"
    " match_key TEXT NOT NULL, idempotency_key TEXT NOT NULL, body BLOB NOT NULL,"
    " sources TEXT NOT NULL, attempts INTEGER NOT NULL);"
    "CREATE TABLE dead_letters(id INTEGER PRIMARY KEY, object TEXT NOT NULL,"
    " kind INTEGER NOT NULL, match_key TEXT NOT NULL, payload BLOB NOT NULL,"
    " wall_ms INTEGER NOT NULL, mono_ms INTEGER NOT NULL, flags INTEGER NOT NULL,"
    " http_status INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL,"
    " correlation_id TEXT NOT NULL, failed_at_ms INTEGER NOT NULL);",
};
constexpr int kMigrationCount = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

}  // namespace

Result<int> schema_version(SqliteDb& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt.is_ok()) return stmt.status();
  int rc = stmt->step();
  if (rc != SQLITE_ROW) return db.error(rc, "read schema version");
  return static_cast<int>(stmt->column_int(0));
}

Status migrate(SqliteDb& db, int target) {
  if (target > kMigrationCount) {
    return Status(Code::kInternal, "no migration " + std::to_string(target));
  }
  auto current = schema_version(db);
  if (!current.is_ok()) return current.status();
  if (current.value() > kMigrationCount) {
    return Status(Code::kStorageError, "outbox schema version " + std::to_string(current.value()) +
                                           " is newer than this SDK supports");
  }
  for (int version = current.value() + 1; version <= target; ++version) {
    Transaction tx(db);
    if (!tx.status().is_ok()) return tx.status();
    Status status = db.exec(kMigrations[version - 1]);
    if (!status.is_ok()) return status;
    status = db.exec(("PRAGMA user_version = " + std::to_string(version)).c_str());
    if (!status.is_ok()) return status;
    status = tx.commit();
    if (!status.is_ok()) return status;
  }
  return Status::ok();
}

}  // namespace outbox
}  // namespace experiture
