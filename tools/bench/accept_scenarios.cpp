// accept_latency and accept_contended: caller-side cost of Client::upsert.
// The client is offline (set_online(false)) so that only the store thread's group commits run
// beside the callers: the figure is the write path, not the drain's CPU share.
#include <algorithm>
#include <atomic>
#include <thread>

#include "scenarios.hpp"

namespace experiture {
namespace bench {
namespace {

struct AcceptRun {
  std::vector<uint64_t> latencies_ns;  // sorted
  uint64_t queue_full = 0;
};

AcceptRun run_accepts(Context& ctx, size_t total, int threads, uint64_t run) {
  std::vector<std::string> records;
  records.reserve(total);
  for (size_t i = 0; i < total; ++i) records.push_back(make_record(i, run));
  auto client = open_client(bench_config(ctx.fresh_path("accept"), ctx.endpoint()));
  client->set_online(false);
  client->persist(10000);

  std::vector<std::vector<uint64_t>> per_thread(static_cast<size_t>(threads));
  std::atomic<uint64_t> queue_full{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  const size_t share = total / static_cast<size_t>(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& lat = per_thread[static_cast<size_t>(t)];
      lat.reserve(share);
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      uint64_t full = 0;
      for (size_t i = static_cast<size_t>(t) * share; i < (static_cast<size_t>(t) + 1) * share;
           ++i) {
        // Each call is timed; on QUEUE_FULL the writer does what an app is told to do
        // (persist(), untimed, then the same call again), so every record is accepted.
        for (;;) {
          const int64_t t0 = now_ns();
          Status s = client->upsert(kObject, std::string_view(records[i]), kMatchKey);
          const int64_t t1 = now_ns();
          lat.push_back(static_cast<uint64_t>(t1 - t0));
          if (s.is_ok()) break;
          if (s.code() != Code::kQueueFull) die("upsert failed: " + s.to_string());
          ++full;
          if (!client->persist(120000).is_ok()) die("persist after QUEUE_FULL failed");
        }
      }
      queue_full += full;
    });
  }
  for (auto& w : workers) w.join();
  client->close(60000);
  AcceptRun out;
  for (auto& v : per_thread) out.latencies_ns.insert(out.latencies_ns.end(), v.begin(), v.end());
  std::sort(out.latencies_ns.begin(), out.latencies_ns.end());
  out.queue_full = queue_full.load();
  return out;
}

Figure ns_figure(const std::string& name, double value, double limit, const std::string& note) {
  Figure f;
  f.name = name;
  f.value = value;
  f.unit = "ns";
  if (limit > 0) {
    f.target = "<= " + std::to_string(static_cast<int64_t>(limit));
    f.pass = value <= limit;
  } else {
    f.target = "report";
  }
  f.note = note;
  return f;
}

}  // namespace

std::vector<Figure> accept_latency(Context& ctx) {
  const size_t total = ctx.pick(200000, 100000);
  std::vector<double> p50, p99, p999, full;
  for (int r = 0; r < ctx.runs(); ++r) {
    AcceptRun run = run_accepts(ctx, total, 1, static_cast<uint64_t>(r));
    p50.push_back(static_cast<double>(percentile(run.latencies_ns, 0.50)));
    p99.push_back(static_cast<double>(percentile(run.latencies_ns, 0.99)));
    p999.push_back(static_cast<double>(percentile(run.latencies_ns, 0.999)));
    full.push_back(static_cast<double>(run.queue_full));
  }
  const std::string note = std::to_string(total) + " upserts, 1 thread, median of " +
                           std::to_string(ctx.runs()) + " runs";
  std::vector<Figure> out;
  out.push_back(ns_figure("accept_latency_p50", median(p50), 0, note));
  out.push_back(ns_figure("accept_latency_p99", median(p99), 10000, note));
  out.push_back(ns_figure("accept_latency_p999", median(p999), 100000, note));
  Figure f;
  f.name = "accept_latency_queue_full";
  f.value = median(full);
  f.unit = "calls";
  f.target = "report";
  f.note =
      "calls that met a full ingress queue (default ingress_capacity and ingress_max_bytes); "
      "each was made again after persist()";
  out.push_back(f);
  return out;
}

std::vector<Figure> accept_contended(Context& ctx) {
  const size_t total = ctx.pick(200000, 100000);
  std::vector<double> p99, p999, full;
  for (int r = 0; r < ctx.runs(); ++r) {
    AcceptRun run = run_accepts(ctx, total, 4, static_cast<uint64_t>(r));
    p99.push_back(static_cast<double>(percentile(run.latencies_ns, 0.99)));
    p999.push_back(static_cast<double>(percentile(run.latencies_ns, 0.999)));
    full.push_back(static_cast<double>(run.queue_full));
  }
  const std::string note = std::to_string(total) + " upserts over 4 threads; queue full: " +
                           std::to_string(static_cast<int64_t>(median(full))) + " calls";
  std::vector<Figure> out;
  out.push_back(ns_figure("accept_contended_p99", median(p99), 50000, note));
  out.push_back(ns_figure("accept_contended_p999", median(p999), 0, note));
  return out;
}

}  // namespace bench
}  // namespace experiture
