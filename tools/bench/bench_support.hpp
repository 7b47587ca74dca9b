// Shared pieces of experiture-bench: options, figures, the run context, records, statistics and
// process probes (/proc). Bench code runs on Linux only; it is a tool, not part of the SDK.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiture/client.hpp"

namespace experiture {
namespace bench {

class EmulatorProcess;

struct Options {
  bool quick = false;
  bool json = false;
  std::string only;  // "" = every scenario
};

// One reported figure. `baseline`/`ratio` are absent when there is no baseline; `target` reads
// like "<= 10000" and `pass` says whether `value` (or `ratio` when the target is a ratio) meets it.
struct Figure {
  std::string name;
  double value = 0;
  std::string unit;
  std::optional<double> baseline;
  std::optional<double> ratio;
  std::string target;
  bool pass = true;
  std::string note;  // human-readable detail, printed in the table only
};

// Shared by the scenarios of one run.
struct Context {
  Options options;
  std::string work_dir;  // removed at exit
  EmulatorProcess* emulator = nullptr;
  std::string fixture_path;  // the 1M (quick: fewer) queued-record outbox, built once
  size_t fixture_records = 0;

  std::string endpoint() const;                     // the emulator's /public/v1 base URL
  std::string fresh_path(const std::string& stem);  // a new file name in work_dir
  // Quick runs are shorter, not fewer: a median of 3 is too noisy here.
  int runs() const { return 5; }
  size_t pick(size_t full, size_t quick) const { return options.quick ? quick : full; }

 private:
  int next_file_ = 0;
};

inline constexpr const char* kObject = "profiles";
inline constexpr const char* kMatchKey = "email";
inline constexpr const char* kToken = "bench-token";

// The benchmark record: a profile upsert of about 200 bytes (email, customer_id, 6 short
// strings). `profile` selects the email/customer_id, `run` keeps runs apart on the emulator.
std::string make_record(uint64_t profile, uint64_t run = 0);
// The record as the SDK stores and sends it: parsed, email normalised, compact dump.
std::string stored_form(const std::string& record_json);
// The SDK's upsert-batch body for these stored records.
std::string batch_body(const std::vector<std::string>& stored_records);

// A client on `path` delivering to `endpoint` (token kToken). Aborts the run on failure.
std::unique_ptr<Client> open_client(Config config);
Config bench_config(const std::string& path, const std::string& endpoint);
// upsert() as the SDK's docs tell an app to write: on kQueueFull (nothing was accepted) it waits
// with persist() and makes the same call again. Returns the kQueueFull answers met; aborts the
// run on any other failure.
uint64_t upsert_as_app(Client& client, const std::string& record);

double median(std::vector<double> values);
// The p-quantile (0..1) of `sorted` (nearest rank).
uint64_t percentile(const std::vector<uint64_t>& sorted, double p);
int64_t now_ns();
void sleep_ms(int64_t ms);

// /proc probes.
struct ThreadSwitches {
  uint64_t voluntary = 0;
  uint64_t involuntary = 0;
};
std::vector<int> thread_ids();
std::map<int, ThreadSwitches> thread_switches(const std::vector<int>& tids);
uint64_t peak_rss_kib();                      // VmHWM of this process
uint64_t file_size(const std::string& path);  // 0 when missing
// Runs a shell command, returns its stdout ("" on failure).
std::string capture(const std::string& command);

// Bare libcurl helpers (baselines and admin routes): one easy handle, keep-alive.
class HttpProbe {
 public:
  HttpProbe();
  ~HttpProbe();
  HttpProbe(const HttpProbe&) = delete;
  HttpProbe& operator=(const HttpProbe&) = delete;
  // Returns the HTTP status (0 on transport failure); the body in *response when given.
  long post(const std::string& url, const std::string& body, const std::string& idempotency_key,
            std::string* response = nullptr);
  long get(const std::string& url, std::string* response);

 private:
  void* curl_;
  void* headers_;
};

// Emulator admin helpers.
void reset_emulator(const Context& ctx);
uint64_t emulator_requests(const Context& ctx);

[[noreturn]] void die(const std::string& message);

}  // namespace bench
}  // namespace experiture
