#include "outbox/outbox.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "faulty_vfs.hpp"
#include "outbox/migrations.hpp"
#include "temp_dir.hpp"

using experiture::Code;
using experiture::outbox::Batch;
using experiture::outbox::DeadLetterReason;
using experiture::outbox::Entry;
using experiture::outbox::Outbox;
using experiture::outbox::WriteKind;
using experiture::test::FaultyVfs;
using experiture::test::TempDir;

namespace {

Entry entry(const std::string& payload, uint32_t flags = 0) {
  Entry e;
  e.object = "profiles";
  e.kind = WriteKind::kUpsert;
  e.match_key = "email";
  e.payload = payload;
  e.wall_ms = 1000;
  e.mono_ms = 10;
  e.flags = flags;
  return e;
}

std::unique_ptr<Outbox> open_outbox(const std::string& path, int64_t max_bytes = 1 << 30) {
  Outbox::Options options;
  options.path = path;
  options.max_bytes = max_bytes;
  auto opened = Outbox::open(options, nullptr);
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

Batch batch_of(const std::vector<Entry>& entries) {
  Batch b;
  b.object = "profiles";
  b.match_key = "email";
  b.idempotency_key = "key-1";
  b.body = "{\"records\":[]}";
  for (const auto& e : entries) b.sources.push_back({e.seq});
  return b;
}

}  // namespace

TEST_CASE("committed entries keep their order and survive reopening", "[outbox][unit]") {
  TempDir dir;
  {
    auto outbox = open_outbox(dir.file("o.db"));
    std::vector<Entry> entries{entry("{\"n\":1}"), entry("{\"n\":2}"), entry("{\"n\":3}")};
    REQUIRE(outbox->commit(entries, {{"k", std::string("v")}}).is_ok());
    CHECK(entries[0].seq < entries[1].seq);
    CHECK(entries[1].seq < entries[2].seq);
    CHECK(outbox->queued_records() == 3);
  }
  auto outbox = open_outbox(dir.file("o.db"));
  CHECK(outbox->queued_records() == 3);
  CHECK(outbox->queued_bytes() > 0);
  CHECK(outbox->meta("k") == std::optional<std::string>("v"));
  auto read = outbox->read_entries(0, 10);
  REQUIRE(read.is_ok());
  REQUIRE(read.value().size() == 3);
  CHECK(read.value()[0].payload == "{\"n\":1}");
  CHECK(read.value()[2].payload == "{\"n\":3}");
  CHECK(read.value()[0].wall_ms == 1000);
}

TEST_CASE("the outbox file is created owner-only", "[outbox][unit]") {
  TempDir dir;
  auto outbox = open_outbox(dir.file("o.db"));
  auto perms = std::filesystem::status(dir.file("o.db")).permissions();
  using std::filesystem::perms;
  CHECK((perms & (perms::group_all | perms::others_all)) == perms::none);
}

TEST_CASE("a database created by migration 1 opens and migrates cleanly", "[outbox][unit]") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    auto db = experiture::outbox::SqliteDb::open(path, "");
    REQUIRE(db.is_ok());
    REQUIRE(experiture::outbox::migrate(db.value(), 1).is_ok());
    REQUIRE(db.value()
                .exec("INSERT INTO entries VALUES(7,'profiles',0,'email','{\"email\":\"a@b.co\"}',"
                      "5,6,0)")
                .is_ok());
  }
  Outbox::OpenReport report;
  Outbox::Options options;
  options.path = path;
  auto opened = Outbox::open(options, &report);
  REQUIRE(opened.is_ok());
  CHECK(report.from_version == 1);
  CHECK_FALSE(report.recovered);
  auto& outbox = *opened.value();
  CHECK(outbox.queued_records() == 1);
  CHECK(outbox.last_seq() == 7);
  std::vector<Entry> more{entry("{\"n\":8}")};
  REQUIRE(outbox.commit(more, {}).is_ok());
  CHECK(more[0].seq == 8);
  auto db = experiture::outbox::SqliteDb::open(path, "");
  REQUIRE(db.is_ok());
  CHECK(experiture::outbox::schema_version(db.value()).value() == Outbox::kSchemaVersion);
}

