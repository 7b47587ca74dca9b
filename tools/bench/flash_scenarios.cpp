// Issue 15's footprint figures: library and app sizes of the build variants, peak RSS of a
// 100,000-write process, and what the SDK writes to flash (counted in a VFS shim).
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "counting_listener.hpp"
#include "counting_vfs.hpp"
#include "scenarios.hpp"

namespace experiture {
namespace bench {
namespace {

// "name path" lines of scripts/build-size-variants.sh: built once per run, on first use.
const std::map<std::string, std::string>& variants(Context& ctx) {
  static std::map<std::string, std::string> paths;
  if (!paths.empty()) return paths;
  std::string listing;
  if (const char* dir = std::getenv("EXPERITURE_BENCH_VARIANTS")) {
    listing = capture("cat '" + std::string(dir) + "/variants.txt' 2>/dev/null");
  } else {
    if (!ctx.options.json) std::fprintf(stderr, "  (building the size variants...)\n");
    listing = capture("bash '" EXPERITURE_BENCH_SOURCE_DIR
                      "/scripts/build-size-variants.sh' '" EXPERITURE_BENCH_VARIANTS_DIR "'");
  }
  std::istringstream in(listing);
  std::string name, path;
  while (in >> name >> path) paths[name] = path;
  for (const char* need :
       {"lib_minsizerel", "lib_release", "lib_minsizerel_curl", "minimal_app", "rss_app"}) {
    if (paths.count(need) == 0) {
      die(std::string("size variants: no ") + need +
          " (scripts/build-size-variants.sh failed; see its logs)");
    }
  }
  return paths;
}

uint64_t stripped_size(Context& ctx, const std::string& path) {
  const std::string out = ctx.work_dir + "/stripped.bin";
  capture("strip --strip-all -o '" + out + "' '" + path + "' 2>&1");
  const uint64_t size = file_size(out);
  if (size == 0) die("cannot strip " + path);
  return size;
}

Figure size_figure(const std::string& name, uint64_t bytes, uint64_t target,
                   const std::string& note) {
  Figure f;
  f.name = name;
  f.value = static_cast<double>(bytes);
  f.unit = "bytes";
  f.target = "<= " + std::to_string(target);
  f.pass = bytes <= target;
  f.note = note;
  return f;
}

// Runs rss_app with the library in `lib_dir`; returns its peak RSS in KiB (and in `queue_full`
// the upserts that met a full ingress queue and were made again after persist()).
double rss_app_kib(Context& ctx, const std::string& app, const std::string& lib_dir, size_t count,
                   double* queue_full) {
  reset_emulator(ctx);
  const std::string out =
      capture("LD_LIBRARY_PATH='" + lib_dir + "' '" + app + "' '" + ctx.fresh_path("rss") + "' '" +
              ctx.endpoint() + "' " + std::to_string(count) + " 2>&1");
  std::istringstream in(out);
  std::string key;
  double rss = 0, ok = 0;
  in >> key >> rss >> key >> ok >> key >> *queue_full;
  if (ok != 1) die("rss_app failed: " + out);
  return rss;
}

std::string dir_of(const std::string& path) {
  return path.substr(0, path.find_last_of('/'));
}

// Accepts `count` single-record upserts at `per_second` (0 = unpaced) while offline, waits until
// they are durable; returns the bytes SQLite handed to the file system per event.
double bytes_per_event(Context& ctx, CountingVfs& vfs, size_t count, double per_second,
                       CountingVfs::Counts* detail) {
  Config config = bench_config(ctx.fresh_path("flash"), ctx.endpoint());
  config.sqlite_vfs = CountingVfs::name();
  auto client = open_client(std::move(config));
  client->set_online(false);
  if (!client->persist(10000).is_ok()) die("flash: first persist failed");
  std::vector<std::string> records;
  for (size_t i = 0; i < count; ++i) records.push_back(make_record(i, 15));
  const CountingVfs::Counts before = vfs.counts();
  const int64_t start = now_ns();
  for (size_t i = 0; i < count; ++i) {
    if (per_second > 0) {
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * 1e9 / per_second);
      while (now_ns() < due) {
        const int64_t wait_ns = due - now_ns();
        if (wait_ns > 200000) std::this_thread::sleep_for(std::chrono::nanoseconds(wait_ns));
      }
    }
    upsert_as_app(*client, records[i]);
  }
  if (!client->persist(120000).is_ok()) die("flash: persist failed");
  client->close(10000);  // its checkpoint writes what the WAL held into the file: counted too
  *detail = vfs.counts() - before;
  return static_cast<double>(detail->total()) / static_cast<double>(count);
}

std::string counts_note(const CountingVfs::Counts& c) {
  return "db " + std::to_string(c.db_bytes) + " B, wal " + std::to_string(c.wal_bytes) +
         " B, other " + std::to_string(c.other_bytes) + " B, " + std::to_string(c.syncs) + " syncs";
}

}  // namespace

std::vector<Figure> binary_sizes(Context& ctx) {
  const auto& v = variants(ctx);
  const uint64_t minsize = stripped_size(ctx, v.at("lib_minsizerel"));
  const uint64_t release = stripped_size(ctx, v.at("lib_release"));
  const uint64_t app = stripped_size(ctx, v.at("minimal_app"));
  const uint64_t app_lib = stripped_size(ctx, v.at("lib_minsizerel_curl"));
  return {
      size_figure("binary_size_minsizerel", minsize, 350000,
                  "stripped libexperiture.so, MinSizeRel, bundled deps/curl/phonenumber OFF"),
      size_figure("binary_size_release", release, 650000,
                  "stripped libexperiture.so, Release, curl ON, phonenumber OFF"),
      size_figure("minimal_app_size", app + app_lib, 512656,
                  "stripped C app (open/upsert/flush/close) " + std::to_string(app) +
                      " B + the MinSizeRel library with curl it loads " + std::to_string(app_lib) +
                      " B (with the Release library: " + std::to_string(app + release) + " B)"),
  };
}

std::vector<Figure> rss_100k(Context& ctx) {
  const auto& v = variants(ctx);
  const size_t count = 100000;
  std::vector<double> plain, with_phone;
  double full_plain = 0, full_phone = 0;
  const char* env = std::getenv("EXPERITURE_BENCH_LIB");
  const std::string default_lib = env != nullptr ? env : EXPERITURE_BENCH_SHARED_LIB;
  for (int r = 0; r < (ctx.options.quick ? 1 : 3); ++r) {
    plain.push_back(
        rss_app_kib(ctx, v.at("rss_app"), dir_of(v.at("lib_release")), count, &full_plain));
    with_phone.push_back(
        rss_app_kib(ctx, v.at("rss_app"), dir_of(default_lib), count, &full_phone));
  }
  Figure f;
  f.name = "rss_100k";
  f.value = median(plain) / 1024.0;
  f.unit = "MiB";
  f.target = "<= 14";
  f.pass = f.value <= 14;
  f.note =
      "peak RSS (VmHWM) of a C app accepting 100,000 ~200-byte upserts unpaced (on QUEUE_FULL: "
      "persist(), then the same upsert again) and flushing them to the emulator; Release library "
      "without libphonenumber; QUEUE_FULL answers in the last run: " +
      std::to_string(static_cast<uint64_t>(full_plain));
  Figure p;
  p.name = "rss_100k_phonenumber";
  p.value = median(with_phone) / 1024.0;
  p.unit = "MiB";
  p.target = "report";
  p.note = "the same app with this build's library (" +
           default_lib.substr(default_lib.find_last_of('/') + 1) +
           ", libphonenumber when built with it); QUEUE_FULL answers in the last run: " +
           std::to_string(static_cast<uint64_t>(full_phone));
  return {f, p};
}

std::vector<Figure> disk_writes(Context& ctx) {
  CountingVfs vfs;
  const double seconds = ctx.options.quick ? 3 : 10;
  std::vector<double> paced, full;
  CountingVfs::Counts paced_detail, full_detail;
  for (int r = 0; r < (ctx.options.quick ? 1 : 3); ++r) {
    paced.push_back(
        bytes_per_event(ctx, vfs, static_cast<size_t>(1000 * seconds), 1000, &paced_detail));
    full.push_back(bytes_per_event(ctx, vfs, 10000, 0, &full_detail));
  }
  Figure f;
  f.name = "disk_bytes_per_event";
  f.value = median(paced);
  f.unit = "bytes";
  f.target = "<= 1024";
  f.pass = f.value <= 1024;
  char note[400];
  std::snprintf(note, sizeof note,
                "bytes SQLite wrote (VFS counter) per single-record upsert at 1,000/s for %.0f s, "
                "offline, until persist() and close(); last run: %s",
                seconds, counts_note(paced_detail).c_str());
  f.note = note;
  Figure g;
  g.name = "disk_bytes_per_event_full_speed";
  g.value = median(full);
  g.unit = "bytes";
  g.target = "report";
  g.note = "10,000 upserts unpaced, offline, until persist() and close(); last run: " +
           counts_note(full_detail);
  return {f, g};
}

std::vector<Figure> drain_writes(Context& ctx) {
  CountingVfs vfs;
  const size_t count = ctx.pick(100000, 20000);
  std::vector<double> ratios;
  CountingVfs::Counts detail;
  double payload = 0;
  for (int r = 0; r < (ctx.options.quick ? 1 : 3); ++r) {
    Config config = bench_config(ctx.fresh_path("drain-writes"), ctx.endpoint());
    config.sqlite_vfs = CountingVfs::name();
    auto client = open_client(std::move(config));
    if (!client->flush(30000).is_ok()) die("drain_writes: first flush failed");
    client->set_online(false);
    payload = 0;
    for (size_t i = 0; i < count; ++i) {
      const std::string record = make_record(i, 150 + static_cast<uint64_t>(r));
      payload += static_cast<double>(stored_form(record).size());
      upsert_as_app(*client, record);
    }
    if (!client->persist(120000).is_ok()) die("drain_writes: persist failed");
    reset_emulator(ctx);
    const CountingVfs::Counts before = vfs.counts();
    client->set_online(true);
    if (!client->flush(600000).is_ok()) die("drain_writes: flush failed");
    client->close(10000);
    detail = vfs.counts() - before;
    ratios.push_back(static_cast<double>(detail.total()) / payload);
  }
  Figure f;
  f.name = "drain_write_amplification";
  f.value = median(ratios);
  f.unit = "x";
  f.target = "<= 3";
  f.pass = f.value <= 3;
  char note[400];
  std::snprintf(note, sizeof note,
                "bytes written while draining %zu queued records / their stored payload bytes "
                "(%.0f B); last run: %s",
                count, payload, counts_note(detail).c_str());
  f.note = note;
  return {f};
}

}  // namespace bench
}  // namespace experiture
