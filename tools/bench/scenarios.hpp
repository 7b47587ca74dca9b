// The benchmark scenarios of issue 6. Each returns its figures; the caller prints them.
#pragma once

#include <vector>

#include "bench_support.hpp"

namespace experiture {
namespace bench {

std::vector<Figure> accept_latency(Context& ctx);
std::vector<Figure> accept_contended(Context& ctx);
std::vector<Figure> durable_throughput(Context& ctx);
std::vector<Figure> drain_throughput(Context& ctx);
std::vector<Figure> coalescing(Context& ctx);
std::vector<Figure> startup_1m(Context& ctx);
std::vector<Figure> offline_week(Context& ctx);
std::vector<Figure> idle_wakeups(Context& ctx);
std::vector<Figure> offline_attempts(Context& ctx);
std::vector<Figure> binary_size(Context& ctx);
std::vector<Figure> emulator_console(Context& ctx);
// Issue 15 (flash_scenarios.cpp): variant sizes, peak RSS, bytes written per event and per drain.
std::vector<Figure> binary_sizes(Context& ctx);
std::vector<Figure> rss_100k(Context& ctx);
std::vector<Figure> disk_writes(Context& ctx);
std::vector<Figure> drain_writes(Context& ctx);

// The offline_week drain, run in a child process so that its peak RSS is the SDK's alone:
// `experiture-bench --child-drain PATH ENDPOINT` prints "rss_kib N delivered N seconds S
// bytes_after_drain N".
int child_drain(const std::string& path, const std::string& endpoint);

}  // namespace bench
}  // namespace experiture
