// emulator_console: the emulator's dev console (/_emulator/) at 50,000 profiles. The page load is
// what the browser fetches on opening it (the page, the summary, the first page of profiles, the
// request log) plus one identifier search (a scan of every row); the API figure is the slowest
// write answered while another connection loads that page over and over.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "emulator_process.hpp"
#include "scenarios.hpp"

namespace experiture {
namespace bench {
namespace {

constexpr size_t kProfiles = 50000;

void fill_profiles(const Context& ctx, size_t count) {
  HttpProbe probe;
  const std::string url = ctx.emulator->base_url() + "/public/v1/records/profiles/upsert-batch";
  for (size_t sent = 0; sent < count;) {
    nlohmann::json records = nlohmann::json::array();
    for (size_t i = 0; i < 10000 && sent < count; ++i, ++sent) {
      records.push_back({{"email", "console" + std::to_string(sent) + "@example.com"},
                         {"customer_id", "C" + std::to_string(sent)},
                         {"first_name", "Console"},
                         {"tier", "gold"}});
    }
    nlohmann::json body = {{"records", records}, {"matchKey", "email"}};
    if (probe.post(url, body.dump(), "") != 200) die("emulator_console: filling profiles failed");
  }
}

// One page load: returns its wall time in ms, dies on a failed request.
double load_page(HttpProbe& probe, const std::string& base) {
  const char* const kPaths[] = {"/_emulator/", "/_emulator/api/summary",
                                "/_emulator/api/profiles?object=profiles&offset=0&limit=50",
                                "/_emulator/api/log?after=0&limit=200",
                                "/_emulator/api/events?offset=0&limit=50"};
  const int64_t start = now_ns();
  for (const char* path : kPaths) {
    std::string body;
    if (probe.get(base + path, &body) != 200) die(std::string("emulator_console: GET ") + path);
  }
  return static_cast<double>(now_ns() - start) / 1e6;
}

double search(HttpProbe& probe, const std::string& base) {
  std::string body;
  const int64_t start = now_ns();
  if (probe.get(base + "/_emulator/api/profiles?object=profiles&limit=50&q=console4999", &body) !=
      200) {
    die("emulator_console: search failed");
  }
  return static_cast<double>(now_ns() - start) / 1e6;
}

}  // namespace

std::vector<Figure> emulator_console(Context& ctx) {
  reset_emulator(ctx);
  fill_profiles(ctx, kProfiles);
  const std::string base = ctx.emulator->base_url();
  std::vector<double> page_ms, search_ms, api_worst_ms;
  for (int r = 0; r < ctx.runs(); ++r) {
    HttpProbe page_probe;
    page_ms.push_back(load_page(page_probe, base));
    search_ms.push_back(search(page_probe, base));

    std::atomic<bool> done{false};
    std::atomic<int> loads{0};
    std::thread loader([&] {
      HttpProbe probe;
      while (!done) {
        load_page(probe, base);
        search(probe, base);
        loads++;
      }
    });
    while (loads.load() == 0) std::this_thread::yield();
    HttpProbe api;
    const std::string url = base + "/public/v1/records/profiles/upsert";
    double worst = 0;
    for (int i = 0; i < 40; ++i) {
      nlohmann::json body = {
          {"record", {{"email", "during" + std::to_string(i) + "@example.com"}, {"tier", "x"}}},
          {"matchKey", "email"}};
      const int64_t start = now_ns();
      if (api.post(url, body.dump(), "") != 200) die("emulator_console: API write failed");
      worst = std::max(worst, static_cast<double>(now_ns() - start) / 1e6);
    }
    done = true;
    loader.join();
    api_worst_ms.push_back(worst);
  }
  reset_emulator(ctx);

  std::vector<Figure> out;
  Figure page;
  page.name = "emulator_console_page_ms";
  page.value = median(page_ms);
  page.unit = "ms";
  page.target = "<= 100";
  page.pass = page.value <= 100;
  page.note =
      "/_emulator/ first page (page + summary + 50 profiles + log + events) at 50,000 "
      "profiles; identifier search " +
      std::to_string(static_cast<int>(median(search_ms) + 0.5)) + " ms";
  out.push_back(page);
  Figure api;
  api.name = "emulator_console_api_ms";
  api.value = median(api_worst_ms);
  api.unit = "ms";
  api.target = "<= 50";
  api.pass = api.value <= 50;
  api.note =
      "slowest of 40 upserts answered while another connection loads the page and "
      "searches in a loop (median of runs)";
  out.push_back(api);
  return out;
}

}  // namespace bench
}  // namespace experiture
