// The corruption matrix: an outbox with queued writes, a persisted (in-flight) batch and an
// identity, damaged at the header, the schema-version bytes, page 1, a middle page, the last
// page, the WAL, or cut short; each region overwritten with zeros, random bytes or 0xff. Each
// case reopens the copy and drains it to the real emulator: nothing crashes or sticks, nothing is
// delivered twice, and delivered + lost (as reported) == what was queued.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Config;
using experiture::Stats;
using experiture::test::EmulatorProcess;
using experiture::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The page size from a database header (bytes 16-17, big-endian; 1 means 65536).
uint64_t header_page_size(const std::string& db) {
  std::ifstream in(db, std::ios::binary);
  unsigned char head[18] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const uint64_t size = (static_cast<uint64_t>(head[16]) << 8) | head[17];
  return size == 1 ? 65536 : size;
}
constexpr int kEvents = 400;     // in the main file
constexpr int kWalEvents = 150;  // only in the WAL of the "killed" copy
// Rows per 4 KiB page are about 16 here (fewer with the outbox's 1 KiB pages); a bound with room
// for cells split over two pages.
constexpr uint64_t kMaxLostPerPage = 40;

// What the listener heard about damage: salvaged and lost queued writes, summed.
struct DamageReport {
  std::mutex mutex;
  uint64_t salvaged = 0;
  uint64_t lost = 0;
  int reports = 0;
};

Config config_for(const std::string& path, const std::string& endpoint,
                  std::shared_ptr<DamageReport> damage = nullptr) {
  Config c;
  c.storage_path = path;
  c.endpoint = endpoint;
  c.token = "test-token";
  c.manual_mode = true;
  c.batch_size = 50;
  c.retry.base_ms = 5;
  c.retry.cap_ms = 20;
  c.http_timeout_ms = 5000;
  if (damage) {
    c.listener = [damage](const experiture::DeliveryEvent& e) {
      const std::string prefix = "outbox file was damaged";
      if (e.type != experiture::DeliveryEvent::Type::kDropped ||
          e.reason.compare(0, prefix.size(), prefix) != 0) {
        return;
      }
      std::lock_guard<std::mutex> lock(damage->mutex);
      ++damage->reports;
      damage->lost += e.count;
      const size_t at = e.reason.find("; salvaged ");
      if (at != std::string::npos) damage->salvaged += std::stoull(e.reason.substr(at + 11));
    };
  }
  return c;
}

std::unique_ptr<Client> open_client(const Config& c) {
  auto opened = Client::open(c);
  INFO(opened.status().to_string());
  REQUIRE(opened.is_ok());
  return std::move(opened).value();
}

void append_events(Client& client, int from, int to) {
  const std::string pad(120, 'p');
  for (int i = from; i < to; ++i) {
    REQUIRE(client
                .append("events",
                        json{{"event", "scan"}, {"sequence", i}, {"properties", {{"pad", pad}}}})
                .is_ok());
  }
}

void copy_files(const std::string& from_dir, const std::string& to_dir) {
  for (const auto& e : fs::directory_iterator(from_dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("outbox.db", 0) != 0 || name == "outbox.db-shm") continue;
    fs::copy_file(e.path(), fs::path(to_dir) / name, fs::copy_options::overwrite_existing);
  }
}

enum class Fill { kZeros, kRandom, kOnes };

const char* fill_name(Fill f) {
  return f == Fill::kZeros ? "zeros" : f == Fill::kRandom ? "random" : "0xff";
}

