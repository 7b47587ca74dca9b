// Damage is decided on SQLite's result codes, never on the words of its messages: a SQL function
// raises errors whose code and message disagree, and the connection's verdict follows the code.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "outbox/sqlite_db.hpp"
#include "temp_dir.hpp"

using experiture::outbox::SqliteDb;
using experiture::test::TempDir;

namespace {

// raise_error(code, message): fails the statement with that result code and message.
void raise_error(sqlite3_context* context, int, sqlite3_value** args) {
  sqlite3_result_error(context, reinterpret_cast<const char*>(sqlite3_value_text(args[1])), -1);
  sqlite3_result_error_code(context, sqlite3_value_int(args[0]));
}

SqliteDb open_db(const TempDir& dir) {
  auto opened = SqliteDb::open(dir.file("damage.db"), "");
  REQUIRE(opened.is_ok());
  SqliteDb db = std::move(opened).value();
  REQUIRE(sqlite3_create_function(db.handle(), "raise_error", 2, SQLITE_UTF8, nullptr, raise_error,
                                  nullptr, nullptr) == SQLITE_OK);
  return db;
}

}  // namespace

TEST_CASE("a message that speaks of damage under a plain error code does not mark the file damaged",
          "[outbox][unit]") {
  TempDir dir;
  SqliteDb db = open_db(dir);
  const auto message = GENERATE(as<std::string>{}, "database disk image is malformed",
                                "file is not a database", "corrupt");
  const std::string sql =
      "SELECT raise_error(" + std::to_string(SQLITE_ERROR) + ", '" + message + "')";
  experiture::Status status = db.exec(sql.c_str());
  REQUIRE_FALSE(status.is_ok());
  CHECK(status.message().find(message) != std::string::npos);  // the words are there
  CHECK_FALSE(db.corrupt());
  CHECK(db.last_error_rc() == SQLITE_ERROR);
}

TEST_CASE("a damage result code marks the file damaged whatever its message says",
          "[outbox][unit]") {
  TempDir dir;
  SqliteDb db = open_db(dir);
  const int rc = GENERATE(SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_CORRUPT_INDEX);
  const std::string sql = "SELECT raise_error(" + std::to_string(rc) + ", 'all is well')";
  experiture::Status status = db.exec(sql.c_str());
  REQUIRE_FALSE(status.is_ok());
  CHECK(status.message().find("all is well") != std::string::npos);
  CHECK(db.corrupt());
}
