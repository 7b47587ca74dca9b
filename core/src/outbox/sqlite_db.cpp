#include "outbox/sqlite_db.hpp"

#include <utility>

namespace experiture {
namespace outbox {

SqliteDb::~SqliteDb() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      corrupt_(std::exchange(other.corrupt_, false)),
      last_error_rc_(std::exchange(other.last_error_rc_, SQLITE_OK)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    corrupt_ = std::exchange(other.corrupt_, false);
    last_error_rc_ = std::exchange(other.last_error_rc_, SQLITE_OK);
  }
  return *this;
}

bool is_damage_rc(int rc) {
  // Every outbox column is NOT NULL and the SDK never writes a NULL: a NOT NULL failure means a
  // damaged row was read back (a copy into dead letters, say).
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ||
         rc == SQLITE_CONSTRAINT_NOTNULL;
}

void SqliteDb::note_rc(int rc) const {
  last_error_rc_ = rc;
  if (is_damage_rc(rc)) corrupt_ = true;
}

Result<SqliteDb> SqliteDb::open(const std::string& path, const std::string& vfs) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    std::string message = "cannot open outbox: ";
    message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (db != nullptr) sqlite3_close_v2(db);
    return Status(storage_code(rc), message);
  }
  sqlite3_extended_result_codes(db, 1);
  return SqliteDb(db);
}

Status SqliteDb::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  note_rc(rc);
  std::string message = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Status(storage_code(rc), "sqlite: " + message);
}

Result<Statement> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, "prepare");
  return Statement(stmt, this);
}

Status SqliteDb::error(int rc, const char* what) const {
  note_rc(rc);
  std::string message = std::string("sqlite ") + what + ": " + sqlite3_errstr(rc);
  if (db_ != nullptr && sqlite3_errcode(db_) == rc) {
    message += " (";
    message += sqlite3_errmsg(db_);
    message += ")";
  }
  return Status(storage_code(rc), message);
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(std::exchange(other.db_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

int Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE && db_ != nullptr) db_->note_rc(rc);
  return rc;
}

Status Statement::run(const SqliteDb& db, const char* what) {
  int rc = step();
  sqlite3_reset(stmt_);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::ok();
  return db.error(rc, what);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::column_text(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

Transaction::Transaction(SqliteDb& db) : db_(db) {
  status_ = db_.exec("BEGIN IMMEDIATE");
  open_ = status_.is_ok();
}

Transaction::~Transaction() {
  if (open_) db_.exec("ROLLBACK");
}

Status Transaction::commit() {
  if (!open_) return status_;
  Status status = db_.exec("COMMIT");
  if (status.is_ok()) open_ = false;
  return status;
}

Code storage_code(int sqlite_rc) {
  return (sqlite_rc & 0xff) == SQLITE_FULL ? Code::kStorageFull : Code::kStorageError;
}

}  // namespace outbox
}  // namespace experiture
