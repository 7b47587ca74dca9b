#include "outbox/dead_letters.hpp"

#include <algorithm>

namespace experiture {
namespace outbox {

Status DeadLetters::move_entries(const std::vector<std::pair<int64_t, DeadLetterReason>>& rows,
                                 int64_t failed_at_ms) {
  if (rows.empty()) return Status::ok();
  auto copy = db_->prepare(
      "INSERT INTO dead_letters(object, kind, match_key, payload, wall_ms, mono_ms, flags,"
      " http_status, code, message, correlation_id, failed_at_ms)"
      " SELECT object, kind, match_key, payload, wall_ms, mono_ms, flags, ?, ?, ?, ?, ?"
      " FROM entries WHERE seq = ?");
  auto remove =
      db_->prepare(std::string("DELETE FROM entries WHERE seq = ? RETURNING ") + kRowBytesSql);
  if (!copy.is_ok()) return copy.status();
  if (!remove.is_ok()) return remove.status();
  for (const auto& row : rows) {
    copy->reset();
    copy->bind(1, static_cast<int64_t>(row.second.http_status))
        .bind(2, row.second.code)
        .bind(3, row.second.message)
        .bind(4, row.second.correlation_id)
        .bind(5, failed_at_ms)
        .bind(6, row.first);
    Status status = copy->run(*db_, "copy to dead letters");
    if (!status.is_ok()) return status;
    if (db_->changes() == 0) continue;
    ++*counters_.dead_letters;
    remove->reset();
    remove->bind(1, row.first);
    int rc = remove->step();
    if (rc == SQLITE_ROW) {
      --*counters_.queued_records;
      *counters_.queued_bytes -=
          std::min<uint64_t>(*counters_.queued_bytes, static_cast<uint64_t>(remove->column_int(0)));
      rc = remove->step();
    }
    remove->reset();
    if (rc != SQLITE_DONE) return db_->error(rc, "remove dead-lettered entry");
  }
  if (*counters_.dead_letters > max_) {
    const uint64_t excess = *counters_.dead_letters - max_;
    auto trim = db_->prepare(
        "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?)");
    if (!trim.is_ok()) return trim.status();
    Status status = trim->bind(1, static_cast<int64_t>(excess)).run(*db_, "trim dead letters");
    if (!status.is_ok()) return status;
    *counters_.dead_letters -= excess;
    *counters_.dropped_total += excess;
  }
  return Status::ok();
}

Result<uint64_t> DeadLetters::requeue_all(int64_t* last_seq) {
  auto select =
      db_->prepare("SELECT id, " + std::string(kRowBytesSql) + " FROM dead_letters ORDER BY id");
  auto copy = db_->prepare(
      "INSERT INTO entries(seq, object, kind, match_key, payload, wall_ms, mono_ms, flags)"
      " SELECT ?, object, kind, match_key, payload, wall_ms, mono_ms, flags"
      " FROM dead_letters WHERE id = ?");
  if (!select.is_ok()) return select.status();
  if (!copy.is_ok()) return copy.status();
  std::vector<std::pair<int64_t, int64_t>> rows;  // id, row bytes
  int rc;
  while ((rc = select->step()) == SQLITE_ROW) {
    rows.emplace_back(select->column_int(0), select->column_int(1));
  }
  if (rc != SQLITE_DONE) return db_->error(rc, "list dead letters");
  uint64_t moved = 0;
  for (const auto& row : rows) {
    copy->reset();
    Status status = copy->bind(1, ++*last_seq).bind(2, row.first).run(*db_, "requeue dead letter");
    if (!status.is_ok()) return status;
    ++*counters_.queued_records;
    *counters_.queued_bytes += static_cast<uint64_t>(row.second);
    ++moved;
  }
  Result<uint64_t> deleted = delete_all();
  if (!deleted.is_ok()) return deleted.status();
  return moved;
}

Result<uint64_t> DeadLetters::delete_all() {
  const uint64_t count = *counters_.dead_letters;
  Status status = db_->exec("DELETE FROM dead_letters");
  if (!status.is_ok()) return status;
  *counters_.dead_letters = 0;
  return count;
}

Result<std::vector<DeadLetter>> DeadLetters::list(size_t limit, const Decode& decode) {
  auto stmt = db_->prepare(
      "SELECT id, object, match_key, payload, http_status, code, message, correlation_id,"
      " failed_at_ms FROM dead_letters ORDER BY id LIMIT ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, static_cast<int64_t>(limit));
  std::vector<DeadLetter> out;
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW) {
    DeadLetter d;
    d.id = stmt->column_int(0);
    d.object = stmt->column_text(1);
    d.match_key = stmt->column_text(2);
    auto record = decode(stmt->column_text(3));
    d.record = record.is_ok() ? std::move(record).value() : std::string();
    d.http_status = static_cast<int>(stmt->column_int(4));
    d.code = stmt->column_text(5);
    d.message = stmt->column_text(6);
    d.correlation_id = stmt->column_text(7);
    d.failed_at_ms = stmt->column_int(8);
    out.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) return db_->error(rc, "list dead letters");
  return out;
}

}  // namespace outbox
}  // namespace experiture
