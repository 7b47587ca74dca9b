#include "bench_report.hpp"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace experiture {
namespace bench {
namespace {

nlohmann::json number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return static_cast<int64_t>(v);
  return std::round(v * 1000) / 1000;
}

std::string text(double v) {
  char buf[64];
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

}  // namespace

void print_figures(const std::vector<Figure>& figures, bool json) {
  for (const auto& f : figures) {
    if (json) {
      nlohmann::json j;
      j["name"] = f.name;
      j["value"] = number(f.value);
      j["unit"] = f.unit;
      j["baseline"] = f.baseline ? number(*f.baseline) : nullptr;
      j["ratio"] = f.ratio ? number(*f.ratio) : nullptr;
      j["target"] = f.target;
      j["pass"] = f.pass;
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%-30s %14s %-12s %12s %8s  %-14s %s\n", f.name.c_str(), text(f.value).c_str(),
                  f.unit.c_str(), f.baseline ? text(*f.baseline).c_str() : "-",
                  f.ratio ? text(*f.ratio).c_str() : "-", f.target.c_str(),
                  f.pass ? "pass" : "FAIL");
      if (!f.note.empty()) std::printf("    %s\n", f.note.c_str());
    }
    std::fflush(stdout);
  }
}

void print_summary(const std::vector<Figure>& all, bool json) {
  if (json) return;
  size_t failed = 0;
  for (const auto& f : all) failed += f.pass ? 0 : 1;
  std::printf("\n%zu figures, %zu missed their target\n", all.size(), failed);
}

}  // namespace bench
}  // namespace experiture
