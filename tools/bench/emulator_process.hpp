// An experiture-emulator child process on an ephemeral loopback port, stopped with SIGTERM.
#pragma once

#include <sys/types.h>

#include <string>

namespace experiture {
namespace bench {

class EmulatorProcess {
 public:
  // Starts `binary --port 0` and reads the bound port from its first stdout line. Aborts the run
  // when it does not start.
  explicit EmulatorProcess(const std::string& binary);
  ~EmulatorProcess();
  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace bench
}  // namespace experiture