void overwrite(const std::string& path, uint64_t offset, uint64_t length, Fill fill) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.good());
  std::mt19937 rng(static_cast<uint32_t>(offset + length));
  std::string bytes(length, '\0');
  for (auto& b : bytes) {
    b = fill == Fill::kZeros  ? '\0'
        : fill == Fill::kOnes ? static_cast<char>(0xff)
                              : static_cast<char>(rng() & 0xff);
  }
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct Case {
  std::string name;
  bool killed;  // the copy with a WAL (as a kill leaves it) instead of the cleanly closed one
  std::function<void(const std::string& db)> damage;
  uint64_t max_lost;
  // False when the damage takes the counters with it (the file cut to less than a page): then
  // the report cannot know how much was queued, and only "nothing doubled, not stuck" holds.
  bool counts_known = true;
};

// Reads what the emulator holds: events by sequence, and whether the anonymous profile arrived.
struct Delivered {
  std::map<int64_t, int> events;
  uint64_t profiles = 0;
  int doubled = 0;
  int keys_applied_twice = 0;
  uint64_t records() const { return events.size() + profiles; }
};

Delivered delivered(const EmulatorProcess& emulator) {
  Delivered d;
  for (const auto& e : emulator.events("events")) {
    if (++d.events[e["fields"]["sequence"].get<int64_t>()] > 1) ++d.doubled;
  }
  d.profiles = emulator.profiles().size();
  const auto counters = emulator.counters();  // the loop below must not outlive it
  for (const auto& item : counters.at("applications_by_idempotency_key").items()) {
    if (item.value().get<int64_t>() > 1) ++d.keys_applied_twice;
  }
  return d;
}

}  // namespace

