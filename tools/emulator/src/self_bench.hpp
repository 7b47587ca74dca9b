// The load benchmark behind `experiture-emulator --self-bench`: starts an emulator in-process on
// an ephemeral loopback port and posts upsert-batch requests of 500 new profiles from
// config.bench_clients keep-alive connections for config.bench_seconds, then prints records/s.
#pragma once

#include "emulator_config.hpp"

namespace experiture {
namespace emulator {

// Returns the process exit code (0 when every batch was accepted).
int run_self_bench(const EmulatorConfig& config);

}  // namespace emulator
}  // namespace experiture
