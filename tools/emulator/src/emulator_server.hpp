// EmulatorServer: the Experiture public API (docs/api.md) over real HTTP(S) with cpp-httplib,
// plus /_emulator/* admin routes. Owns the schema, the record store, idempotency entries, fault
// plan, auth rules, emulated clock and counters. One lock (state_mutex_) serialises every state
// change, so an idempotency check, the apply and the stored response are atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "emulated_clock.hpp"
#include "emulator_config.hpp"
#include "fault_plan.hpp"
#include "idempotency_store.hpp"
#include "record_store.hpp"
#include "request_log.hpp"
#include "schema.hpp"
#include "state_file.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace experiture {
namespace emulator {

class EmulatorServer {
 public:
  explicit EmulatorServer(EmulatorConfig config);
  ~EmulatorServer();
  EmulatorServer(const EmulatorServer&) = delete;
  EmulatorServer& operator=(const EmulatorServer&) = delete;

  // Loads schema, state and faults, and binds the listening socket. Returns the bound port, or
  // -1 with *error. Ignores SIGPIPE process-wide (reset faults write to closed sockets).
  int start(std::string* error);
  // Serves on the calling thread until stop(). Call after a successful start().
  void run();
  // Stops serving; run() returns (or never starts listening). Any thread, idempotent; waits
  // until a concurrent run() has started listening so a stop is never lost.
  void stop();
  int port() const { return port_; }

 private:
  enum class WriteOp { kUpsert, kUpsertBatch, kAppend, kAppendBatch };

  struct AuthRule {
    int64_t expire_after_requests = -1;  // -1: never
    int64_t expire_at_ms = -1;           // -1: never
  };

  struct Counters {
    uint64_t requests = 0;
    uint64_t writes_applied = 0;
    uint64_t batches_applied = 0;
    uint64_t replays = 0;
    uint64_t resets = 0;
    std::map<std::string, uint64_t> rejects;
    std::map<std::string, uint64_t> statuses;
    std::map<std::string, uint64_t> faults;
    std::map<std::string, uint64_t> applications_by_idempotency_key;
    std::map<std::string, uint64_t> records_by_idempotency_key;
  };

  void install_routes();
  void handle_write(const httplib::Request& req, httplib::Response& res, WriteOp op);
  void process_write(const httplib::Request& req, httplib::Response& res, WriteOp op,
                     const std::string& token);
  // Fills res with the outcome of a parsed write; returns records applied. State lock held.
  uint64_t apply_write(WriteOp op, const std::string& object, const nlohmann::json& body,
                       const std::string& idempotency_key, int* status, nlohmann::json* data,
                       nlohmann::json* error);
  // Checks the bearer token; on failure answers 401 and returns false. State lock held.
  bool authorize(const httplib::Request& req, httplib::Response& res, std::string* token);
  void handle_metadata(const httplib::Request& req, httplib::Response& res);
  void handle_job(const httplib::Request& req, httplib::Response& res);

  void send_success(httplib::Response& res, int status, const nlohmann::json& data);
  void send_error(httplib::Response& res, int status, const std::string& code,
                  const std::string& message, const std::string& path = std::string(),
                  const nlohmann::json& value = nullptr);
  bool reset_connection(const httplib::Request& req, httplib::Response& res);
  void reset_state();
  void install_console_routes();
  // Records the finished /public/v1 request of this worker thread in log_ (post-routing).
  void log_request(const httplib::Request& req, const httplib::Response& res);
  nlohmann::json summary_json();
  nlohmann::json counters_json();

  EmulatorConfig config_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<StateFile> state_file_;
  EmulatedClock clock_;
  FaultPlan faults_;
  std::atomic<int> port_{-1};
  std::atomic<bool> in_run_{false};
  std::atomic<bool> stop_requested_{false};
  RequestLog log_;  // own lock: the console reads it without taking state_mutex_

  std::mutex state_mutex_;  // guards everything below
  Schema initial_schema_;
  Schema schema_;
  BatchMode batch_mode_;
  RecordStore store_;
  IdempotencyStore idempotency_;
  std::set<std::string> expired_tokens_;
  std::map<std::string, AuthRule> auth_rules_;  // token (or "*") -> rule
  std::map<std::string, int64_t> token_requests_;
  std::map<std::string, nlohmann::json> jobs_;
  uint64_t next_job_ = 1;
  Counters counters_;
};

}  // namespace emulator
}  // namespace experiture
