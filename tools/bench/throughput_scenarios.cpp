// durable_throughput, drain_throughput and coalescing: the SDK against bare SQLite and bare
// libcurl doing the same work in the same run.
#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "experiture/platform/backends.hpp"
#include "scenarios.hpp"

namespace experiture {
namespace bench {
namespace {

// The outbox's entries table (core/src/outbox/migrations.cpp, migration 1).
constexpr const char* kEntriesDdl =
    "CREATE TABLE entries(seq INTEGER PRIMARY KEY, object TEXT NOT NULL, kind INTEGER NOT NULL,"
    " match_key TEXT NOT NULL, payload BLOB NOT NULL, wall_ms INTEGER NOT NULL,"
    " mono_ms INTEGER NOT NULL, flags INTEGER NOT NULL);";

void sql(sqlite3* db, const char* text) {
  if (sqlite3_exec(db, text, nullptr, nullptr, nullptr) != SQLITE_OK) {
    die(std::string("sqlite baseline: ") + sqlite3_errmsg(db));
  }
}

// The page size of the file the SDK's outbox creates (1 KiB since issue 15, for flash wear):
// read from an outbox the SDK made, so that the baseline follows the outbox if it changes.
int64_t outbox_page_size(Context& ctx) {
  const std::string path = ctx.fresh_path("page-size");
  open_client(bench_config(path, ctx.endpoint()))->close(10000);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("sqlite baseline: open failed");
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &stmt, nullptr);
  const int64_t size = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (size <= 0) die("sqlite baseline: no page size in the SDK's outbox");
  return size;
}

// The baseline: the same rows, a bare prepared INSERT, 1,000 rows per transaction, and the
// outbox's own file settings (page size, WAL, synchronous=FULL) so both pay the same b-tree
// work and the same fsyncs per commit.
double sqlite_rows_per_s(const std::string& path, const std::vector<std::string>& payloads,
                         int64_t page_size) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("sqlite baseline: open failed");
  sql(db, ("PRAGMA page_size=" + std::to_string(page_size) + ";").c_str());
  sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  sql(db, kEntriesDdl);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO entries(seq, object, kind, match_key, payload, wall_ms, mono_ms,"
                     " flags) VALUES(?,?,?,?,?,?,?,?)",
                     -1, &insert, nullptr);
  const int64_t start = now_ns();
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (i % 1000 == 0) sql(db, "BEGIN");
    sqlite3_reset(insert);
    sqlite3_bind_int64(insert, 1, static_cast<int64_t>(i + 1));
    sqlite3_bind_text(insert, 2, kObject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 3, 0);
    sqlite3_bind_text(insert, 4, kMatchKey, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(insert, 5, payloads[i].data(), static_cast<int>(payloads[i].size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 6, start / 1000000);
    sqlite3_bind_int64(insert, 7, start / 1000000);
    sqlite3_bind_int64(insert, 8, 0);
    if (sqlite3_step(insert) != SQLITE_DONE) die("sqlite baseline: insert failed");
    if (i % 1000 == 999 || i + 1 == payloads.size()) sql(db, "COMMIT");
  }
  const int64_t end = now_ns();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return static_cast<double>(payloads.size()) * 1e9 / static_cast<double>(end - start);
}

// Accepts every record (persist() and again when the ingress queue is full) and waits until all are
// durable: records per second from the first accept to persist() returning.
double sdk_durable_per_s(Context& ctx, const std::vector<std::string>& records) {
  auto client = open_client(bench_config(ctx.fresh_path("durable"), ctx.endpoint()));
  client->set_online(false);
  client->persist(10000);
  const int64_t start = now_ns();
  for (const auto& r : records) upsert_as_app(*client, r);
  Status s = client->persist(120000);
  const int64_t end = now_ns();
  if (!s.is_ok()) die("persist failed: " + s.to_string());
  client->close(10000);
  return static_cast<double>(records.size()) * 1e9 / static_cast<double>(end - start);
}

// value and baseline: medians over the runs. ratio: the median of the per-run ratios, each SDK
// run against the baseline measured just before it, so that a slow or fast spell of the shared
// machine affects both sides of a ratio rather than one side of the medians.
Figure ratio_figure(const std::string& name, const std::vector<double>& sdk,
                    const std::string& unit, const std::vector<double>& base, double min_ratio,
                    const std::string& note) {
  std::vector<double> ratios;
  for (size_t i = 0; i < sdk.size() && i < base.size(); ++i) {
    ratios.push_back(base[i] > 0 ? sdk[i] / base[i] : 0);
  }
  Figure f;
  f.name = name;
  f.value = median(sdk);
  f.unit = unit;
  f.baseline = median(base);
  f.ratio = median(ratios);
  f.target = "ratio >= " + nlohmann::json(min_ratio).dump();
  f.pass = *f.ratio >= min_ratio;
  f.note = note;
  return f;
}

// Counts what the SDK puts on the wire, then hands the request to the real transport.
class CountingHttp final : public platform::HttpClient {
 public:
  explicit CountingHttp(std::shared_ptr<platform::HttpClient> inner) : inner_(std::move(inner)) {}
  void send(platform::HttpRequest request, platform::HttpCompletion completion) override {
    ++requests_;
    bytes_ += request.body.size();
    inner_->send(std::move(request), std::move(completion));
  }
  void cancel_all() override { inner_->cancel_all(); }
  uint64_t requests() const { return requests_.load(); }
  uint64_t bytes() const { return bytes_.load(); }

