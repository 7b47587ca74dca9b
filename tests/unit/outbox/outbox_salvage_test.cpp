// Damage found by the outbox itself (open or any statement), then moved aside and salvaged.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "outbox/outbox.hpp"
#include "outbox/salvage.hpp"
#include "temp_dir.hpp"

using experiture::outbox::Batch;
using experiture::outbox::Entry;
using experiture::outbox::Outbox;
using experiture::outbox::WriteKind;
using experiture::test::TempDir;

namespace {

constexpr int kEntries = 400;

std::unique_ptr<Outbox> open_outbox(const std::string& path, Outbox::OpenReport* report) {
  Outbox::Options options;
  options.path = path;
  auto opened = Outbox::open(options, report);
  INFO(opened.status().to_string());
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

// kEntries entries, a persisted batch over the first 50, and an identity row; closed cleanly.
Batch fill(const std::string& path) {
  auto outbox = open_outbox(path, nullptr);
  std::vector<Entry> entries;
  for (int i = 0; i < kEntries; ++i) {
    Entry e;
    e.object = "events";
    e.kind = WriteKind::kAppend;
    e.payload =
        "{\"sequence\":" + std::to_string(i) + ",\"pad\":\"" + std::string(120, 'p') + "\"}";
    entries.push_back(e);
  }
  REQUIRE(outbox->commit(entries, {{"identity.device_id", std::string("device-1")}}).is_ok());
  Batch b;
  b.object = "events";
  b.kind = WriteKind::kAppend;
  b.idempotency_key = "0f8fad5b-d9cb-469f-a165-70867728950e";
  b.body = "{\"records\":[" + std::string(6000, ' ') + "]}";  // spills to overflow pages
  for (int i = 0; i < 50; ++i) b.sources.push_back({entries[static_cast<size_t>(i)].seq});
  REQUIRE(outbox->save_batch(b).is_ok());
  return b;
}

void overwrite(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A WAL file as SQLite writes it (big-endian checksums, 512-byte pages), built frame by frame:
// `frames` pages, frame i a commit when commits[i]; then the page data of each frame in
// `broken` is changed after the checksums were computed, so that frame no longer checks out
// while the frames after it still check out against the checksum stored in it.
void put32(std::string* s, size_t at, uint32_t v) {
  (*s)[at] = static_cast<char>(v >> 24);
  (*s)[at + 1] = static_cast<char>(v >> 16);
  (*s)[at + 2] = static_cast<char>(v >> 8);
  (*s)[at + 3] = static_cast<char>(v);
}
uint32_t get32(const std::string& s, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + at;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void wal_checksum(const std::string& s, size_t at, size_t n, uint32_t* s0, uint32_t* s1) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    *s0 += get32(s, at + i) + *s1;
    *s1 += get32(s, at + i + 4) + *s0;
  }
}
std::string synthetic_wal(const std::vector<bool>& commits, const std::vector<size_t>& broken) {
  constexpr uint32_t kPage = 512;
  constexpr size_t kFrame = 24 + kPage;
  std::string wal(32 + commits.size() * kFrame, '\0');
  put32(&wal, 0, 0x377f0683);  // big-endian checksums
  put32(&wal, 4, 3007000);
  put32(&wal, 8, kPage);
  put32(&wal, 16, 0x11223344);  // salts
  put32(&wal, 20, 0x55667788);
  uint32_t s0 = 0, s1 = 0;
  wal_checksum(wal, 0, 24, &s0, &s1);
  put32(&wal, 24, s0);
  put32(&wal, 28, s1);
  for (size_t i = 0; i < commits.size(); ++i) {
    const size_t f = 32 + i * kFrame;
    put32(&wal, f, static_cast<uint32_t>(2 + i % 3));               // page number
    put32(&wal, f + 4, commits[i] ? static_cast<uint32_t>(5) : 0);  // db size after a commit
    put32(&wal, f + 8, 0x11223344);
    put32(&wal, f + 12, 0x55667788);
    for (size_t b = 0; b < kPage; ++b) wal[f + 24 + b] = static_cast<char>((i * 31 + b) & 0xff);
    wal_checksum(wal, f, 8, &s0, &s1);
    wal_checksum(wal, f + 24, kPage, &s0, &s1);
    put32(&wal, f + 16, s0);
    put32(&wal, f + 20, s1);
  }
  for (size_t i : broken) wal[32 + i * kFrame + 24 + 100] ^= 0x5a;
  return wal;
}

}  // namespace

TEST_CASE("a zeroed schema version (header bytes 60-63) is damage, and everything is salvaged",
          "[outbox][unit][corruption]") {
  TempDir dir;
  const std::string path = dir.file("o.db");
  const Batch batch = fill(path);
  overwrite(path, 60, std::string(4, '\0'));
  Outbox::OpenReport report;
  auto outbox = open_outbox(path, &report);
  CHECK(report.recovered);
  CHECK(report.reason.find("schema version") != std::string::npos);
  CHECK(std::filesystem::exists(report.moved_to));
  CHECK(report.salvaged_entries == kEntries);
  CHECK(report.lost_entries == 0);
  CHECK(report.salvaged_batches == 1);
  CHECK(outbox->queued_records() == kEntries);
  CHECK(outbox->meta("identity.device_id") == std::string("device-1"));
  REQUIRE(outbox->batch() != nullptr);
  CHECK(outbox->batch()->idempotency_key == batch.idempotency_key);
  CHECK(outbox->batch()->body == batch.body);
  CHECK(outbox->damage_salvaged_total() == kEntries);
  // The fresh file opens cleanly again, with the report kept.
  outbox.reset();
  Outbox::OpenReport again;
  auto reopened = open_outbox(path, &again);
  CHECK_FALSE(again.recovered);
  CHECK(reopened->damage_salvaged_total() == kEntries);
  CHECK(reopened->queued_records() == kEntries);
}

TEST_CASE("a damaged middle page found by a read is recovered: the rest salvaged, the loss counted",
          "[outbox][unit][corruption]") {
  TempDir dir;
  const std::string path = dir.file("o.db");
  fill(path);
  const uint64_t pages = std::filesystem::file_size(path) / 4096;
  REQUIRE(pages > 10);
  overwrite(path, (pages / 2) * 4096, std::string(4096, '\0'));
  Outbox::OpenReport report;
  auto outbox = open_outbox(path, &report);  // a clean close: nothing checked at open
  CHECK_FALSE(report.recovered);
  auto read = outbox->read_entries(0, 100000);
  CHECK_FALSE(read.is_ok());
  REQUIRE(outbox->damaged());
  REQUIRE(outbox->recover("test", &report).is_ok());
  CHECK_FALSE(outbox->damaged());
  CHECK(report.recovered);
  CHECK(report.lost_entries > 0);
  CHECK(report.lost_entries <= 40);
  CHECK(report.salvaged_entries + report.lost_entries == kEntries);
  auto after = outbox->read_entries(0, 100000);
  REQUIRE(after.is_ok());
  CHECK(after.value().size() == outbox->queued_records());
  CHECK(outbox->queued_records() + report.lost_entries == kEntries);
}

// A power cut can let only part of a transaction reach the disk: here the page without the batch
// row (as completing the batch writes it) but neither the deletion of its entries nor the
// delivered mark. The records may have been applied under the batch's key, so they must go out
// again in that batch, with its key and body, never in a new batch under a new key.
TEST_CASE("a batch row that only an older version of its page holds is salvaged with its key",
          "[outbox][unit][corruption]") {
  TempDir dir;
  const std::string path = dir.file("o.db");
  const Batch batch = fill(path);  // closed cleanly: the batch row is in the main file
  Outbox::OpenReport report;
  auto outbox = open_outbox(path, &report);
  {
    // The newer version of the page, in the WAL, no longer holds the row.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    CHECK(sqlite3_exec(raw, "PRAGMA secure_delete=FAST; DELETE FROM batches", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
    sqlite3_close(raw);  // not the last connection: the WAL stays as it is
  }
  REQUIRE(std::filesystem::exists(path + "-wal"));
  REQUIRE(outbox->recover("test", &report).is_ok());
  CHECK(report.salvaged_batches == 1);
  CHECK(report.salvaged_entries == kEntries);
  REQUIRE(outbox->batch() != nullptr);
  CHECK(outbox->batch()->idempotency_key == batch.idempotency_key);
  CHECK(outbox->batch()->body == batch.body);
  CHECK(outbox->batch()->sources == batch.sources);
  CHECK(outbox->queued_records() == kEntries);
}

TEST_CASE("a WAL is damaged only when 8 frames after a break check out in a row, to a commit",
          "[outbox][unit]") {
  // Frames 0-1 are a transaction SQLite reads; frame 2 is the break. What follows is a torn tail
  // (not damage) unless a run of 8 frames that check out ends in a commit. A second broken
  // frame starts the run again: it is not part of it.
  TempDir dir;
  const std::string path = dir.file("o.db-wal");
  auto damaged = [&](size_t good_after_break, const std::vector<size_t>& broken) {
    std::vector<bool> commits(3 + good_after_break, false);
    commits[1] = true;
    commits.back() = true;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << synthetic_wal(commits, broken);
    return experiture::outbox::wal_damaged(path);
  };
  CHECK_FALSE(damaged(0, {}));  // the last frame is a good commit: nothing broken
  CHECK_FALSE(damaged(7, {2}));
  CHECK(damaged(8, {2}));
  CHECK(damaged(9, {2}));
  // Frame 3 broken too: the run is frames 4 on.
  CHECK_FALSE(damaged(8, {2, 3}));
  CHECK(damaged(9, {2, 3}));
  // A run broken in its middle (frame 6) counts from after it.
  CHECK_FALSE(damaged(11, {2, 6}));
  CHECK(damaged(12, {2, 6}));
}

TEST_CASE("an older batch whose records are partly in a newer batch is not restored beside it",
          "[outbox][unit][corruption]") {
  // The first batch (entries 1-50) was given up and entries 11-50 batched again under another
  // key. Only an older version of the page still holds the first batch: restoring it beside
  // the newer one would send entries 11-50 twice, under two keys.
  TempDir dir;
  const std::string path = dir.file("o.db");
  const Batch first = fill(path);  // closed cleanly: its row is in the main file
  Outbox::OpenReport report;
  auto outbox = open_outbox(path, &report);
  REQUIRE(outbox->abandon_batch({}).is_ok());
  Batch second = first;
  second.idempotency_key = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  second.sources.assign(first.sources.begin() + 10, first.sources.end());
  REQUIRE(outbox->save_batch(second).is_ok());
  REQUIRE(std::filesystem::exists(path + "-wal"));
  REQUIRE(outbox->recover("test", &report).is_ok());
  CHECK(report.salvaged_entries == kEntries);
  CHECK(report.salvaged_batches == 1);
  REQUIRE(outbox->batch() != nullptr);
  CHECK(outbox->batch()->idempotency_key == second.idempotency_key);
  CHECK(outbox->batch()->sources == second.sources);
  CHECK(outbox->next_batch() == nullptr);
  CHECK(outbox->queued_records() == kEntries);
}

TEST_CASE("a page 1 without the SQLite magic is no header: its freelist field is not followed",
          "[outbox][unit][corruption]") {
  // The first 16 bytes are gone; what is left of the header cannot be trusted, so a freelist
  // trunk number still found in it must not hide the page it names (any page, holding rows).
  TempDir dir;
  const std::string path = dir.file("o.db");
  fill(path);
  const auto pages = static_cast<uint32_t>(std::filesystem::file_size(path) / 1024);
  REQUIRE(pages > 10);
  overwrite(path, 0, std::string(16, '\0'));
  for (uint32_t trunk = 2; trunk <= pages; ++trunk) {
    INFO("freelist trunk field " << trunk);
    const std::string field{static_cast<char>(trunk >> 24), static_cast<char>(trunk >> 16),
                            static_cast<char>(trunk >> 8), static_cast<char>(trunk)};
    overwrite(path, 32, field);
    const experiture::outbox::SalvagedRows rows = experiture::outbox::salvage_rows(path, "");
    CHECK_FALSE(rows.header_ok);
    CHECK(rows.entries.size() == static_cast<size_t>(kEntries));
  }
}

TEST_CASE("integers stored in 8 bytes are salvaged with their value",
          "[outbox][unit][corruption]") {
  // SQLite stores an integer beyond 48 bits in 8 bytes (serial type 6); smaller ones in fewer.
  TempDir dir;
  const std::string path = dir.file("o.db");
  const std::vector<int64_t> values = {int64_t{1} << 50,
                                       int64_t{0x0123456789abcdef},
                                       -(int64_t{1} << 48) - 5,
                                       INT64_MAX,
                                       INT64_MIN,
                                       (int64_t{1} << 47) - 1,
                                       1700000000123};
  {
    auto outbox = open_outbox(path, nullptr);
    std::vector<Entry> entries;
    for (size_t i = 0; i < values.size(); ++i) {
      Entry e;
      e.object = "events";
      e.kind = WriteKind::kAppend;
      e.payload = "{\"i\":" + std::to_string(i) + "}";
      e.wall_ms = values[i];
      e.mono_ms = values[values.size() - 1 - i];
      entries.push_back(e);
    }
    REQUIRE(outbox->commit(entries, {}).is_ok());
  }
  const experiture::outbox::SalvagedRows rows = experiture::outbox::salvage_rows(path, "");
  REQUIRE(rows.entries.size() == values.size());
  size_t i = 0;
  for (const auto& item : rows.entries) {
    INFO("entry " << i);
    CHECK(item.second.payload == "{\"i\":" + std::to_string(i) + "}");
    CHECK(item.second.wall_ms == values[i]);
    CHECK(item.second.mono_ms == values[values.size() - 1 - i]);
    ++i;
  }
}

TEST_CASE("after a salvage new writes take seqs above every seq a restored batch lists",
          "[outbox][unit][corruption]") {
  // A batch over entries 390-400 was persisted (so maybe sent), then given up; the newest pages
  // lost entries 396-400 and the counters say 395. Only an older version of its page holds the
  // batch: it goes back with its key, and its seqs 396-400 must stay taken, or a new write
  // could get one of them and be deleted unsent when that batch completes.
  TempDir dir;
  const std::string path = dir.file("o.db");
  Batch batch;
  {
    auto outbox = open_outbox(path, nullptr);
    std::vector<Entry> entries;
    for (int i = 0; i < kEntries; ++i) {
      Entry e;
      e.object = "events";
      e.kind = WriteKind::kAppend;
      e.payload = "{\"sequence\":" + std::to_string(i) + "}";
      entries.push_back(e);
    }
    REQUIRE(outbox->commit(entries, {}).is_ok());
    REQUIRE(entries.back().seq == kEntries);
    batch.object = "events";
    batch.kind = WriteKind::kAppend;
    batch.idempotency_key = "0f8fad5b-d9cb-469f-a165-70867728950e";
    batch.body = "{\"records\":[]}";
    for (int i = kEntries - 11; i < kEntries; ++i) {
      batch.sources.push_back({entries[static_cast<size_t>(i)].seq});
    }
    REQUIRE(outbox->save_batch(batch).is_ok());
  }  // closed cleanly: the batch row is in the main file
  Outbox::OpenReport report;
  auto outbox = open_outbox(path, &report);
  REQUIRE(outbox->abandon_batch({}).is_ok());  // the newest version of its page drops it
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    CHECK(sqlite3_exec(raw,
                       "PRAGMA secure_delete=FAST; DELETE FROM entries WHERE seq > 395;"
                       " UPDATE meta SET value = '395' WHERE key = 'last_seq'",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);  // not the last connection: the WAL stays as it is
  }
  REQUIRE(outbox->recover("test", &report).is_ok());
  CHECK(report.salvaged_entries == kEntries);  // 395 entries, 396-400 inside the batch
  CHECK(report.salvaged_batches == 1);
  REQUIRE(outbox->batch() != nullptr);
  CHECK(outbox->batch()->sources == batch.sources);
  CHECK(outbox->last_seq() == kEntries);
  std::vector<Entry> more(1);
  more[0].object = "events";
  more[0].kind = WriteKind::kAppend;
  more[0].payload = "{\"after\":1}";
  REQUIRE(outbox->commit(more, {}).is_ok());
  CHECK(more[0].seq == kEntries + 1);
}
