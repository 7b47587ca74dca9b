// Command-line configuration of experiture-emulator (see README.md for every option).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace experiture {
namespace emulator {

// How batch writes answer (docs/api.md "Batch response", ASSUMED A/B/C).
enum class BatchMode { kResults, kBare, kJob };

const char* batch_mode_name(BatchMode mode);
bool parse_batch_mode(const std::string& text, BatchMode* out);

struct EmulatorConfig {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string tls_cert_path;
  std::string tls_key_path;
  std::string state_path;  // empty: memory only
  BatchMode batch_mode = BatchMode::kResults;
  uint64_t seed = 0;
  std::vector<std::string> tokens;  // empty: any non-empty bearer token is accepted
  std::string faults_json;          // initial fault script ("" for none, "@file" to read a file)
  std::string schema_path;          // empty: built-in default schema
  int threads = 32;                 // HTTP worker threads
  int read_timeout_ms = 5000;       // a request that stalls longer gets 400
  bool verbose = false;             // log each request to stderr
  bool self_bench = false;          // run the load benchmark and exit
  int bench_seconds = 5;
  int bench_clients = 2;
};

// Parses argv. Returns false with *error (or with *error empty when --help was asked).
bool parse_emulator_args(int argc, char** argv, EmulatorConfig* config, std::string* error);
const char* emulator_usage();

}  // namespace emulator
}  // namespace experiture