TEST_CASE("a file that is not a database is moved aside and replaced", "[outbox][unit]") {
  TempDir dir;
  const std::string path = dir.file("o.db");
  {
    std::ofstream garbage(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) garbage << static_cast<char>('A' + i % 26);
  }
  Outbox::OpenReport report;
  Outbox::Options options;
  options.path = path;
  auto opened = Outbox::open(options, &report);
  REQUIRE(opened.is_ok());
  CHECK(report.recovered);
  CHECK(std::filesystem::exists(report.moved_to));
  CHECK(std::filesystem::file_size(report.moved_to) == 4096);
  std::vector<Entry> entries{entry("{\"n\":1}")};
  CHECK(opened.value()->commit(entries, {}).is_ok());
}

TEST_CASE("a database from a newer SDK is refused, not destroyed", "[outbox][unit]") {
  TempDir dir;
  const std::string path = dir.file("o.db");
  {
    auto db = experiture::outbox::SqliteDb::open(path, "");
    REQUIRE(db.value().exec("PRAGMA user_version = 99").is_ok());
  }
  Outbox::Options options;
  options.path = path;
  auto opened = Outbox::open(options, nullptr);
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == Code::kStorageError);
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("a delivered batch deletes its entries and dead-letters the rejected ones",
          "[outbox][unit]") {
  TempDir dir;
  auto outbox = open_outbox(dir.file("o.db"));
  std::vector<Entry> entries{entry("{\"n\":1}"), entry("{\"n\":2}"), entry("{\"n\":3}")};
  REQUIRE(outbox->commit(entries, {}).is_ok());
  Batch batch = batch_of(entries);
  REQUIRE(outbox->save_batch(batch).is_ok());
  REQUIRE(outbox->record_attempt().is_ok());
  DeadLetterReason reason;
  reason.http_status = 200;
  reason.code = "CDP_ETL.VALIDATION.REQUEST_SCHEMA";
  reason.message = "records[1].shoe: unknown field";
  REQUIRE(outbox->complete_batch({{1, reason}}).is_ok());
  CHECK(outbox->queued_records() == 0);
  CHECK_FALSE(outbox->batch());
  CHECK(outbox->dead_letter_count() == 1);
  auto dead = outbox->dead_letters(10);
  REQUIRE(dead.is_ok());
  REQUIRE(dead.value().size() == 1);
  CHECK(dead.value()[0].record == "{\"n\":2}");
  CHECK(dead.value()[0].code == reason.code);
}

TEST_CASE("a persisted batch comes back after reopening with the same key and body",
          "[outbox][unit]") {
  TempDir dir;
  {
    auto outbox = open_outbox(dir.file("o.db"));
    std::vector<Entry> entries{entry("{\"n\":1}"), entry("{\"n\":2}")};
    REQUIRE(outbox->commit(entries, {}).is_ok());
    Batch batch = batch_of(entries);
    REQUIRE(outbox->save_batch(batch).is_ok());
    REQUIRE(outbox->record_attempt().is_ok());
  }
  auto outbox = open_outbox(dir.file("o.db"));
  REQUIRE(outbox->batch());
  CHECK(outbox->batch()->idempotency_key == "key-1");
  CHECK(outbox->batch()->body == "{\"records\":[]}");
  CHECK(outbox->batch()->record_count() == 2);
  CHECK(outbox->batch()->attempts == 1);
}

TEST_CASE("an abandoned batch keeps its good entries queued in order", "[outbox][unit]") {
  TempDir dir;
  auto outbox = open_outbox(dir.file("o.db"));
  std::vector<Entry> entries{entry("{\"n\":1}"), entry("{\"n\":2}"), entry("{\"n\":3}")};
  REQUIRE(outbox->commit(entries, {}).is_ok());
  Batch batch = batch_of(entries);
  REQUIRE(outbox->save_batch(batch).is_ok());
  REQUIRE(outbox->abandon_batch({{0, DeadLetterReason{422, "X", "bad", "c"}}}).is_ok());
  auto read = outbox->read_entries(0, 10);
  REQUIRE(read.value().size() == 2);
  CHECK(read.value()[0].payload == "{\"n\":2}");
  CHECK(read.value()[1].payload == "{\"n\":3}");
  CHECK(outbox->queued_records() == 2);
}

