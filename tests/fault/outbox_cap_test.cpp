// The outbox byte cap under a long offline spell: 1,000,000 writes through the SDK into a small
// cap. Evictions are counted and reported, identity writes survive, and the file (database +
// WAL) stays within the cap plus one commit group.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "experiture/client.hpp"
#include "outbox/outbox.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::DeliveryEvent;
using nlohmann::json;

namespace {

int64_t file_size(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

struct DiskUse {
  int64_t db = 0, wal = 0, shm = 0;
  int64_t total() const { return db + wal + shm; }
};

DiskUse disk_use(const std::string& path) {
  return DiskUse{file_size(path), file_size(path + "-wal"), file_size(path + "-shm")};
}

}  // namespace

TEST_CASE(
    "1,000,000 writes into a 256 KiB cap evict oldest first, report every drop, keep identity"
    " writes, and the file stays within the cap plus one commit group",
    "[fault][outbox][cap]") {
  constexpr int kWrites = 1000000;
  constexpr int64_t kCapBytes = 256 * 1024;
  // The largest transaction is one commit group: at most ingress_capacity writes. On disk it
  // takes about 200 bytes a write twice over: new pages in the database file (the evictions free
  // pages only for the next group) and the same pages again in the WAL.
  constexpr size_t kGroupWrites = 4096;
  constexpr int64_t kOneGroupOnDiskBytes = 2 * static_cast<int64_t>(kGroupWrites) * 200;
  // The WAL is checkpointed (and cut back) past 1/16 of the cap, at least 1 MiB (outbox.cpp
  // wal_checkpoint_bytes: 1 MiB for this 256 KiB cap); SQLite's
  // own structure (page headers, interior pages, free space in pages, the -shm index) on top.
  constexpr int64_t kWalThresholdBytes = 1024 * 1024;
  constexpr int64_t kStructureBytes = 256 * 1024;

  experiture::test::TempDir dir;
  Config c;
  c.storage_path = dir.file("outbox.db");
  c.endpoint = "http://127.0.0.1:9/public/v1";
  c.initial_consent = experiture::Consent::kUnknown;  // nothing is sent: a week offline
  c.max_outbox_bytes = kCapBytes;
  c.ingress_capacity = kGroupWrites;
  std::atomic<uint64_t> reported_dropped{0};
  std::atomic<uint64_t> drop_events{0};
  c.listener = [&](const DeliveryEvent& e) {
    if (e.type != DeliveryEvent::Type::kDropped) return;
    reported_dropped += e.count;
    ++drop_events;
  };
  auto opened = Client::open(c);
  REQUIRE(opened.is_ok());
  auto client = std::move(opened).value();

  const auto start = std::chrono::steady_clock::now();
  REQUIRE(client->login({"first@example.com", "c-1", ""}).is_ok());
  DiskUse max_disk;             // the largest total seen, by part
  int identity_writes = 1 + 1;  // the anonymous profile, the first login
  const std::string pad(40, 'x');
  for (int i = 0; i < kWrites; ++i) {
    json record = {{"n", i}, {"pad", pad}};
    for (;;) {
      const auto status = client->append("events", record);
      if (status.code() != Code::kQueueFull) {
        REQUIRE(status.is_ok());
        break;
      }
      REQUIRE(client->persist(30000).is_ok());
    }
    if (i == kWrites / 2) {
      REQUIRE(client->set_push_token("push-middle").is_ok());
      ++identity_writes;
    }
    if (i % 10000 == 0) {
      REQUIRE(client->persist(30000).is_ok());
      const DiskUse now = disk_use(c.storage_path);
      if (now.total() > max_disk.total()) max_disk = now;
    }
  }
  REQUIRE(client->persist(60000).is_ok());
  const DiskUse last = disk_use(c.storage_path);
  if (last.total() > max_disk.total()) max_disk = last;
  const auto elapsed_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
          .count();
  REQUIRE(client->close(30000).is_ok());  // joins the store thread: every listener call is done
  const auto stats = client->stats();
  INFO("elapsed " << elapsed_s << " s, max outbox on disk " << max_disk.total() << " bytes (db "
                  << max_disk.db << ", wal " << max_disk.wal << ", shm " << max_disk.shm << "), "
                  << stats.queued_records << " queued, " << stats.dropped_evicted << " evicted");
  // No time assertion: speed is experiture-bench's business; ctest's timeout bounds the run.

  const uint64_t total_entries = static_cast<uint64_t>(kWrites + identity_writes);
  CHECK(stats.dropped_evicted > 0);
  CHECK(stats.queued_records + stats.dropped_evicted == total_entries);
  CHECK(stats.queued_bytes <= static_cast<uint64_t>(kCapBytes));
  CHECK(reported_dropped.load() == stats.dropped_evicted);
  CHECK(drop_events.load() > 0);
  CHECK(max_disk.total() <=
        kCapBytes + kOneGroupOnDiskBytes + kWalThresholdBytes + kStructureBytes);

  experiture::outbox::Outbox::Options options;
  options.path = c.storage_path;
  auto outbox = experiture::outbox::Outbox::open(options, nullptr);
  REQUIRE(outbox.is_ok());
  auto entries = outbox.value()->read_entries(0, 10000000);
  REQUIRE(entries.is_ok());
  int identity_left = 0;
  int64_t previous_n = -1;
  for (const auto& e : entries.value()) {
    if ((e.flags & experiture::outbox::kEntryIdentity) != 0) {
      ++identity_left;
      continue;
    }
    // The survivors are the newest writes, in order, without gaps.
    const int64_t n = json::parse(e.payload)["n"].get<int64_t>();
    if (previous_n >= 0) CHECK(n == previous_n + 1);
    previous_n = n;
  }
  CHECK(identity_left == identity_writes);
  CHECK(previous_n == kWrites - 1);
}
