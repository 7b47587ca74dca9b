// startup_1m, offline_week, idle_wakeups, offline_attempts and binary_size: what the SDK costs
// the app while it is not busy, and how big it is.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "counting_listener.hpp"
#include "outbox_fixture.hpp"
#include "scenarios.hpp"

extern char** environ;

namespace experiture {
namespace bench {
namespace {

// A week offline holds more than the default 64 MiB cap: raised so that nothing is evicted.
constexpr int64_t kFixtureCapBytes = 1LL << 30;

void ensure_fixture(Context& ctx) {
  if (!ctx.fixture_path.empty()) return;
  ctx.fixture_records = ctx.pick(1000000, 50000);
  ctx.fixture_path = ctx.fresh_path("fixture");
  const double seconds = write_outbox_fixture(ctx.fixture_path, ctx.fixture_records, 50000);
  if (!ctx.options.json) {
    std::fprintf(stderr, "  (fixture: %zu queued records written in %.1f s)\n", ctx.fixture_records,
                 seconds);
  }
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) die("cannot find /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

// Runs argv, returns its stdout.
std::string run_child(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) die("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    die("posix_spawn failed");
  }
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string out;
  char buf[1024];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child failed: " + out);
  return out;
}

std::string refusing_endpoint(const CountingListener& listener) {
  return "http://127.0.0.1:" + std::to_string(listener.port()) + "/public/v1";
}

// The most attempts the backoff schedule allows within `window_ms` even when every jittered
// delay comes out at a sixteenth of its ceiling (full jitter is uniform in [0, ceiling]).
int attempts_bound(const RetryPolicy& policy, double window_ms) {
  int attempts = 1;
  double t = 0;
  for (int k = 0; k < 64; ++k) {
    const double ceiling =
        std::min(static_cast<double>(policy.cap_ms),
                 static_cast<double>(policy.base_ms) * std::pow(policy.factor, k));
    t += ceiling / 16;
    if (t > window_ms) break;
    ++attempts;
  }
  return attempts;
}

}  // namespace

std::vector<Figure> startup_1m(Context& ctx) {
  ensure_fixture(ctx);
  CountingListener listener;
  std::vector<double> ms;
  for (int r = 0; r < ctx.runs(); ++r) {
    const int64_t start = now_ns();
    Config config = bench_config(ctx.fixture_path, refusing_endpoint(listener));
    config.max_outbox_bytes = kFixtureCapBytes;
    auto client = open_client(std::move(config));
    Status s = client->upsert(kObject, std::string_view(make_record(r, 999)), kMatchKey);
    const int64_t end = now_ns();
    if (!s.is_ok()) die("upsert after open failed: " + s.to_string());
    if (client->stats().queued_records < ctx.fixture_records) die("fixture not seen as queued");
    client->close(10000);
    ms.push_back(static_cast<double>(end - start) / 1e6);
  }
  Figure f;
  f.name = "startup_1m";
  f.value = median(ms);
  f.unit = "ms";
  f.target = "<= 50";
  f.pass = f.value <= 50;
  f.note = "Client::open -> first upsert accepted, outbox with " +
           std::to_string(ctx.fixture_records) + " queued records (page cache warm)";
  return {f};
}

std::vector<Figure> offline_week(Context& ctx) {
  ensure_fixture(ctx);
  const double disk =
      static_cast<double>(file_size(ctx.fixture_path) + file_size(ctx.fixture_path + "-wal"));
  double json_bytes = 0;
  for (size_t i = 0; i < 1000; ++i)
    json_bytes += static_cast<double>(stored_form(make_record(i)).size());
  json_bytes /= 1000;
  const double per_record = disk / static_cast<double>(ctx.fixture_records);

  reset_emulator(ctx);
  std::istringstream out(
      run_child({self_exe(), "--child-drain", ctx.fixture_path, ctx.endpoint()}));
  std::map<std::string, double> values;
  std::string key;
  double value;
  while (out >> key >> value) values[key] = value;
  const double delivered = values["delivered"];
  if (delivered < static_cast<double>(ctx.fixture_records)) {
    die("offline_week: not all delivered: " + std::to_string(delivered));
  }

  Figure rss;
  rss.name = "offline_week_peak_rss";
  rss.value = values["rss_kib"] / 1024.0;
  rss.unit = "MiB";
  rss.target = "<= 32";
  rss.pass = rss.value <= 32;
  char note[200];
  std::snprintf(note, sizeof note,
                "peak RSS of a process draining %zu queued writes (%.0f records/s, %.0f s)",
                ctx.fixture_records, delivered / values["seconds"], values["seconds"]);
  rss.note = note;
  Figure disk_f;
  disk_f.name = "offline_week_bytes_per_record";
  disk_f.value = per_record;
  disk_f.unit = "bytes";
  disk_f.baseline = json_bytes;
  disk_f.ratio = per_record / json_bytes;
  disk_f.target = "ratio <= 2";
  disk_f.pass = *disk_f.ratio <= 2.0;
  disk_f.note = "outbox file (+wal) size per queued record vs the record's JSON size";
  Figure after;
  after.name = "outbox_bytes_after_drain";
  after.value = values["bytes_after_drain"];
  after.unit = "bytes";
  after.target = "<= 1048576";
  after.pass = after.value <= 1048576;
  after.note = "outbox file + WAL once the " + std::to_string(ctx.fixture_records) +
               " queued records were delivered (client still open; was " +
               std::to_string(static_cast<uint64_t>(disk)) + " B queued)";
  return {rss, disk_f, after};
}

int child_drain(const std::string& path, const std::string& endpoint) {
  const int64_t start = now_ns();
  Config config = bench_config(path, endpoint);
  config.max_outbox_bytes = kFixtureCapBytes;
  auto client = open_client(std::move(config));
  Status s = client->flush(1800000);
  const int64_t end = now_ns();
  if (!s.is_ok()) {
    std::fprintf(stderr, "flush failed: %s\n", s.to_string().c_str());
    return 1;
  }
  const uint64_t delivered = client->stats().delivered;
  // Drained and still open: what the outbox keeps on disk (file + WAL) once it is empty.
  const uint64_t after_drain = file_size(path) + file_size(path + "-wal");
  client->close(10000);
  std::printf("rss_kib %llu delivered %llu seconds %.3f bytes_after_drain %llu\n",
              static_cast<unsigned long long>(peak_rss_kib()),
              static_cast<unsigned long long>(delivered), static_cast<double>(end - start) / 1e9,
              static_cast<unsigned long long>(after_drain));
  return 0;
}

std::vector<Figure> idle_wakeups(Context& ctx) {
  const int64_t idle_ms = ctx.options.quick ? 10000 : 60000;
  const std::vector<int> before = thread_ids();
  auto client = open_client(bench_config(ctx.fresh_path("idle"), ctx.endpoint()));
  if (!client->flush(30000).is_ok()) die("idle: flush failed");
  sleep_ms(200);
  std::vector<int> sdk;
  for (int tid : thread_ids()) {
    if (!std::binary_search(before.begin(), before.end(), tid)) sdk.push_back(tid);
  }
  const auto start = thread_switches(sdk);
  sleep_ms(idle_ms);
  const auto end = thread_switches(sdk);
  client->close(10000);
  uint64_t total = 0;
  std::string detail;
  for (int tid : sdk) {
    const uint64_t n = end.at(tid).voluntary + end.at(tid).involuntary - start.at(tid).voluntary -
                       start.at(tid).involuntary;
    total += n;
    // What the thread blocks in tells which it is: futex = the store thread's condition
    // variable, poll = the transport's event loop.
    std::ifstream syscall("/proc/self/task/" + std::to_string(tid) + "/syscall");
    int number = -1;
    syscall >> number;
    const char* in = number == 202 ? "futex" : number == 7 || number == 271 ? "poll" : "?";
    detail += (detail.empty() ? "" : ", ") + std::string("thread ") + std::to_string(tid) +
              " (in " + in + "): " + std::to_string(n);
  }
  Figure f;
  f.name = "idle_wakeups";
  f.value = static_cast<double>(total);
  f.unit = "wakeups";
  f.target = "== 0";
  f.pass = total == 0;
  f.note = std::to_string(sdk.size()) + " SDK threads idle " + std::to_string(idle_ms / 1000) +
           " s, empty outbox (" + detail + ")";
  return {f};
}

std::vector<Figure> offline_attempts(Context& ctx) {
  const int64_t window_ms = ctx.options.quick ? 5000 : 30000;
  const size_t writes = 10000;
  CountingListener listener;
  Config config = bench_config(ctx.fresh_path("offline"), refusing_endpoint(listener));
  const int bound = attempts_bound(config.retry, static_cast<double>(window_ms));
  auto client = open_client(config);
  const int64_t start = now_ns();
  const int64_t tick_ms = 10;
  const size_t ticks = static_cast<size_t>(window_ms / tick_ms);
  size_t written = 0;
  for (size_t t = 0; t < ticks; ++t) {
    const size_t due = writes * (t + 1) / ticks;
    for (; written < due; ++written) {
      Status s = client->upsert(kObject, std::string_view(make_record(written, 7)), kMatchKey);
      if (!s.is_ok()) die("offline: upsert failed: " + s.to_string());
    }
    const int64_t next = start + static_cast<int64_t>(t + 1) * tick_ms * 1000000;
    const int64_t wait = next - now_ns();
    if (wait > 0) sleep_ms(wait / 1000000);
  }
  const uint64_t attempts = listener.accepted();
  client->close(10000);
  Figure f;
  f.name = "offline_attempts";
  f.value = static_cast<double>(attempts);
  f.unit = "connections";
  f.target = "<= " + std::to_string(bound);
  f.pass = static_cast<int>(attempts) <= bound;
  f.note = std::to_string(writes) + " writes over " + std::to_string(window_ms / 1000) +
           " s to an endpoint that closes every connection; bound = backoff schedule at 1/16 "
           "of each ceiling";
  return {f};
}

std::vector<Figure> binary_size(Context& ctx) {
  const char* env = std::getenv("EXPERITURE_BENCH_LIB");
  const std::string lib = env != nullptr ? env : EXPERITURE_BENCH_SHARED_LIB;
  const std::string stripped = ctx.work_dir + "/libexperiture.stripped.so";
  capture("strip --strip-all -o '" + stripped + "' '" + lib + "' 2>&1");
  const uint64_t size = file_size(stripped);
  if (size == 0) die("binary_size: cannot strip " + lib);
  // nm --size-sort on the unstripped copy: the symbols that dominate, grouped by namespace.
  std::istringstream nm(capture("nm --size-sort -S -C --radix=d '" + lib + "' 2>/dev/null"));
  std::string line;
  std::map<std::string, uint64_t> groups;
  std::vector<std::pair<uint64_t, std::string>> top;
  while (std::getline(nm, line)) {
    std::istringstream in(line);
    std::string addr, sz, type;
    if (!(in >> addr >> sz >> type)) continue;
    std::string name;
    std::getline(in, name);
    name.erase(0, name.find_first_not_of(' '));
    const uint64_t bytes = std::stoull(sz);
    std::string group = "other";
    for (const char* g : {"experiture::", "nlohmann::", "std::", "__gnu_cxx::", "sqlite3",
                          "mbedtls", "curl", "i18n::phonenumbers"}) {
      if (name.find(g) != std::string::npos) {
        group = g;
        break;
      }
    }
    groups[group] += bytes;
    top.emplace_back(bytes, name);
  }
  std::sort(top.rbegin(), top.rend());
  std::vector<std::pair<uint64_t, std::string>> by_group;
  for (const auto& g : groups) by_group.emplace_back(g.second, g.first);
  std::sort(by_group.rbegin(), by_group.rend());
  std::string note =
      "stripped " + lib.substr(lib.find_last_of('/') + 1) + "; symbol bytes by part:";
  for (const auto& g : by_group)
    note += " " + g.second + " " + std::to_string(g.first / 1024) + "K";
  note += "; largest:";
  for (size_t i = 0; i < std::min<size_t>(5, top.size()); ++i) {
    note += " " + top[i].second.substr(0, 60) + " (" + std::to_string(top[i].first) + ")";
    if (i + 1 < std::min<size_t>(5, top.size())) note += ";";
  }
  Figure f;
  f.name = "binary_size";
  f.value = static_cast<double>(size);
  f.unit = "bytes";
  f.target = "<= 1048576";
  f.pass = size <= 1048576;
  f.note = note;
  return {f};
}

}  // namespace bench
}  // namespace experiture
