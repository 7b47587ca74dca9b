// LocalEmulator: runs experiture-emulator (the local CDP stand-in) as a child process on a
// loopback port, and reads profiles back through its /_emulator admin routes.
// Sample plumbing only; the SDK itself never needs it.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace kiosk {

class LocalEmulator {
 public:
  explicit LocalEmulator(std::string binary_path) : binary_path_(std::move(binary_path)) {}
  // Stops the child when it is running.
  ~LocalEmulator();
  LocalEmulator(const LocalEmulator&) = delete;
  LocalEmulator& operator=(const LocalEmulator&) = delete;

  // Starts the binary on `port` (0: any free port) and waits, bounded, for the port it prints.
  // False with *error when it does not start.
  bool start(int port, std::string* error);
  // SIGTERM and wait: the port refuses connections until start() again.
  void stop();

  int port() const { return port_; }
  // "http://127.0.0.1:P/public/v1"
  std::string base_url() const;

  // GET an admin route (e.g. "/_emulator/profiles"); the parsed JSON body, or null json when
  // the emulator does not answer 200 with JSON.
  nlohmann::json get_json(const std::string& path,
                          const std::multimap<std::string, std::string>& query = {}) const;

 private:
  std::string binary_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace kiosk
