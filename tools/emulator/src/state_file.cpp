#include "state_file.hpp"

#include <sqlite3.h>

#include <cstdio>

namespace experiture {
namespace emulator {

namespace {

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, uint64_t value) {
    sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
    return *this;
  }
  bool step() { return stmt_ != nullptr && sqlite3_step(stmt_) == SQLITE_ROW; }
  std::string text(int column) {
    const unsigned char* data = sqlite3_column_text(stmt_, column);
    return data == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(data),
                                         static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

StateFile::~StateFile() {
  if (db_ != nullptr) sqlite3_close(db_);
}

bool StateFile::open(const std::string& path, std::string* error) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    *error = "cannot open state file " + path + ": " + sqlite3_errmsg(db_);
    return false;
  }
  char* message = nullptr;
  int rc = sqlite3_exec(db_,
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                        "CREATE TABLE IF NOT EXISTS profiles(object TEXT, id INTEGER, doc TEXT,"
                        " PRIMARY KEY(object, id));"
                        "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, doc TEXT);"
                        "CREATE TABLE IF NOT EXISTS idempotency(key TEXT PRIMARY KEY, doc TEXT);"
                        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);",
                        nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    *error = "cannot initialise state file " + path + ": " + (message ? message : "?");
    sqlite3_free(message);
    return false;
  }
  return true;
}

void StateFile::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::fprintf(stderr, "experiture-emulator: state file: %s\n", message ? message : "?");
  }
  sqlite3_free(message);
}

void StateFile::begin() {
  exec("BEGIN IMMEDIATE");
}
void StateFile::commit() {
  exec("COMMIT");
}

void StateFile::save_profile(const std::string& object, uint64_t id, const std::string& doc) {
  Statement(db_, "INSERT OR REPLACE INTO profiles(object, id, doc) VALUES(?, ?, ?)")
      .bind(1, object)
      .bind(2, id)
      .bind(3, doc)
      .step();
}

void StateFile::delete_profile(const std::string& object, uint64_t id) {
  Statement(db_, "DELETE FROM profiles WHERE object = ? AND id = ?")
      .bind(1, object)
      .bind(2, id)
      .step();
}

void StateFile::save_event(uint64_t seq, const std::string& doc) {
  Statement(db_, "INSERT OR REPLACE INTO events(seq, doc) VALUES(?, ?)")
      .bind(1, seq)
      .bind(2, doc)
      .step();
}

void StateFile::save_idempotency(const std::string& key, const std::string& doc) {
  Statement(db_, "INSERT OR REPLACE INTO idempotency(key, doc) VALUES(?, ?)")
      .bind(1, key)
      .bind(2, doc)
      .step();
}

void StateFile::set_meta(const std::string& key, const std::string& value) {
  Statement(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)")
      .bind(1, key)
      .bind(2, value)
      .step();
}

void StateFile::clear() {
  exec("DELETE FROM profiles; DELETE FROM events; DELETE FROM idempotency; DELETE FROM meta;");
}

void StateFile::load_profiles(const std::function<void(const std::string&)>& each) {
  Statement statement(db_, "SELECT doc FROM profiles ORDER BY object, id");
  while (statement.step()) each(statement.text(0));
}

void StateFile::load_events(const std::function<void(const std::string&)>& each) {
  Statement statement(db_, "SELECT doc FROM events ORDER BY seq");
  while (statement.step()) each(statement.text(0));
}

void StateFile::load_idempotency(
    const std::function<void(const std::string&, const std::string&)>& each) {
  Statement statement(db_, "SELECT key, doc FROM idempotency");
  while (statement.step()) each(statement.text(0), statement.text(1));
}

std::string StateFile::meta(const std::string& key) {
  Statement statement(db_, "SELECT value FROM meta WHERE key = ?");
  statement.bind(1, key);
  return statement.step() ? statement.text(0) : std::string();
}

}  // namespace emulator
}  // namespace experiture