TEST_CASE("retried dead letters go to the end of the queue", "[outbox][unit]") {
  TempDir dir;
  auto outbox = open_outbox(dir.file("o.db"));
  std::vector<Entry> first{entry("{\"n\":1}")};
  REQUIRE(outbox->commit(first, {}).is_ok());
  Batch batch = batch_of(first);
  REQUIRE(outbox->save_batch(batch).is_ok());
  REQUIRE(
      outbox->abandon_batch({{0, DeadLetterReason{404, "CDP_ETL.NOT_FOUND", "no", ""}}}).is_ok());
  std::vector<Entry> second{entry("{\"n\":2}")};
  REQUIRE(outbox->commit(second, {}).is_ok());
  auto moved = outbox->retry_dead_letters();
  REQUIRE(moved.is_ok());
  CHECK(moved.value() == 1);
  CHECK(outbox->dead_letter_count() == 0);
  auto read = outbox->read_entries(0, 10);
  REQUIRE(read.value().size() == 2);
  CHECK(read.value()[0].payload == "{\"n\":2}");
  CHECK(read.value()[1].payload == "{\"n\":1}");
  CHECK(outbox->purge_dead_letters().value() == 0);
}

TEST_CASE("over the byte cap the oldest ordinary writes are evicted, identity links never",
          "[outbox][unit]") {
  TempDir dir;
  auto outbox = open_outbox(dir.file("o.db"), 2000);
  std::vector<Entry> identity{entry("{\"device_id\":\"d\"}", experiture::outbox::kEntryIdentity)};
  REQUIRE(outbox->commit(identity, {}).is_ok());
  for (int i = 0; i < 100; ++i) {
    std::vector<Entry> one{entry("{\"n\":" + std::to_string(i) + ",\"pad\":\"xxxxxxxxxxxxxxxx\"}")};
    REQUIRE(outbox->commit(one, {}).is_ok());
  }
  CHECK(outbox->queued_bytes() <= 2000);
  CHECK(outbox->evicted_total() > 0);
  CHECK(outbox->evicted_total() + outbox->queued_records() == 101);
  auto read = outbox->read_entries(0, 1000);
  REQUIRE(read.is_ok());
  CHECK(read.value().front().payload == "{\"device_id\":\"d\"}");
  CHECK(read.value().back().payload.find("\"n\":99") != std::string::npos);
}

TEST_CASE("eviction under the byte cap never takes an entry of the batch in flight",
          "[outbox][unit]") {
  TempDir dir;
  auto outbox = open_outbox(dir.file("o.db"), 2000);
  std::vector<Entry> sent;
  for (int i = 0; i < 5; ++i) sent.push_back(entry("{\"sent\":" + std::to_string(i) + "}"));
  REQUIRE(outbox->commit(sent, {}).is_ok());
  Batch batch = batch_of(sent);
  REQUIRE(outbox->save_batch(batch).is_ok());
  REQUIRE(outbox->record_attempt().is_ok());
  for (int i = 0; i < 100; ++i) {
    std::vector<Entry> one{entry("{\"n\":" + std::to_string(i) + ",\"pad\":\"xxxxxxxxxxxxxxxx\"}")};
    REQUIRE(outbox->commit(one, {}).is_ok());
  }
  CHECK(outbox->evicted_total() > 0);  // the cap was hit
  auto read = outbox->read_entries(0, 1000);
  REQUIRE(read.is_ok());
  REQUIRE(read.value().size() >= 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(read.value()[i].seq == sent[i].seq);
    CHECK(read.value()[i].payload == sent[i].payload);
  }
  // The delivered batch removes exactly its own entries; the newest writes are still queued.
  const uint64_t queued = outbox->queued_records();
  REQUIRE(outbox->complete_batch({}).is_ok());
  CHECK(outbox->queued_records() == queued - 5);
  CHECK(outbox->read_entries(0, 1000).value().back().payload.find("\"n\":99") != std::string::npos);
}

TEST_CASE("purge_all drops every queued entry and the batch", "[outbox][unit]") {
  TempDir dir;
  auto outbox = open_outbox(dir.file("o.db"));
  std::vector<Entry> entries{entry("{\"n\":1}"), entry("{\"n\":2}")};
  REQUIRE(outbox->commit(entries, {}).is_ok());
  Batch batch = batch_of(entries);
  REQUIRE(outbox->save_batch(batch).is_ok());
  auto purged = outbox->purge_all();
  REQUIRE(purged.is_ok());
  CHECK(purged.value() == 2);
  CHECK(outbox->queued_records() == 0);
  CHECK_FALSE(outbox->batch());
}

