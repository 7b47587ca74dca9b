// Numbered schema migrations of the outbox. Migration N takes a database at version N-1 to N;
// PRAGMA user_version holds the version. Migrations are append-only: never edit a shipped one.
#pragma once

#include "experiture/status.hpp"
#include "outbox/sqlite_db.hpp"

namespace experiture {
namespace outbox {

// The schema version of `db` (0 for a new, empty database).
Result<int> schema_version(SqliteDb& db);
// Runs the migrations after the current version up to and including `target`, each in its own
// transaction.
Status migrate(SqliteDb& db, int target);

}  // namespace outbox
}  // namespace experiture
