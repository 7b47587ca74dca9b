// Thin RAII wrappers over the SQLite C API: a connection, a prepared statement, a transaction.
// Errors are Status values; nothing here throws.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "experiture/status.hpp"

namespace experiture {
namespace outbox {

class Statement;

class SqliteDb {
 public:
  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;

  // Opens or creates `path`. `vfs` may be "" for the default VFS (tests pass a fault shim's name).
  static Result<SqliteDb> open(const std::string& path, const std::string& vfs);

  Status exec(const char* sql);
  Result<Statement> prepare(std::string_view sql);
  sqlite3* handle() const { return db_; }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  // A status for SQLite result code `rc`, naming `what` and SQLite's message. Remembers the
  // code: damage is decided on result codes, never on message text.
  Status error(int rc, const char* what) const;
  // True once any statement met damage (is_damage_rc()).
  bool corrupt() const { return corrupt_; }
  // The result code behind the last error status made here (SQLITE_OK when none).
  int last_error_rc() const { return last_error_rc_; }
  void note_rc(int rc) const;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
  mutable bool corrupt_ = false;
  mutable int last_error_rc_ = SQLITE_OK;
};

// SQLITE_CORRUPT or SQLITE_NOTADB (extended codes included), or SQLITE_CONSTRAINT_NOTNULL.
bool is_damage_rc(int rc);

class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int step();
  // step() expecting SQLITE_DONE, then reset(); errors as a Status.
  Status run(const SqliteDb& db, const char* what);
  void reset();

  int64_t column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
  bool column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
  std::string column_text(int index) const;

 private:
  friend class SqliteDb;
  Statement(sqlite3_stmt* stmt, const SqliteDb* db) : stmt_(stmt), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  const SqliteDb* db_ = nullptr;  // notes error codes (damage); outlived by its connection
};

// BEGIN IMMEDIATE on construction (check status()), ROLLBACK on destruction unless committed.
class Transaction {
 public:
  explicit Transaction(SqliteDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const Status& status() const { return status_; }
  Status commit();

 private:
  SqliteDb& db_;
  Status status_;
  bool open_ = false;
};

// Maps SQLite result codes to SDK codes: FULL -> kStorageFull, everything else -> kStorageError.
Code storage_code(int sqlite_rc);

}  // namespace outbox
}  // namespace experiture