TEST_CASE("dead letters are bounded and every one dropped is counted", "[outbox][unit]") {
  TempDir dir;
  Outbox::Options options;
  options.path = dir.file("o.db");
  options.max_dead_letters = 2;
  auto opened = Outbox::open(options, nullptr);
  REQUIRE(opened.is_ok());
  auto& outbox = *opened.value();
  std::vector<Entry> entries{entry("{\"n\":1}"), entry("{\"n\":2}"), entry("{\"n\":3}")};
  REQUIRE(outbox.commit(entries, {}).is_ok());
  Batch batch = batch_of(entries);
  REQUIRE(outbox.save_batch(batch).is_ok());
  DeadLetterReason reason{404, "CDP_ETL.NOT_FOUND", "no", ""};
  REQUIRE(outbox.abandon_batch({{0, reason}, {1, reason}, {2, reason}}).is_ok());
  CHECK(outbox.dead_letter_count() == 2);
  CHECK(outbox.dead_letter_dropped_total() == 1);
  auto dead = outbox.dead_letters(10).value();
  REQUIRE(dead.size() == 2);
  CHECK(dead[0].record == "{\"n\":2}");  // the oldest went first
}

TEST_CASE(
    "an existing outbox readable by others is tightened to owner-only at open, WAL and "
    "shm too",
    "[outbox][unit][hostile]") {
  TempDir dir;
  const std::string path = dir.file("o.db");
  { auto outbox = open_outbox(path); }
  using std::filesystem::perms;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path + suffix;
    if (!std::filesystem::exists(file)) std::ofstream(file, std::ios::binary).flush();
    std::filesystem::permissions(
        file, perms::owner_read | perms::owner_write | perms::group_read | perms::others_read);
  }
  auto outbox = open_outbox(path);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    INFO(suffix);
    const auto mode = std::filesystem::status(path + suffix).permissions();
    CHECK((mode & (perms::group_all | perms::others_all)) == perms::none);
  }
}

TEST_CASE(
    "an entry whose seal does not open is quarantined and the counters and oldest entry in "
    "memory match the file",
    "[outbox][unit][security]") {
  TempDir dir;
  Outbox::Options options;
  options.path = dir.file("o.db");
  // A codec that refuses to open one payload, as AES-GCM refuses a tampered one.
  options.codec.seal = [](const std::string& plain) { return plain; };
  options.codec.open = [](const std::string& stored) -> experiture::Result<std::string> {
    if (stored.find("tampered") != std::string::npos) {
      return experiture::Status(Code::kStorageError, "seal does not verify");
    }
    return stored;
  };
  auto opened = Outbox::open(options, nullptr);
  REQUIRE(opened.is_ok());
  auto& outbox = *opened.value();
  std::vector<Entry> entries{entry("{\"n\":\"tampered\"}"), entry("{\"n\":2}"), entry("{\"n\":3}")};
  entries[0].wall_ms = 1000;
  entries[1].wall_ms = 2000;
  entries[2].wall_ms = 3000;
  REQUIRE(outbox.commit(entries, {}).is_ok());
  REQUIRE(outbox.first_seq() == entries[0].seq);

  auto read = outbox.read_entries(0, 10);
  REQUIRE(read.is_ok());
  REQUIRE(read.value().size() == 2);
  CHECK(read.value()[0].seq == entries[1].seq);
  CHECK(outbox.queued_records() == 2);
  CHECK(outbox.dead_letter_count() == 1);
  CHECK(outbox.first_seq() == entries[1].seq);
  CHECK(outbox.oldest_wall_ms() == 2000);
  auto dead = outbox.dead_letters(10);
  REQUIRE(dead.is_ok());
  REQUIRE(dead.value().size() == 1);
  CHECK(dead.value()[0].code == "SDK.STORAGE.SEAL_INVALID");

  // The file holds the same counts: a reopened outbox reads what memory said.
  const uint64_t bytes = outbox.queued_bytes();
  opened.value().reset();
  auto reopened = Outbox::open(options, nullptr);
  REQUIRE(reopened.is_ok());
  CHECK(reopened.value()->queued_records() == 2);
  CHECK(reopened.value()->queued_bytes() == bytes);
  CHECK(reopened.value()->dead_letter_count() == 1);
}

