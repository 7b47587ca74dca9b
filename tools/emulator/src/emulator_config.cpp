#include "emulator_config.hpp"

#include <cstdlib>
#include <sstream>

namespace experiture {
namespace emulator {

const char* batch_mode_name(BatchMode mode) {
  switch (mode) {
    case BatchMode::kResults:
      return "results";
    case BatchMode::kBare:
      return "bare";
    case BatchMode::kJob:
      return "job";
  }
  return "results";
}

bool parse_batch_mode(const std::string& text, BatchMode* out) {
  if (text == "results") {
    *out = BatchMode::kResults;
  } else if (text == "bare") {
    *out = BatchMode::kBare;
  } else if (text == "job") {
    *out = BatchMode::kJob;
  } else {
    return false;
  }
  return true;
}

const char* emulator_usage() {
  return "usage: experiture-emulator [--host H] [--port P] [--tls-cert F --tls-key F]\n"
         "         [--state FILE] [--batch-mode results|bare|job] [--seed N] [--tokens a,b]\n"
         "         [--faults JSON|@FILE] [--schema FILE] [--threads N] [--read-timeout-ms N]\n"
         "         [--verbose]\n"
         "       experiture-emulator --self-bench [--bench-seconds S] [--bench-clients N]\n"
         "Prints the bound port alone on the first stdout line, then serves until SIGTERM.\n";
}

namespace {

bool parse_int(const std::string& text, long long min, long long max, long long* out) {
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < min || value > max) return false;
  *out = value;
  return true;
}

}  // namespace

bool parse_emulator_args(int argc, char** argv, EmulatorConfig* config, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        *error = arg + " needs a value";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string text;
    long long number = 0;
    if (arg == "--help" || arg == "-h") {
      error->clear();
      return false;
    } else if (arg == "--host") {
      if (!value(&config->host)) return false;
    } else if (arg == "--port") {
      if (!value(&text)) return false;
      if (!parse_int(text, 0, 65535, &number)) {
        *error = "--port must be 0..65535";
        return false;
      }
      config->port = static_cast<int>(number);
    } else if (arg == "--tls-cert") {
      if (!value(&config->tls_cert_path)) return false;
    } else if (arg == "--tls-key") {
      if (!value(&config->tls_key_path)) return false;
    } else if (arg == "--state") {
      if (!value(&config->state_path)) return false;
    } else if (arg == "--batch-mode") {
      if (!value(&text)) return false;
      if (!parse_batch_mode(text, &config->batch_mode)) {
        *error = "--batch-mode must be results, bare or job";
        return false;
      }
    } else if (arg == "--seed") {
      if (!value(&text)) return false;
      if (!parse_int(text, 0, INT64_MAX, &number)) {
        *error = "--seed must be a non-negative integer";
        return false;
      }
      config->seed = static_cast<uint64_t>(number);
    } else if (arg == "--tokens") {
      if (!value(&text)) return false;
      std::stringstream stream(text);
      std::string token;
      while (std::getline(stream, token, ',')) {
        if (!token.empty()) config->tokens.push_back(token);
      }
    } else if (arg == "--faults") {
      if (!value(&config->faults_json)) return false;
    } else if (arg == "--schema") {
      if (!value(&config->schema_path)) return false;
    } else if (arg == "--threads") {
      if (!value(&text)) return false;
      if (!parse_int(text, 1, 1024, &number)) {
        *error = "--threads must be 1..1024";
        return false;
      }
      config->threads = static_cast<int>(number);
    } else if (arg == "--read-timeout-ms") {
      if (!value(&text)) return false;
      if (!parse_int(text, 1, 3600000, &number)) {
        *error = "--read-timeout-ms must be 1..3600000";
        return false;
      }
      config->read_timeout_ms = static_cast<int>(number);
    } else if (arg == "--verbose") {
      config->verbose = true;
    } else if (arg == "--self-bench") {
      config->self_bench = true;
    } else if (arg == "--bench-seconds") {
      if (!value(&text)) return false;
      if (!parse_int(text, 1, 3600, &number)) {
        *error = "--bench-seconds must be 1..3600";
        return false;
      }
      config->bench_seconds = static_cast<int>(number);
    } else if (arg == "--bench-clients") {
      if (!value(&text)) return false;
      if (!parse_int(text, 1, 64, &number)) {
        *error = "--bench-clients must be 1..64";
        return false;
      }
      config->bench_clients = static_cast<int>(number);
    } else {
      *error = "unknown option " + arg;
      return false;
    }
  }
  if (config->tls_cert_path.empty() != config->tls_key_path.empty()) {
    *error = "--tls-cert and --tls-key go together";
    return false;
  }
  return true;
}

}  // namespace emulator
}  // namespace experiture
