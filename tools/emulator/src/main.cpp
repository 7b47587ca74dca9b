// experiture-emulator: see README.md. Prints the bound port alone on the first stdout line, then
// serves until SIGTERM or SIGINT.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>

#include "emulator_config.hpp"
#include "emulator_server.hpp"
#include "self_bench.hpp"

int main(int argc, char** argv) {
  using experiture::emulator::EmulatorConfig;
  EmulatorConfig config;
  std::string error;
  if (!experiture::emulator::parse_emulator_args(argc, argv, &config, &error)) {
    if (!error.empty()) std::fprintf(stderr, "experiture-emulator: %s\n", error.c_str());
    std::fputs(experiture::emulator::emulator_usage(), error.empty() ? stdout : stderr);
    return error.empty() ? 0 : 2;
  }
  if (config.self_bench) return experiture::emulator::run_self_bench(config);

  // Block the stop signals in every thread; one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  experiture::emulator::EmulatorServer server(config);
  int port = server.start(&error);
  if (port < 0) {
    std::fprintf(stderr, "experiture-emulator: %s\n", error.c_str());
    return 1;
  }
  std::printf("%d\n", port);
  std::fflush(stdout);
  std::thread waiter([&server, stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    server.stop();
  });
  server.run();
  // run() only returns after stop(), or on a listen failure: wake the waiter in that case.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}