TEST_CASE("a damaged outbox is found, salvaged and drained: nothing doubled, never stuck",
          "[fault][corruption]") {
  EmulatorProcess emulator;
  TempDir golden_dir;
  TempDir killed_dir;
  const std::string unreachable = "http://127.0.0.1:1/public/v1";
  uint64_t queued_clean = 0;
  uint64_t queued_killed = 0;
  {
    // Queued writes, the anonymous profile (identity in meta) and a batch persisted with its key
    // whose send failed: the state a device has after a while offline.
    auto client = open_client(config_for(golden_dir.file("outbox.db"), unreachable));
    append_events(*client, 0, kEvents);
    REQUIRE(client->persist(10000).is_ok());
    CHECK(client->flush(300).code() != experiture::Code::kOk);
    queued_clean = client->stats().queued_records;
    REQUIRE(client->close(10000).is_ok());
  }
  REQUIRE(queued_clean == kEvents + 1);
  copy_files(golden_dir.path(), killed_dir.path());
  std::unique_ptr<Client> holder;
  {
    // The killed copy: more writes committed to the WAL, files copied while the client is open.
    holder = open_client(config_for(killed_dir.file("outbox.db"), unreachable));
    append_events(*holder, kEvents, kEvents + kWalEvents);
    REQUIRE(holder->persist(10000).is_ok());
    queued_killed = holder->stats().queued_records;
  }
  REQUIRE(queued_killed == queued_clean + kWalEvents);
  TempDir frozen_dir;
  copy_files(killed_dir.path(), frozen_dir.path());
  REQUIRE(fs::exists(frozen_dir.file("outbox.db-wal")));
  holder.reset();

  const uint64_t db_size = fs::file_size(golden_dir.file("outbox.db"));
  const uint64_t page_size = header_page_size(golden_dir.file("outbox.db"));
  REQUIRE(page_size >= 512);
  const uint64_t pages = db_size / page_size;
  REQUIRE(pages >= 8);
  const uint64_t wal_size = fs::file_size(frozen_dir.file("outbox.db-wal"));

  std::vector<Case> cases;
  for (Fill fill : {Fill::kZeros, Fill::kRandom, Fill::kOnes}) {
    const std::string how = std::string(" with ") + fill_name(fill);
    cases.push_back({"header (bytes 0-99)" + how, false,
                     [fill](const std::string& db) { overwrite(db, 0, 100, fill); }, 0});
    cases.push_back({"schema version (bytes 60-63)" + how, false,
                     [fill](const std::string& db) { overwrite(db, 60, 4, fill); }, 0});
    cases.push_back(
        {"page 1 after the header" + how, false,
         [fill, page_size](const std::string& db) { overwrite(db, 100, page_size - 100, fill); },
         kMaxLostPerPage});
    cases.push_back({"a middle page" + how, false,
                     [fill, pages, page_size](const std::string& db) {
                       overwrite(db, (pages / 2) * page_size, page_size, fill);
                     },
                     kMaxLostPerPage});
    cases.push_back({"64 bytes in a middle page" + how, false,
                     [fill, pages, page_size](const std::string& db) {
                       overwrite(db, (pages / 2 + 1) * page_size + 8, 64, fill);
                     },
                     kMaxLostPerPage});
    cases.push_back({"the last page" + how, false,
                     [fill, pages, page_size](const std::string& db) {
                       overwrite(db, (pages - 1) * page_size, page_size, fill);
                     },
                     kMaxLostPerPage});
    cases.push_back({"the middle of the WAL" + how, true,
                     [fill, wal_size](const std::string& db) {
                       overwrite(db + "-wal", wal_size / 2, 64, fill);
                     },
                     // The damaged frame may hold the counters' page: then the loss cannot be
                     // counted, only bounded.
                     kWalEvents, false});
  }
  for (uint64_t length : {uint64_t{50}, db_size / 2, db_size - page_size}) {
    cases.push_back(
        {"cut to " + std::to_string(length) + " bytes", false,
         [length](const std::string& db) { fs::resize_file(db, length); },
         length < page_size ? queued_clean : (pages - length / page_size + 1) * kMaxLostPerPage,
         length >= page_size});
  }

  uint64_t recovered_cases = 0, salvaged_total = 0, lost_total = 0;
  for (const auto& c : cases) {
    INFO("case: " << c.name);
    TempDir case_dir;
    copy_files(c.killed ? frozen_dir.path() : golden_dir.path(), case_dir.path());
    const std::string db = case_dir.file("outbox.db");
    c.damage(db);
    emulator.reset();
    const uint64_t queued = c.killed ? queued_killed : queued_clean;

    Stats stats;
    auto damage = std::make_shared<DamageReport>();
    {
      auto client = open_client(config_for(db, emulator.base_url(), damage));
      const auto flushed = client->flush(30000);
      INFO(flushed.to_string() << "; last error " << client->stats().last_error);
      CHECK(flushed.is_ok());
      stats = client->stats();
      CHECK(client->close(10000).is_ok());
    }
    const uint64_t salvaged = damage->salvaged;
    const uint64_t lost = damage->lost;
    INFO("recovered " << damage->reports << " times, salvaged " << salvaged << ", lost " << lost
                      << ", last error " << stats.last_error);
    const Delivered d = delivered(emulator);
    CHECK(d.doubled == 0);
    CHECK(d.keys_applied_twice == 0);
    // Counts match: what arrived, plus what the report calls lost, plus what a damaged record
    // turned into (a dead letter with the server's reason) is what was queued.
    const uint64_t accounted = d.records() + lost + stats.dead_letters;
    if (c.counts_known) {
      CHECK(accounted == queued);
    } else {
      CHECK(accounted <= queued);
    }
    CHECK(salvaged <= d.records());
    CHECK(lost <= c.max_lost);
    if (damage->reports > 0) ++recovered_cases;
    salvaged_total += salvaged;
    lost_total += lost;

    // Never stuck: the next process opens the same path, writes and delivers.
    auto again = open_client(config_for(db, emulator.base_url()));
    REQUIRE(again->append("events", json{{"event", "after"}, {"sequence", 1000000}}).is_ok());
    CHECK(again->flush(20000).is_ok());
    CHECK(again->stats().queued_records == 0);
  }
  WARN("corruption matrix: " << cases.size() << " cases, " << recovered_cases
                             << " recovered, salvaged " << salvaged_total << ", lost "
                             << lost_total);
}
