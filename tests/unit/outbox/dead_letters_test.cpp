// DeadLetters on its own: a real outbox file (its schema made by Outbox::open), a second
// connection to it, and counters of the test's own, as the Outbox passes its.
#include "outbox/dead_letters.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "outbox/outbox.hpp"
#include "temp_dir.hpp"

using experiture::Result;
using experiture::Status;
using experiture::outbox::DeadLetterReason;
using experiture::outbox::DeadLetters;
using experiture::outbox::Entry;
using experiture::outbox::Outbox;
using experiture::outbox::SqliteDb;
using experiture::outbox::Transaction;
using experiture::outbox::WriteKind;
using experiture::test::TempDir;

namespace {

struct DeadLetterRig {
  TempDir dir;
  std::vector<int64_t> seqs;  // of the entries written, in order
  SqliteDb db;
  uint64_t queued_records = 0;
  uint64_t queued_bytes = 0;
  uint64_t dead_letters = 0;
  uint64_t dropped = 0;
  std::unique_ptr<DeadLetters> table;

  explicit DeadLetterRig(size_t max_dead_letters, int entries = 3) {
    const std::string path = dir.file("outbox.db");
    {
      Outbox::Options options;
      options.path = path;
      auto opened = Outbox::open(options, nullptr);
      REQUIRE(opened.is_ok());
      std::vector<Entry> written;
      for (int i = 0; i < entries; ++i) {
        Entry e;
        e.object = "events";
        e.kind = WriteKind::kAppend;
        e.payload = "{\"n\":" + std::to_string(i) + "}";
        written.push_back(std::move(e));
      }
      REQUIRE(opened.value()->commit(written, {}).is_ok());
      for (const auto& e : written) seqs.push_back(e.seq);
      queued_records = opened.value()->queued_records();
      queued_bytes = opened.value()->queued_bytes();
    }
    auto connection = SqliteDb::open(path, "");
    REQUIRE(connection.is_ok());
    db = std::move(connection).value();
    table = std::make_unique<DeadLetters>(
        &db, max_dead_letters,
        DeadLetters::Counters{&queued_records, &queued_bytes, &dead_letters, &dropped});
  }

  Status move(const std::vector<int64_t>& which, const std::string& code) {
    std::vector<std::pair<int64_t, DeadLetterReason>> rows;
    for (int64_t seq : which) rows.emplace_back(seq, DeadLetterReason{400, code, "bad", "c-1"});
    Transaction tx(db);
    REQUIRE(tx.status().is_ok());
    Status status = table->move_entries(rows, 777);
    if (!status.is_ok()) return status;
    return tx.commit();
  }

  int64_t count(const char* table_name) {
    auto stmt = db.prepare(std::string("SELECT count(*) FROM ") + table_name);
    REQUIRE(stmt.is_ok());
    REQUIRE(stmt->step() == SQLITE_ROW);
    return stmt->column_int(0);
  }

  std::vector<experiture::DeadLetter> list() {
    auto listed = table->list(100, [](std::string s) -> Result<std::string> { return s; });
    REQUIRE(listed.is_ok());
    return listed.value();
  }
};

}  // namespace

TEST_CASE("a dead-lettered entry keeps its record and reason and leaves the queue",
          "[outbox][unit]") {
  DeadLetterRig rig(10);
  const uint64_t bytes_before = rig.queued_bytes;
  REQUIRE(rig.move({rig.seqs[1]}, "CDP.VALIDATION").is_ok());
  CHECK(rig.count("entries") == 2);
  CHECK(rig.queued_records == 2);
  CHECK(rig.queued_bytes < bytes_before);
  CHECK(rig.dead_letters == 1);
  const auto listed = rig.list();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].record == "{\"n\":1}");
  CHECK(listed[0].object == "events");
  CHECK(listed[0].http_status == 400);
  CHECK(listed[0].code == "CDP.VALIDATION");
  CHECK(listed[0].correlation_id == "c-1");
  CHECK(listed[0].failed_at_ms == 777);
}

TEST_CASE("a seq no longer queued is skipped when dead-lettering", "[outbox][unit]") {
  DeadLetterRig rig(10);
  REQUIRE(rig.move({rig.seqs.back() + 100}, "X").is_ok());
  CHECK(rig.dead_letters == 0);
  CHECK(rig.queued_records == 3);
  CHECK(rig.count("dead_letters") == 0);
}

TEST_CASE("dead letters over the bound are dropped oldest first and counted", "[outbox][unit]") {
  DeadLetterRig rig(2);
  REQUIRE(rig.move(rig.seqs, "X").is_ok());
  CHECK(rig.dead_letters == 2);
  CHECK(rig.dropped == 1);
  const auto listed = rig.list();
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].record == "{\"n\":1}");
  CHECK(listed[1].record == "{\"n\":2}");
}

TEST_CASE("a move whose transaction is not committed leaves the file as it was", "[outbox][unit]") {
  DeadLetterRig rig(10);
  {
    Transaction tx(rig.db);
    REQUIRE(tx.status().is_ok());
    REQUIRE(rig.table->move_entries({{rig.seqs[0], DeadLetterReason{400, "X", "bad", ""}}}, 777)
                .is_ok());
  }  // rolled back
  CHECK(rig.count("entries") == 3);
  CHECK(rig.count("dead_letters") == 0);
}

TEST_CASE("requeued dead letters go back to the end of the queue in their order",
          "[outbox][unit]") {
  DeadLetterRig rig(10);
  REQUIRE(rig.move({rig.seqs[0], rig.seqs[1]}, "X").is_ok());
  int64_t last_seq = rig.seqs.back();
  Transaction tx(rig.db);
  REQUIRE(tx.status().is_ok());
  auto moved = rig.table->requeue_all(&last_seq);
  REQUIRE(moved.is_ok());
  REQUIRE(tx.commit().is_ok());
  CHECK(moved.value() == 2);
  CHECK(last_seq == rig.seqs.back() + 2);
  CHECK(rig.dead_letters == 0);
  CHECK(rig.queued_records == 3);
  CHECK(rig.count("dead_letters") == 0);
  auto order = rig.db.prepare("SELECT payload FROM entries ORDER BY seq");
  REQUIRE(order.is_ok());
  std::vector<std::string> payloads;
  while (order->step() == SQLITE_ROW) payloads.push_back(order->column_text(0));
  CHECK(payloads == std::vector<std::string>{"{\"n\":2}", "{\"n\":0}", "{\"n\":1}"});
}

TEST_CASE("deleting every dead letter reports how many there were", "[outbox][unit]") {
  DeadLetterRig rig(10);
  REQUIRE(rig.move({rig.seqs[0], rig.seqs[2]}, "X").is_ok());
  Transaction tx(rig.db);
  REQUIRE(tx.status().is_ok());
  auto deleted = rig.table->delete_all();
  REQUIRE(deleted.is_ok());
  REQUIRE(tx.commit().is_ok());
  CHECK(deleted.value() == 2);
  CHECK(rig.dead_letters == 0);
  CHECK(rig.count("dead_letters") == 0);
}
