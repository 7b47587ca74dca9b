// EmulatorProcess: runs the real experiture-emulator binary (EXPERITURE_EMULATOR_PATH) as a child
// process on a loopback port for integration, fault and emulator tests, with libcurl helpers for
// its /_emulator/* admin routes and for raw API requests. Test-only code: failures throw
// std::runtime_error with a message that says what went wrong.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace experiture {
namespace test {

// One HTTP exchange: curl_code != 0 means no response (connection refused, reset, empty reply).
struct EmulatorResponse {
  long status = 0;
  int curl_code = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased
  // The body parsed as JSON (null json when it is not JSON).
  nlohmann::json json() const;
};

class EmulatorProcess {
 public:
  // Starts `experiture-emulator --port 0 <extra_args...>` and waits (bounded, by reading its
  // stdout pipe) for the bound port. Throws when the binary fails to start.
  explicit EmulatorProcess(std::vector<std::string> extra_args = {});
  // Same, but binds the given port (e.g. to come back on the same port after stop()).
  EmulatorProcess(std::vector<std::string> extra_args, int port);
  // SIGTERMs the child and waits for it.
  ~EmulatorProcess();
  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:P/public/v1"
  std::string base_url() const;
  // "http://127.0.0.1:P"
  std::string root_url() const;
  bool running() const { return pid_ > 0; }

  // SIGTERM + waitpid: the server is down until restart(). No-op when stopped.
  void stop();
  // SIGKILL + waitpid (crash; with --state the SQLite state survives).
  void kill_hard();
  // Starts the binary again with the same arguments on the same port. Throws on failure.
  void restart();

  // Admin helpers; path is relative to root_url() (e.g. "/_emulator/counters").
  // They throw when the emulator does not answer or the answer is not JSON.
  nlohmann::json get_json(const std::string& path) const;
  nlohmann::json post_json(const std::string& path, const nlohmann::json& body) const;
  // The profile carrying identifier key=value, or null json when none (404).
  nlohmann::json profile(const std::string& key, const std::string& value,
                         const std::string& object = "profiles") const;
  // The array of every profile of `object`.
  nlohmann::json profiles(const std::string& object = "profiles") const;
  // The array of appended rows (all objects when `object` is empty).
  nlohmann::json events(const std::string& object = "") const;
  nlohmann::json counters() const;
  void set_faults(const nlohmann::json& script) const;
  void reset() const;

  // A raw request: path relative to root_url(); headers as "Name: value" lines.
  EmulatorResponse request(const std::string& method, const std::string& path,
                           const std::string& body = std::string(),
                           const std::vector<std::string>& headers = {}) const;
  // POST to base_url() + api_path with Authorization: Bearer token, JSON content type, and
  // Idempotency-Key when idempotency_key is not empty.
  EmulatorResponse post_api(const std::string& api_path, const nlohmann::json& body,
                            const std::string& token = "test-token",
                            const std::string& idempotency_key = std::string()) const;

 private:
  void spawn(int port);

  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace test
}  // namespace experiture
