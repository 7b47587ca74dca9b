#include "outbox_fixture.hpp"

#include <sqlite3.h>

#include <chrono>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace experiture {
namespace bench {
namespace {

// Never reaches a network: every send fails at once as "could not connect".
class OfflineHttp final : public platform::HttpClient {
 public:
  void send(platform::HttpRequest, platform::HttpCompletion completion) override {
    platform::HttpResponse r;
    r.error = platform::TransportError::kConnect;
    r.error_message = "offline (bench fixture)";
    completion(std::move(r));
  }
  void cancel_all() override {}
};

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "?";
    sqlite3_free(error);
    die("fixture: " + sql + ": " + message);
  }
}

int64_t meta_number(sqlite3* db, const char* key) {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
  int64_t value = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    value = std::stoll(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  } else {
    die(std::string("fixture: meta ") + key + " missing");
  }
  sqlite3_finalize(stmt);
  return value;
}

}  // namespace

double write_outbox_fixture(const std::string& path, size_t count, size_t distinct_profiles) {
  const int64_t start = now_ns();
  {
    Config config = bench_config(path, "http://127.0.0.1:9/public/v1");
    config.manual_mode = true;
    config.http = std::make_shared<OfflineHttp>();
    auto client = open_client(std::move(config));
    client->close(10000);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("fixture: cannot open " + path);
  exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;");
  int64_t last_seq = meta_number(db, "last_seq");
  int64_t records = meta_number(db, "queued_records");
  int64_t bytes = meta_number(db, "queued_bytes");

  std::vector<std::string> stored;
  stored.reserve(distinct_profiles);
  for (size_t i = 0; i < distinct_profiles; ++i) stored.push_back(stored_form(make_record(i)));

  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO entries(seq, object, kind, match_key, payload, wall_ms, mono_ms,"
                     " flags) VALUES(?,?,0,?,?,?,?,0)",
                     -1, &insert, nullptr);
  const int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  const std::string object = kObject, match_key = kMatchKey;
  size_t done = 0;
  while (done < count) {
    exec(db, "BEGIN");
    for (size_t i = 0; i < 50000 && done < count; ++i, ++done) {
      const std::string& payload = stored[done % distinct_profiles];
      sqlite3_reset(insert);
      sqlite3_bind_int64(insert, 1, ++last_seq);
      sqlite3_bind_text(insert, 2, object.data(), static_cast<int>(object.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 3, match_key.data(), static_cast<int>(match_key.size()),
                        SQLITE_STATIC);
      sqlite3_bind_blob(insert, 4, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert, 5, wall_ms);
      sqlite3_bind_int64(insert, 6, 0);
      if (sqlite3_step(insert) != SQLITE_DONE) die("fixture: insert failed");
      ++records;
      // Outbox's row_bytes(): payload + object + match_key + 32.
      bytes += static_cast<int64_t>(payload.size() + object.size() + match_key.size() + 32);
    }
    exec(db, "COMMIT");
  }
  sqlite3_finalize(insert);
  exec(db, "UPDATE meta SET value = '" + std::to_string(last_seq) +
               "' WHERE key = 'last_seq';"
               "UPDATE meta SET value = '" +
               std::to_string(records) +
               "' WHERE key = 'queued_records';"
               "UPDATE meta SET value = '" +
               std::to_string(bytes) +
               "' WHERE key = 'queued_bytes';"
               "PRAGMA wal_checkpoint(TRUNCATE);");
  sqlite3_close(db);
  return static_cast<double>(now_ns() - start) / 1e9;
}

}  // namespace bench
}  // namespace experiture