TEST_CASE("a read error while picking up another connection's counters is an error, not a row",
          "[outbox][unit]") {
  // Connection b reads through FaultyVfs; a commits three entries, then b refreshes with its
  // k-th read failing (SQLITE_IOERR), for every k until a refresh meets no fault. Each refresh
  // either fails or ends with the counters a committed: a failed step is never read as a row.
  TempDir dir;
  FaultyVfs vfs;
  int failed = 0;
  int clean = 0;
  for (int k = 0; k < 100; ++k) {
    INFO("read " << k);
    const std::string path = dir.file("o" + std::to_string(k) + ".db");
    Outbox::Options options;
    options.path = path;
    options.vfs = vfs.name();
    auto opened_b = Outbox::open(options, nullptr);
    REQUIRE(opened_b.is_ok());
    std::unique_ptr<Outbox> b = std::move(opened_b).value();
    auto a = open_outbox(path);
    std::vector<Entry> entries{entry("{\"n\":1}"), entry("{\"n\":2}"), entry("{\"n\":3}")};
    REQUIRE(a->commit(entries, {}).is_ok());
    const uint64_t failures_before = vfs.failures(FaultyVfs::Operation::kRead);
    vfs.arm(FaultyVfs::Operation::kRead, k, 1);
    const experiture::Status refreshed = b->refresh_if_changed(false);
    vfs.disarm(FaultyVfs::Operation::kRead);
    const bool faulted = vfs.failures(FaultyVfs::Operation::kRead) > failures_before;
    if (refreshed.is_ok()) {
      CHECK(b->queued_records() == 3);
      CHECK(b->last_seq() == entries[2].seq);
      ++clean;
    } else {
      CHECK(faulted);
      ++failed;
    }
    b.reset();
    a.reset();
    if (!faulted) break;
  }
  CHECK(failed > 0);
  CHECK(clean > 0);
}

TEST_CASE("a commit whose insert meets a read error fails whole, and one that succeeds kept all",
          "[outbox][unit]") {
  // A fresh connection on a file of 400 entries has to read the pages an append goes to. With
  // its k-th read failing (SQLITE_IOERR), for every k until a commit meets no fault: either the
  // commit fails and the file holds the 400, or it succeeds and holds all 403.
  TempDir dir;
  const std::string base = dir.file("base.db");
  {
    auto outbox = open_outbox(base);
    std::vector<Entry> entries;
    for (int i = 0; i < 400; ++i) entries.push_back(entry("{\"n\":" + std::to_string(i) + "}"));
    REQUIRE(outbox->commit(entries, {}).is_ok());
  }
  FaultyVfs vfs;
  int failed = 0;
  int clean = 0;
  for (int k = 0; k < 100; ++k) {
    INFO("read " << k);
    const std::string path = dir.file("o" + std::to_string(k) + ".db");
    std::filesystem::copy_file(base, path);
    experiture::Status committed;
    bool faulted = false;
    {
      Outbox::Options options;
      options.path = path;
      options.vfs = vfs.name();
      auto opened = Outbox::open(options, nullptr);
      REQUIRE(opened.is_ok());
      std::unique_ptr<Outbox> outbox = std::move(opened).value();
      std::vector<Entry> more{entry("{\"m\":0}"), entry("{\"m\":1}"), entry("{\"m\":2}")};
      const uint64_t failures_before = vfs.failures(FaultyVfs::Operation::kRead);
      vfs.arm(FaultyVfs::Operation::kRead, k, 1);
      committed = outbox->commit(more, {});
      vfs.disarm(FaultyVfs::Operation::kRead);
      faulted = vfs.failures(FaultyVfs::Operation::kRead) > failures_before;
      CHECK(outbox->queued_records() == (committed.is_ok() ? 403u : 400u));
    }
    auto reopened = open_outbox(path);
    auto all = reopened->read_entries(0, 1000);
    REQUIRE(all.is_ok());
    if (committed.is_ok()) {
      ++clean;
      REQUIRE(all.value().size() == 403);
      for (int i = 0; i < 3; ++i) {
        CHECK(all.value()[static_cast<size_t>(400 + i)].payload ==
              "{\"m\":" + std::to_string(i) + "}");
      }
    } else {
      ++failed;
      CHECK(faulted);
      CHECK(all.value().size() == 400);
    }
    CHECK(reopened->queued_records() == all.value().size());
    if (!faulted) break;
  }
  CHECK(failed > 0);
  CHECK(clean > 0);
}
