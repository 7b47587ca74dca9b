#include "fault_plan.hpp"

namespace experiture {
namespace emulator {

bool FaultPlan::parse_entry(const nlohmann::json& entry, int default_retry_after_s,
                            int64_t default_delay_ms, Fault* out, std::string* error) {
  Fault fault;
  std::string kind;
  if (entry.is_string()) {
    kind = entry.get<std::string>();
  } else if (entry.is_number_integer()) {
    kind = std::to_string(entry.get<int>());
  } else if (entry.is_object() && entry.contains("kind") && entry["kind"].is_string()) {
    kind = entry["kind"].get<std::string>();
    if (entry.contains("delay_ms") && !entry["delay_ms"].is_number_integer()) {
      *error = "delay_ms must be an integer";
      return false;
    }
    if (entry.contains("retry_after") && !entry["retry_after"].is_number_integer()) {
      *error = "retry_after must be an integer";
      return false;
    }
    fault.delay_ms = entry.value("delay_ms", int64_t{0});
    default_retry_after_s = entry.value("retry_after", default_retry_after_s);
  } else {
    *error = "a fault entry is a kind string or {\"kind\":...}";
    return false;
  }
  fault.name = kind;
  if (kind == "ok") {
    fault.kind = FaultKind::kNone;
  } else if (kind == "delay") {
    fault.kind = FaultKind::kNone;
    if (fault.delay_ms == 0) fault.delay_ms = default_delay_ms;
  } else if (kind == "500" || kind == "502" || kind == "503" || kind == "504" || kind == "409" ||
             kind == "429") {
    fault.kind = FaultKind::kStatus;
    fault.status = std::stoi(kind);
    if (fault.status == 429) fault.retry_after_s = default_retry_after_s;
  } else if (kind == "reset_before") {
    fault.kind = FaultKind::kResetBefore;
  } else if (kind == "reset_after") {
    fault.kind = FaultKind::kResetAfter;
  } else if (kind == "token_expire") {
    fault.kind = FaultKind::kTokenExpire;
  } else {
    *error = "unknown fault kind '" + kind + "'";
    return false;
  }
  *out = fault;
  return true;
}

bool FaultPlan::configure(const nlohmann::json& script, std::string* error) {
  if (!script.is_object()) {
    *error = "fault script must be a JSON object";
    return false;
  }
  int retry_after_s = 1;
  int64_t delay_ms = 100;
  if (script.contains("retry_after")) {
    if (!script["retry_after"].is_number_integer()) {
      *error = "retry_after must be an integer";
      return false;
    }
    retry_after_s = script["retry_after"].get<int>();
  }
  if (script.contains("delay_ms")) {
    if (!script["delay_ms"].is_number_integer()) {
      *error = "delay_ms must be an integer";
      return false;
    }
    delay_ms = script["delay_ms"].get<int64_t>();
  }
  std::deque<Fault> sequence;
  if (script.contains("sequence")) {
    if (!script["sequence"].is_array()) {
      *error = "sequence must be an array";
      return false;
    }
    for (const auto& entry : script["sequence"]) {
      Fault fault;
      if (!parse_entry(entry, retry_after_s, delay_ms, &fault, error)) return false;
      sequence.push_back(fault);
    }
  }
  std::vector<std::pair<double, Fault>> probabilities;
  double total = 0;
  if (script.contains("probabilities")) {
    if (!script["probabilities"].is_object()) {
      *error = "probabilities must be an object of kind -> probability";
      return false;
    }
    for (const auto& item : script["probabilities"].items()) {
      Fault fault;
      if (!parse_entry(item.key(), retry_after_s, delay_ms, &fault, error)) return false;
      if (!item.value().is_number() || item.value().get<double>() < 0) {
        *error = "probability of " + item.key() + " must be a number >= 0";
        return false;
      }
      total += item.value().get<double>();
      probabilities.emplace_back(item.value().get<double>(), fault);
    }
  }
  if (total > 1.0 + 1e-9) {
    *error = "probabilities add up to more than 1";
    return false;
  }
  if (script.contains("seed") && !script["seed"].is_number_unsigned()) {
    *error = "seed must be a non-negative integer";
    return false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (script.contains("seed")) seed_ = script["seed"].get<uint64_t>();
  rng_.seed(seed_);
  sequence_ = std::move(sequence);
  probabilities_ = std::move(probabilities);
  script_ = script;
  return true;
}

void FaultPlan::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  sequence_.clear();
  probabilities_.clear();
  script_ = nlohmann::json::object();
  rng_.seed(seed_);
}

Fault FaultPlan::next() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sequence_.empty()) {
    Fault fault = sequence_.front();
    sequence_.pop_front();
    return fault;
  }
  if (probabilities_.empty()) return Fault();
  double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  for (const auto& entry : probabilities_) {
    if (draw < entry.first) return entry.second;
    draw -= entry.first;
  }
  return Fault();
}

nlohmann::json FaultPlan::to_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {{"script", script_}, {"remaining_sequence", sequence_.size()}, {"seed", seed_}};
}

}  // namespace emulator
}  // namespace experiture
