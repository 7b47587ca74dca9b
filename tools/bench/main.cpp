// experiture-bench [--quick] [--only NAME] [--json]
// Measures the SDK against baselines taken in the same run; see tools/bench/README.md.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench_report.hpp"
#include "emulator_process.hpp"
#include "scenarios.hpp"

namespace {

using experiture::bench::Context;
using experiture::bench::Figure;

const std::vector<std::pair<const char*, std::vector<Figure> (*)(Context&)>> kScenarios = {
    {"accept_latency", experiture::bench::accept_latency},
    {"accept_contended", experiture::bench::accept_contended},
    {"durable_throughput", experiture::bench::durable_throughput},
    {"drain_throughput", experiture::bench::drain_throughput},
    {"coalescing", experiture::bench::coalescing},
    {"startup_1m", experiture::bench::startup_1m},
    {"offline_week", experiture::bench::offline_week},
    {"idle_wakeups", experiture::bench::idle_wakeups},
    {"offline_attempts", experiture::bench::offline_attempts},
    {"binary_size", experiture::bench::binary_size},
    {"binary_sizes", experiture::bench::binary_sizes},
    {"rss_100k", experiture::bench::rss_100k},
    {"disk_writes", experiture::bench::disk_writes},
    {"drain_writes", experiture::bench::drain_writes},
    {"emulator_console", experiture::bench::emulator_console},
};

int usage() {
  std::fprintf(stderr, "usage: experiture-bench [--quick] [--only NAME] [--json]\nscenarios:");
  for (const auto& s : kScenarios) std::fprintf(stderr, " %s", s.first);
  std::fprintf(stderr, "\n");
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--child-drain") == 0) {
    return experiture::bench::child_drain(argv[2], argv[3]);
  }
  Context ctx;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      ctx.options.quick = true;
    } else if (arg == "--json") {
      ctx.options.json = true;
    } else if (arg == "--only" && i + 1 < argc) {
      ctx.options.only = argv[++i];
    } else {
      return usage();
    }
  }
  bool known = ctx.options.only.empty();
  for (const auto& s : kScenarios) known = known || ctx.options.only == s.first;
  if (!known) return usage();

  const char* tmp = std::getenv("TMPDIR");
  std::string dir_template =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/experiture-bench-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) experiture::bench::die("mkdtemp failed");
  ctx.work_dir = dir_template;
  const char* emulator_env = std::getenv("EXPERITURE_EMULATOR");
  auto emulator = std::make_unique<experiture::bench::EmulatorProcess>(
      emulator_env != nullptr ? emulator_env : EXPERITURE_BENCH_EMULATOR);
  ctx.emulator = emulator.get();

  if (!ctx.options.json) {
    std::printf("%-30s %14s %-12s %12s %8s  %-14s %s\n", "figure", "value", "unit", "baseline",
                "ratio", "target", "");
  }
  std::vector<Figure> all;
  for (const auto& s : kScenarios) {
    if (!ctx.options.only.empty() && ctx.options.only != s.first) continue;
    const int64_t start = experiture::bench::now_ns();
    std::vector<Figure> figures = s.second(ctx);
    if (!ctx.options.json) {
      std::fprintf(stderr, "  (%s: %.1f s)\n", s.first,
                   static_cast<double>(experiture::bench::now_ns() - start) / 1e9);
    }
    experiture::bench::print_figures(figures, ctx.options.json);
    all.insert(all.end(), figures.begin(), figures.end());
  }
  experiture::bench::print_summary(all, ctx.options.json);
  emulator.reset();
  std::error_code ec;
  if (std::getenv("EXPERITURE_BENCH_KEEP") == nullptr)
    std::filesystem::remove_all(ctx.work_dir, ec);
  for (const auto& f : all) {
    if (!f.pass) return 1;
  }
  return 0;
}