 private:
  std::shared_ptr<platform::HttpClient> inner_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bytes_{0};
};

// A client whose outbox holds `records` (accepted while offline, durable), its own anonymous
// profile already delivered; the emulator is reset just before it returns.
std::unique_ptr<Client> queued_client(Context& ctx, const std::vector<std::string>& records,
                                      std::shared_ptr<platform::HttpClient> http) {
  Config config = bench_config(ctx.fresh_path("drain"), ctx.endpoint());
  config.http = std::move(http);
  auto client = open_client(std::move(config));
  if (!client->flush(30000).is_ok()) die("first flush failed");
  client->set_online(false);
  for (const auto& r : records) upsert_as_app(*client, r);
  if (!client->persist(120000).is_ok()) die("persist failed");
  reset_emulator(ctx);
  return client;
}

// Delivers everything queued; returns seconds.
double drain_all(Client& client) {
  const int64_t start = now_ns();
  client.set_online(true);
  Status s = client.flush(600000);
  const int64_t end = now_ns();
  if (!s.is_ok()) die("flush failed: " + s.to_string());
  return static_cast<double>(end - start) / 1e9;
}

double http_baseline_per_s(Context& ctx, const std::vector<std::string>& bodies, size_t records,
                           uint64_t run) {
  reset_emulator(ctx);
  HttpProbe probe;
  const std::string url = ctx.endpoint() + "/records/" + kObject + "/upsert-batch";
  const int64_t start = now_ns();
  for (size_t i = 0; i < bodies.size(); ++i) {
    char key[40];
    std::snprintf(key, sizeof key, "%08llx-0000-4000-8000-%012llx",
                  static_cast<unsigned long long>(run), static_cast<unsigned long long>(i));
    std::string response;
    const long status = probe.post(url, bodies[i], key, &response);
    if (status != 200) {
      die("http baseline: POST answered " + std::to_string(status) + ": " +
          response.substr(0, 300));
    }
  }
  const int64_t end = now_ns();
  return static_cast<double>(records) * 1e9 / static_cast<double>(end - start);
}

}  // namespace

std::vector<Figure> durable_throughput(Context& ctx) {
  const size_t count = ctx.pick(200000, 50000);
  const int64_t page_size = outbox_page_size(ctx);
  std::vector<double> sdk, base;
  for (int r = 0; r < ctx.runs(); ++r) {
    std::vector<std::string> records, payloads;
    for (size_t i = 0; i < count; ++i) records.push_back(make_record(i, static_cast<uint64_t>(r)));
    for (const auto& rec : records) payloads.push_back(stored_form(rec));
    base.push_back(sqlite_rows_per_s(ctx.fresh_path("sqlite-baseline"), payloads, page_size));
    sdk.push_back(sdk_durable_per_s(ctx, records));
  }
  Figure b;
  b.name = "sqlite_baseline";
  b.value = median(base);
  b.unit = "rows/s";
  b.target = "report";
  b.note = "bare prepared INSERT, 1,000 rows/transaction, WAL + synchronous=FULL, the outbox's " +
           std::to_string(page_size) + " B pages";
  return {b, ratio_figure("durable_throughput", sdk, "records/s", base, 0.5,
                          std::to_string(count) + " records accept -> durable, median of " +
                              std::to_string(ctx.runs()))};
}

std::vector<Figure> drain_throughput(Context& ctx) {
  const size_t count = ctx.pick(100000, 20000);
  const size_t batch = 500;
  std::vector<double> sdk, base, per_1000;
  for (int r = 0; r < ctx.runs(); ++r) {
    std::vector<std::string> records, stored, bodies;
    for (size_t i = 0; i < count; ++i) {
      records.push_back(make_record(i, static_cast<uint64_t>(r)));
      stored.push_back(stored_form(records.back()));
    }
    for (size_t i = 0; i < count; i += batch) {
      bodies.push_back(batch_body(std::vector<std::string>(
          stored.begin() + static_cast<std::ptrdiff_t>(i),
          stored.begin() + static_cast<std::ptrdiff_t>(std::min(count, i + batch)))));
    }
    base.push_back(http_baseline_per_s(ctx, bodies, count, static_cast<uint64_t>(r)));
    auto client = queued_client(ctx, records, nullptr);
    const double seconds = drain_all(*client);
    sdk.push_back(static_cast<double>(count) / seconds);
    per_1000.push_back(static_cast<double>(emulator_requests(ctx)) * 1000.0 /
                       static_cast<double>(count));
    client->close(10000);
  }
  Figure b;
  b.name = "http_baseline";
  b.value = median(base);
  b.unit = "records/s";
  b.target = "report";
  b.note = "bare libcurl keep-alive POST loop of the same 500-record bodies";
  Figure req;
  req.name = "drain_requests_per_1000";
  req.value = median(per_1000);
  req.unit = "requests";
  req.target = "<= 2.1";
  req.pass = req.value <= 2.1;
  req.note = "HTTP requests the emulator saw per 1,000 records delivered";
  return {b,
          ratio_figure("drain_throughput", sdk, "records/s", base, 0.7,
                       std::to_string(count) + " queued records, batch 500, median of " +
                           std::to_string(ctx.runs())),
          req};
}

std::vector<Figure> coalescing(Context& ctx) {
  const size_t writes = 10000, profiles = 100, batch = 500;
  std::vector<std::string> records;
  for (size_t i = 0; i < writes; ++i) {
    nlohmann::json r = {{"email", "p" + std::to_string(i % profiles) + "@example.com"},
                        {"order_count", i},
                        {"tier", "tier-" + std::to_string(i % 7)},
                        {"lifetime_value", static_cast<double>(i) / 4}};
    records.push_back(r.dump());
  }
  // Without coalescing: every write sent as stored, 500 per request.
  uint64_t plain_bytes = 0, plain_requests = 0;
  for (size_t i = 0; i < writes; i += batch) {
    std::vector<std::string> part;
    for (size_t j = i; j < std::min(writes, i + batch); ++j)
      part.push_back(stored_form(records[j]));
    plain_bytes += batch_body(part).size();
    ++plain_requests;
  }
  auto counter = std::make_shared<CountingHttp>(
      platform::make_default_http_client(platform::HttpClientOptions()));
  auto client = queued_client(ctx, records, counter);
  const uint64_t requests_before = counter->requests(), bytes_before = counter->bytes();
  drain_all(*client);
  const double requests = static_cast<double>(counter->requests() - requests_before);
  const double bytes = static_cast<double>(counter->bytes() - bytes_before);
  client->close(10000);

  Figure rq;
  rq.name = "coalescing_requests";
  rq.value = requests;
  rq.unit = "requests";
  rq.baseline = static_cast<double>(plain_requests);
  rq.ratio = requests / static_cast<double>(plain_requests);
  rq.target = "ratio <= 1";
  rq.pass = *rq.ratio <= 1.0;
  rq.note = "10,000 writes over 100 profiles; baseline = the same writes uncoalesced";
  Figure by;
  by.name = "coalescing_bytes";
  by.value = bytes;
  by.unit = "bytes";
  by.baseline = static_cast<double>(plain_bytes);
  by.ratio = bytes / static_cast<double>(plain_bytes);
  by.target = "ratio < 1";
  by.pass = *by.ratio < 1.0;
  by.note = "request body bytes on the wire, coalesced vs uncoalesced";
  return {rq, by};
}

}  // namespace bench
}  // namespace experiture
