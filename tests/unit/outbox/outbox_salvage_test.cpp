// Damage found by the outbox itself (open or any statement), then moved aside and salvaged.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "outbox/outbox.hpp"
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
