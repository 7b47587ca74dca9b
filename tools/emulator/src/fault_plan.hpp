// Scripted failures for /public/v1 write routes: first a sequence (one entry per write request),
// then per-outcome probabilities drawn from a generator seeded by `seed`, so a run is repeatable.
// Thread-safe: next() is serialised internally.
//
// Script JSON (POST /_emulator/faults, --faults):
//   {"seed": 7,
//    "sequence": ["503", {"kind": "429", "retry_after": 2}, "reset_after", "ok", ...],
//    "probabilities": {"500": 0.1, "reset_before": 0.05, "delay": 0.2, ...},
//    "retry_after": 1, "delay_ms": 100}
// Kinds: ok, 500, 502, 503, 504, 429, 409, delay, reset_before, reset_after, token_expire.
// Any entry may carry "delay_ms" (the response is delayed, then the kind applies).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace experiture {
namespace emulator {

enum class FaultKind { kNone, kStatus, kResetBefore, kResetAfter, kTokenExpire };

struct Fault {
  FaultKind kind = FaultKind::kNone;
  int status = 0;           // for kStatus: 500, 502, 503, 504, 429, 409
  int retry_after_s = 0;    // for 429
  int64_t delay_ms = 0;     // applied before anything else
  std::string name = "ok";  // the script kind, for counters
};

class FaultPlan {
 public:
  explicit FaultPlan(uint64_t seed) : seed_(seed), rng_(seed) {}

  // Replaces the script. False with *error when malformed (the old script stays).
  bool configure(const nlohmann::json& script, std::string* error);
  void clear();
  // The fault for the next write request.
  Fault next();
  nlohmann::json to_json() const;

 private:
  static bool parse_entry(const nlohmann::json& entry, int default_retry_after_s,
                          int64_t default_delay_ms, Fault* out, std::string* error);

  mutable std::mutex mutex_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::deque<Fault> sequence_;
  std::vector<std::pair<double, Fault>> probabilities_;
  nlohmann::json script_ = nlohmann::json::object();
};

}  // namespace emulator
}  // namespace experiture
