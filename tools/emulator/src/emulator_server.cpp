#include "emulator_server.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace experiture {
namespace emulator {

namespace {

constexpr size_t kMaxBodyBytes = 10000000;  // "10 MB", decimal: the stricter reading
constexpr size_t kMaxBatchRecords = 10000;
constexpr const char* kInvalid = "CDP_ETL.VALIDATION.REQUEST_INVALID";
constexpr const char* kJsonType = "application/json";
constexpr const char* kResetMarker = "X-Emulator-Reset";

std::string dump(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string new_uuid() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   std::hash<std::thread::id>()(std::this_thread::get_id()));
  uint64_t high = rng(), low = rng();
  high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
  low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xFFFF),
                static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return buffer;
}

bool is_uuid_v4(const std::string& text) {
  static const std::regex kUuid(
      "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$");
  return text.size() == 36 && std::regex_match(text, kUuid);
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

const char* fault_code(int status) {
  switch (status) {
    case 429:
      return "CDP_ETL.RATE.LIMITED";
    case 409:
      return "CDP_ETL.CONFLICT.CONCURRENT_WRITE";
    case 502:
      return "CDP_ETL.INTERNAL.BAD_GATEWAY";
    case 503:
      return "CDP_ETL.INTERNAL.UNAVAILABLE";
    case 504:
      return "CDP_ETL.INTERNAL.TIMEOUT";
    default:
      return "CDP_ETL.INTERNAL.ERROR";
  }
}

const char* default_code(int status) {
  switch (status) {
    case 400:
      return kInvalid;
    case 401:
      return "CDP_ETL.AUTH.UNAUTHORIZED";
    case 404:
      return "CDP_ETL.NOT_FOUND";
    case 413:
      return "CDP_ETL.VALIDATION.PAYLOAD_TOO_LARGE";
    case 414:
      return kInvalid;
    default:
      return status >= 500 ? "CDP_ETL.INTERNAL.ERROR" : kInvalid;
  }
}

void send_admin(httplib::Response& res, int status, const nlohmann::json& doc) {
  res.status = status;
  res.set_content(dump(doc), kJsonType);
}

bool parse_admin_body(const httplib::Request& req, httplib::Response& res, nlohmann::json* out) {
  *out = nlohmann::json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (out->is_discarded()) {
    send_admin(res, 400, {{"error", "body is not JSON"}});
    return false;
  }
  return true;
}

// What the worker thread learned about the API request it is serving, for the request log.
// httplib serves a request from routing to the written response on one worker thread.
struct RequestTrace {
  bool active = false;
  std::chrono::steady_clock::time_point start;
  uint64_t records = 0;
  std::string fault;
  nlohmann::json rejected = nlohmann::json::array();
};
thread_local RequestTrace t_trace;

// Why binding host:port failed, from a probe socket without SO_REUSEPORT.
std::string bind_failure(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::strerror(errno);
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  std::string cause;
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    cause = "the address is not an IPv4 address";
  } else if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    cause = errno == EADDRINUSE
                ? "the port is already in use (another experiture-emulator?); stop it, choose "
                  "another --port, or use --port 0 for a free one"
                : std::strerror(errno);
  }
  close(fd);
  return cause.empty() ? "unknown cause" : cause;
}

const char* op_name(bool upsert) {
  return upsert ? "upsert" : "append";
}

}  // namespace

EmulatorServer::EmulatorServer(EmulatorConfig config)
    : config_(std::move(config)),
      faults_(config_.seed),
      initial_schema_(Schema::default_schema()),
      schema_(initial_schema_),
      batch_mode_(config_.batch_mode),
      store_(nullptr) {}

EmulatorServer::~EmulatorServer() {
  stop();
}

int EmulatorServer::start(std::string* error) {
  signal(SIGPIPE, SIG_IGN);
  if (!config_.schema_path.empty()) {
    std::ifstream file(config_.schema_path);
    std::stringstream text;
    text << file.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (!file || doc.is_discarded()) {
      *error = "cannot read schema JSON from " + config_.schema_path;
      return -1;
    }
    if (!Schema::from_json(doc, &initial_schema_, error)) return -1;
    schema_ = initial_schema_;
  }
  if (!config_.faults_json.empty()) {
    std::string text = config_.faults_json;
    if (text[0] == '@') {
      std::ifstream file(text.substr(1));
      std::stringstream content;
      content << file.rdbuf();
      text = content.str();
    }
    nlohmann::json script = nlohmann::json::parse(text, nullptr, false);
    if (script.is_discarded() || !faults_.configure(script, error)) {
      *error = "--faults: " + (error->empty() ? std::string("not JSON") : *error);
      return -1;
    }
  }
  if (!config_.state_path.empty()) {
    state_file_.reset(new StateFile());
    if (!state_file_->open(config_.state_path, error)) return -1;
    store_ = RecordStore(state_file_.get());
    store_.load();
    idempotency_.load(*state_file_);
  }
  if (!config_.tls_cert_path.empty()) {
    server_.reset(
        new httplib::SSLServer(config_.tls_cert_path.c_str(), config_.tls_key_path.c_str()));
  } else {
    server_.reset(new httplib::Server());
  }
  if (!server_->is_valid()) {
    *error = "cannot create the server (TLS certificate or key unreadable?)";
    return -1;
  }
  int threads = config_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_keep_alive_max_count(100000);
  server_->set_payload_max_length(kMaxBodyBytes);
  server_->set_tcp_nodelay(true);
  server_->set_read_timeout(config_.read_timeout_ms / 1000,
                            (config_.read_timeout_ms % 1000) * 1000);
  // httplib sets SO_REUSEPORT by default, which lets a second emulator bind the same port and
  // share its connections; SO_REUSEADDR alone refuses a port that is in use.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  install_routes();
  install_console_routes();
  int port = config_.port == 0
                 ? server_->bind_to_any_port(config_.host)
                 : (server_->bind_to_port(config_.host, config_.port) ? config_.port : -1);
  if (port < 0) {
    *error = "cannot listen on " + config_.host + ":" + std::to_string(config_.port) + ": " +
             bind_failure(config_.host, config_.port);
    return -1;
  }
  port_ = port;
  return port;
}

void EmulatorServer::run() {
  // Dekker-style handshake with stop(): both flags are seq_cst atomics, so either run() sees
  // the stop request or stop() sees run() and waits until httplib is listening to stop it.
  in_run_ = true;
  if (!stop_requested_) server_->listen_after_bind();
  in_run_ = false;
}

void EmulatorServer::stop() {
  stop_requested_ = true;
  if (!server_) return;
  while (in_run_) {
    if (server_->is_running()) {
      server_->stop();
      return;
    }
    std::this_thread::yield();
  }
}

void EmulatorServer::install_routes() {
  httplib::Server& s = *server_;
  s.set_expect_100_continue_handler([](const httplib::Request& req, httplib::Response&) {
    std::string length = req.get_header_value("Content-Length");
    return !length.empty() && std::strtoull(length.c_str(), nullptr, 10) > kMaxBodyBytes ? 413
                                                                                         : 100;
  });
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.has_header(kResetMarker)) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        std::string message = res.status == 413   ? "request body exceeds 10 MB"
                              : res.status == 404 ? "no such route"
                                                  : "malformed request";
        send_error(res, res.status, default_code(res.status), message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string message = "internal error";
        try {
          if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
          message = e.what();
        } catch (...) {
        }
        send_error(res, 500, "CDP_ETL.INTERNAL.ERROR", message);
      });
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    t_trace = RequestTrace();
    if (req.path.rfind("/public/v1/", 0) == 0) {
      t_trace.active = true;
      t_trace.start = std::chrono::steady_clock::now();
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (t_trace.active) log_request(req, res);
    t_trace.active = false;
    res.set_header("Date", EmulatedClock::imf_fixdate(clock_.now_ms()));
    if (!res.has_header("x-correlation-id")) res.set_header("x-correlation-id", new_uuid());
    if (req.path.rfind("/_emulator", 0) != 0 && !res.has_header(kResetMarker)) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      counters_.statuses[std::to_string(res.status)]++;
    }
  });
  if (config_.verbose) {
    s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "experiture-emulator: %s %s -> %d\n", req.method.c_str(),
                   req.path.c_str(), res.status);
    });
  }

  const std::string records = R"(/public/v1/records/([^/]+)/)";
  s.Post(records + "upsert", [this](const httplib::Request& q, httplib::Response& r) {
    handle_write(q, r, WriteOp::kUpsert);
  });
  s.Post(records + "upsert-batch", [this](const httplib::Request& q, httplib::Response& r) {
    handle_write(q, r, WriteOp::kUpsertBatch);
  });
  s.Post(records + "append", [this](const httplib::Request& q, httplib::Response& r) {
    handle_write(q, r, WriteOp::kAppend);
  });
  s.Post(records + "append-batch", [this](const httplib::Request& q, httplib::Response& r) {
    handle_write(q, r, WriteOp::kAppendBatch);
  });
  s.Get(records + "jobs/([^/]+)",
        [this](const httplib::Request& q, httplib::Response& r) { handle_job(q, r); });
  s.Get(R"(/public/v1/metadata/objects/([^/]+))",
        [this](const httplib::Request& q, httplib::Response& r) { handle_metadata(q, r); });

  s.Get("/_emulator/profiles", [this](const httplib::Request& req, httplib::Response& res) {
    std::string object = req.has_param("object") ? req.get_param_value("object") : "profiles";
    std::lock_guard<std::mutex> lock(state_mutex_);
    nlohmann::json list = store_.list_json(object);
    send_admin(res, 200, {{"object", object}, {"count", list.size()}, {"profiles", list}});
  });
  s.Get("/_emulator/profile", [this](const httplib::Request& req, httplib::Response& res) {
    std::string object = req.has_param("object") ? req.get_param_value("object") : "profiles";
    if (!req.has_param("key") || !req.has_param("value")) {
      send_admin(res, 400, {{"error", "key and value query parameters are required"}});
      return;
    }
    std::lock_guard<std::mutex> lock(state_mutex_);
    const Profile* profile =
        store_.find(object, req.get_param_value("key"), req.get_param_value("value"));
    if (profile == nullptr) {
      send_admin(res, 404, {{"error", "no profile with that identifier"}});
    } else {
      send_admin(res, 200, store_.profile_json(object, *profile));
    }
  });
  s.Get("/_emulator/events", [this](const httplib::Request& req, httplib::Response& res) {
    std::string object = req.has_param("object") ? req.get_param_value("object") : "";
    std::lock_guard<std::mutex> lock(state_mutex_);
    nlohmann::json list = store_.events_json(object);
    send_admin(res, 200, {{"count", list.size()}, {"events", list}});
  });
  s.Get("/_emulator/counters", [this](const httplib::Request&, httplib::Response& res) {
    send_admin(res, 200, counters_json());
  });
  s.Get("/_emulator/faults", [this](const httplib::Request&, httplib::Response& res) {
    send_admin(res, 200, faults_.to_json());
  });
  s.Post("/_emulator/faults", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json script;
    if (!parse_admin_body(req, res, &script)) return;
    std::string error;
    if (!faults_.configure(script, &error)) {
      send_admin(res, 400, {{"error", error}});
      return;
    }
    send_admin(res, 200, faults_.to_json());
  });
  s.Get("/_emulator/schema", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    send_admin(res, 200, schema_.to_json());
  });
  s.Post("/_emulator/schema", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json doc;
    if (!parse_admin_body(req, res, &doc)) return;
    Schema schema;
    std::string error;
    if (!Schema::from_json(doc, &schema, &error)) {
      send_admin(res, 400, {{"error", error}});
      return;
    }
    std::lock_guard<std::mutex> lock(state_mutex_);
    schema_ = schema;
    send_admin(res, 200, schema_.to_json());
  });
  s.Post("/_emulator/reset", [this](const httplib::Request&, httplib::Response& res) {
    reset_state();
    send_admin(res, 200, {{"ok", true}});
  });
  s.Get("/_emulator/clock", [this](const httplib::Request&, httplib::Response& res) {
    int64_t now = clock_.now_ms();
    send_admin(
        res, 200,
        {{"now", EmulatedClock::iso8601(now)}, {"now_ms", now}, {"offset_ms", clock_.offset_ms()}});
  });
  s.Post("/_emulator/clock", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json doc;
    if (!parse_admin_body(req, res, &doc)) return;
    auto integer = [&doc](const char* key) {
      return doc.contains(key) && doc[key].is_number_integer();
    };
    if (integer("advance_ms")) clock_.advance_ms(doc["advance_ms"].get<int64_t>());
    if (integer("advance_s")) clock_.advance_ms(doc["advance_s"].get<int64_t>() * 1000);
    if (integer("offset_ms")) clock_.set_offset_ms(doc["offset_ms"].get<int64_t>());
    if (integer("offset_s")) clock_.set_offset_ms(doc["offset_s"].get<int64_t>() * 1000);
    if (doc.contains("set")) {
      int64_t target = 0;
      if (!doc["set"].is_string() ||
          !EmulatedClock::parse_iso8601(doc["set"].get<std::string>(), &target)) {
        send_admin(res, 400, {{"error", "set must be an ISO 8601 datetime with a zone"}});
        return;
      }
      clock_.set_offset_ms(0);
      clock_.set_offset_ms(target - clock_.now_ms());
    }
    int64_t now = clock_.now_ms();
    send_admin(
        res, 200,
        {{"now", EmulatedClock::iso8601(now)}, {"now_ms", now}, {"offset_ms", clock_.offset_ms()}});
  });
  s.Post("/_emulator/auth", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json doc;
    if (!parse_admin_body(req, res, &doc)) return;
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (doc.value("clear", false)) {
      auth_rules_.clear();
      expired_tokens_.clear();
      token_requests_.clear();
    }
    std::string token = doc.contains("token") && doc["token"].is_string()
                            ? doc["token"].get<std::string>()
                            : std::string("*");
    if (doc.value("expire", false)) expired_tokens_.insert(token);
    if (doc.contains("expire_after_requests") || doc.contains("expire_at")) {
      AuthRule rule;
      if (doc.contains("expire_after_requests") &&
          doc["expire_after_requests"].is_number_integer()) {
        rule.expire_after_requests = doc["expire_after_requests"].get<int64_t>();
        token_requests_.clear();
      }
      int64_t at = 0;
      if (doc.contains("expire_at") && doc["expire_at"].is_string() &&
          EmulatedClock::parse_iso8601(doc["expire_at"].get<std::string>(), &at)) {
        rule.expire_at_ms = at;
      }
      auth_rules_[token] = rule;
    }
    send_admin(res, 200, {{"ok", true}, {"expired_tokens", expired_tokens_}});
  });
  s.Get("/_emulator/config", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    send_admin(res, 200,
               {{"batch_mode", batch_mode_name(batch_mode_)},
                {"tokens", config_.tokens},
                {"tls", !config_.tls_cert_path.empty()},
                {"state", config_.state_path},
                {"max_body_bytes", kMaxBodyBytes},
                {"max_batch_records", kMaxBatchRecords}});
  });
  s.Post("/_emulator/batch-mode", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json doc;
    if (!parse_admin_body(req, res, &doc)) return;
    BatchMode mode;
    if (!doc.contains("mode") || !doc["mode"].is_string() ||
        !parse_batch_mode(doc["mode"].get<std::string>(), &mode)) {
      send_admin(res, 400, {{"error", "mode must be results, bare or job"}});
      return;
    }
    std::lock_guard<std::mutex> lock(state_mutex_);
    batch_mode_ = mode;
    send_admin(res, 200, {{"batch_mode", batch_mode_name(mode)}});
  });
}

void EmulatorServer::log_request(const httplib::Request& req, const httplib::Response& res) {
  LoggedRequest entry;
  entry.at_ms = clock_.now_ms();
  entry.method = req.method;
  entry.path = req.path;
  entry.idempotency_key = req.get_header_value("Idempotency-Key");
  entry.status = res.has_header(kResetMarker) ? 0 : res.status;
  entry.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_trace.start)
          .count();
  entry.records = t_trace.records;
  entry.replay = res.has_header("Idempotent-Replayed");
  entry.fault = t_trace.fault;
  entry.rejected = std::move(t_trace.rejected);
  entry.request_bytes = req.body.size();
  entry.request_body = req.body.substr(0, RequestLog::kMaxBodyBytes);
  entry.response_body = res.body.substr(0, RequestLog::kMaxBodyBytes);
  log_.add(std::move(entry));
}

void EmulatorServer::send_success(httplib::Response& res, int status, const nlohmann::json& data) {
  std::string correlation_id = new_uuid();
  res.status = status;
  res.set_header("x-correlation-id", correlation_id);
  res.set_content(dump({{"success", true}, {"data", data}, {"correlationId", correlation_id}}),
                  kJsonType);
}

void EmulatorServer::send_error(httplib::Response& res, int status, const std::string& code,
                                const std::string& message, const std::string& path,
                                const nlohmann::json& value) {
  std::string correlation_id = new_uuid();
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!path.empty()) error["details"] = {{"path", path}, {"value", value}};
  res.status = status;
  res.set_header("x-correlation-id", correlation_id);
  res.set_content(dump({{"success", false}, {"correlationId", correlation_id}, {"error", error}}),
                  kJsonType);
  if (t_trace.active && t_trace.rejected.empty()) {
    nlohmann::json rejected = {{"code", code}, {"message", message}};
    if (!path.empty()) rejected["path"] = path;
    t_trace.rejected.push_back(std::move(rejected));
  }
  std::lock_guard<std::mutex> lock(state_mutex_);
  counters_.rejects[code]++;
}

bool EmulatorServer::reset_connection(const httplib::Request& req, httplib::Response& res) {
  res.set_header(kResetMarker, "1");
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    counters_.resets++;
  }
  // httplib 0.11 does not expose the connection's socket: find it by its peer address. After
  // shutdown() httplib's own write fails and it closes the socket; the client sees the
  // connection end with no response.
  DIR* dir = opendir("/proc/self/fd");
  if (dir != nullptr) {
    while (dirent* entry = readdir(dir)) {
      int fd = std::atoi(entry->d_name);
      if (fd <= 2) continue;
      sockaddr_storage peer{}, local{};
      socklen_t peer_length = sizeof peer, local_length = sizeof local;
      if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) continue;
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0) continue;
      char host[INET6_ADDRSTRLEN] = {0};
      int peer_port = 0, local_port = 0;
      if (peer.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&peer);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        peer_port = ntohs(in->sin_port);
        local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
      } else if (peer.ss_family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        peer_port = ntohs(in6->sin6_port);
        local_port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
      } else {
        continue;
      }
      if (peer_port == req.remote_port && local_port == port_ && req.remote_addr == host) {
        linger hard{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        shutdown(fd, SHUT_RDWR);
        closedir(dir);
        return true;
      }
    }
    closedir(dir);
  }
  // Fallback: headers go out, then the body provider fails and the connection drops.
  res.set_content_provider(1, "application/json",
                           [](size_t, size_t, httplib::DataSink&) { return false; });
  return false;
}

bool EmulatorServer::authorize(const httplib::Request& req, httplib::Response& res,
                               std::string* token) {
  std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) {
    send_error(res, 401, "CDP_ETL.AUTH.UNAUTHORIZED", "missing bearer token");
    return false;
  }
  *token = header.substr(prefix.size());
  const char* code = nullptr;
  const char* message = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    bool known = config_.tokens.empty() || std::find(config_.tokens.begin(), config_.tokens.end(),
                                                     *token) != config_.tokens.end();
    if (!known) {
      code = "CDP_ETL.AUTH.TOKEN_INVALID";
      message = "token not recognised";
    } else {
      int64_t count = ++token_requests_[*token];
      auto rule = auth_rules_.find(*token);
      if (rule == auth_rules_.end()) rule = auth_rules_.find("*");
      bool expired = expired_tokens_.count(*token) > 0 || expired_tokens_.count("*") > 0;
      if (rule != auth_rules_.end()) {
        const AuthRule& r = rule->second;
        if (r.expire_after_requests >= 0 && count > r.expire_after_requests) expired = true;
        if (r.expire_at_ms >= 0 && clock_.now_ms() >= r.expire_at_ms) expired = true;
      }
      if (expired) {
        expired_tokens_.insert(*token);
        code = "CDP_ETL.AUTH.TOKEN_EXPIRED";
        message = "token expired";
      }
    }
  }
  if (code == nullptr) return true;
  send_error(res, 401, code, message);
  return false;
}

void EmulatorServer::handle_write(const httplib::Request& req, httplib::Response& res, WriteOp op) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    counters_.requests++;
  }
  Fault fault = faults_.next();
  if (fault.name != "ok") t_trace.fault = fault.name;
  if (fault.name != "ok") {
    std::lock_guard<std::mutex> lock(state_mutex_);
    counters_.faults[fault.name]++;
  }
  if (fault.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault.delay_ms));
  switch (fault.kind) {
    case FaultKind::kStatus:
      if (fault.status == 429) res.set_header("Retry-After", std::to_string(fault.retry_after_s));
      send_error(res, fault.status, fault_code(fault.status),
                 "injected fault: HTTP " + std::to_string(fault.status));
      return;
    case FaultKind::kResetBefore:
      reset_connection(req, res);
      return;
    case FaultKind::kTokenExpire: {
      std::string header = req.get_header_value("Authorization");
      if (header.size() > 7) {
        std::lock_guard<std::mutex> lock(state_mutex_);
        expired_tokens_.insert(header.substr(7));
      }
      send_error(res, 401, "CDP_ETL.AUTH.TOKEN_EXPIRED", "token expired");
      return;
    }
    case FaultKind::kNone:
    case FaultKind::kResetAfter:
      break;
  }
  std::string token;
  if (!authorize(req, res, &token)) return;
  process_write(req, res, op, token);
  if (fault.kind == FaultKind::kResetAfter) reset_connection(req, res);
}

void EmulatorServer::process_write(const httplib::Request& req, httplib::Response& res, WriteOp op,
                                   const std::string&) {
  const std::string object = req.matches[1];
  std::string content_type = req.get_header_value("Content-Type");
  if (content_type.compare(0, 16, "application/json") != 0) {
    send_error(res, 400, kInvalid, "Content-Type must be application/json", "headers.Content-Type",
               content_type);
    return;
  }
  std::string key = req.get_header_value("Idempotency-Key");
  if (req.has_header("Idempotency-Key") && !is_uuid_v4(key)) {
    send_error(res, 400, kInvalid, "Idempotency-Key must be a UUID v4", "headers.Idempotency-Key",
               key);
    return;
  }
  // Parse outside the lock: it is the expensive part of a batch.
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_object()) {
    auto records = body.find("records");
    if (records != body.end() && records->is_array()) {
      t_trace.records = records->size();
    } else if (body.contains("record")) {
      t_trace.records = 1;
    }
  }
  std::string body_hash = key.empty() ? std::string() : sha256_hex(req.path + "\n" + req.body);

  std::unique_lock<std::mutex> lock(state_mutex_);
  int64_t now = clock_.now_ms();
  if (!key.empty()) {
    if (const IdempotencyStore::Entry* stored = idempotency_.find(key, now)) {
      if (stored->body_hash == body_hash) {
        counters_.replays++;
        res.status = stored->status;
        res.set_header("Idempotent-Replayed", "true");
        nlohmann::json replay = nlohmann::json::parse(stored->body, nullptr, false);
        if (replay.is_object() && replay.contains("correlationId")) {
          res.set_header("x-correlation-id", replay["correlationId"].get<std::string>());
        }
        res.set_content(stored->body, kJsonType);
        return;
      }
      lock.unlock();
      // ASSUMED: the docs do not say what a reused key with another body does.
      send_error(res, 422, "CDP_ETL.IDEMPOTENCY.KEY_REUSED",
                 "Idempotency-Key was already used with a different request body",
                 "headers.Idempotency-Key", key);
      return;
    }
  }
  if (schema_.find(object) == nullptr) {
    lock.unlock();
    send_error(res, 404, "CDP_ETL.NOT_FOUND", "object '" + object + "' not found", "object",
               object);
    return;
  }
  if (body.is_discarded() || !body.is_object()) {
    lock.unlock();
    send_error(res, 400, kInvalid,
               body.is_discarded() ? "body is not valid JSON" : "body must be a JSON object",
               "body", nullptr);
    return;
  }
  int status = 200;
  nlohmann::json data, error;
  uint64_t applied = apply_write(op, object, body, key, &status, &data, &error);
  if (status >= 400) {
    lock.unlock();
    const nlohmann::json& details = error.contains("details") ? error["details"] : nlohmann::json();
    send_error(
        res, status, error["code"], error["message"],
        details.is_object() ? details.value("path", std::string()) : std::string(),
        details.is_object() && details.contains("value") ? details["value"] : nlohmann::json());
    return;
  }
  counters_.writes_applied += applied;
  if (applied > 0) counters_.batches_applied++;
  if (!key.empty() && applied > 0) {
    counters_.applications_by_idempotency_key[key]++;
    counters_.records_by_idempotency_key[key] += applied;
  }
  send_success(res, status, data);
  if (state_file_) state_file_->begin();
  store_.persist_changes();
  if (!key.empty()) {
    idempotency_.remember(key, IdempotencyStore::Entry{body_hash, status, res.body, now},
                          state_file_.get());
  }
  if (state_file_) state_file_->commit();
}

uint64_t EmulatorServer::apply_write(WriteOp op, const std::string& object,
                                     const nlohmann::json& body, const std::string& idempotency_key,
                                     int* status, nlohmann::json* data, nlohmann::json* error) {
  const ObjectSchema& spec = *schema_.find(object);
  const bool upsert = op == WriteOp::kUpsert || op == WriteOp::kUpsertBatch;
  const bool batch = op == WriteOp::kUpsertBatch || op == WriteOp::kAppendBatch;
  auto fail = [&](int code_status, const char* code, const std::string& path,
                  const std::string& rule, const nlohmann::json& value) {
    *status = code_status;
    *error = {{"code", code},
              {"message", path + ": " + rule},
              {"details", {{"path", path}, {"value", value}}}};
    return uint64_t{0};
  };
  std::string match_key;
  if (upsert) {
    auto it = body.find("matchKey");
    if (it == body.end() || !it->is_string()) {
      return fail(400, kInvalid, "matchKey", "matchKey is required and must be a string",
                  it == body.end() ? nlohmann::json() : *it);
    }
    match_key = it->get<std::string>();
    if (!spec.is_identity_key(match_key)) {
      return fail(400, kInvalid, "matchKey",
                  "'" + match_key + "' is not an identity key of " + object, match_key);
    }
  }
  std::vector<const nlohmann::json*> records;
  const char* container = batch ? "records" : "record";
  auto it = body.find(container);
  if (batch) {
    if (it == body.end() || !it->is_array()) {
      return fail(400, kInvalid, "records", "records is required and must be an array",
                  it == body.end() ? nlohmann::json() : *it);
    }
    if (it->empty() || it->size() > kMaxBatchRecords) {
      return fail(400, kInvalid, "records", "a batch holds 1 to 10000 records", it->size());
    }
    for (const auto& record : *it) records.push_back(&record);
  } else {
    if (it == body.end() || !it->is_object()) {
      return fail(400, kInvalid, "record", "record is required and must be an object",
                  it == body.end() ? nlohmann::json() : *it);
    }
    records.push_back(&*it);
  }

  std::vector<FieldError> errors(records.size());
  std::vector<bool> valid(records.size(), true);
  size_t first_invalid = records.size();
  for (size_t i = 0; i < records.size(); ++i) {
    std::string prefix = batch ? "records[" + std::to_string(i) + "]" : "record";
    bool ok = schema_.check_record(spec, *records[i], prefix, &errors[i]);
    if (ok && upsert) {
      auto value = records[i]->find(match_key);
      if (value == records[i]->end() || value->is_null()) {
        errors[i] = {400, kInvalid, prefix + "." + match_key + ": matchKey field is missing",
                     prefix + "." + match_key, nullptr};
        ok = false;
      }
    }
    valid[i] = ok;
    if (!ok && first_invalid == records.size()) first_invalid = i;
  }
  const bool per_record = batch && batch_mode_ == BatchMode::kResults;
  if (first_invalid < records.size() && !per_record) {
    const FieldError& e = errors[first_invalid];
    *status = e.status;
    *error = {{"code", e.code},
              {"message", e.message},
              {"details", {{"path", e.path}, {"value", e.value}}}};
    return 0;
  }
  int64_t now = clock_.now_ms();
  uint64_t applied = 0;
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < records.size(); ++i) {
    if (!valid[i]) {
      counters_.rejects[errors[i].code]++;
      if (t_trace.active) {
        t_trace.rejected.push_back({{"index", i},
                                    {"code", errors[i].code},
                                    {"message", errors[i].message},
                                    {"path", errors[i].path}});
      }
      if (per_record) {
        results.push_back(
            {{"index", i},
             {"status", "rejected"},
             {"error",
              {{"code", errors[i].code},
               {"message", errors[i].message},
               {"details", {{"path", errors[i].path}, {"value", errors[i].value}}}}}});
      }
      continue;
    }
    if (upsert) {
      store_.upsert(object, spec, *records[i], match_key, now, idempotency_key);
    } else {
      store_.append(object, *records[i], now, idempotency_key);
    }
    applied++;
    if (per_record) results.push_back({{"index", i}, {"status", "accepted"}});
  }
  *data = {{"operation", op_name(upsert)},
           {"objectName", object},
           {"accepted", applied > 0},
           {"acceptedAt", EmulatedClock::iso8601(now)},
           {"acceptedRecords", applied}};
  if (upsert) (*data)["matchKey"] = match_key;
  *status = 200;
  if (per_record) {
    (*data)["rejectedRecords"] = records.size() - applied;
    (*data)["results"] = std::move(results);
  } else if (batch && batch_mode_ == BatchMode::kJob) {
    std::string job_id = "job_" + std::to_string(next_job_++);
    (*data)["jobId"] = job_id;
    (*data)["status"] = "queued";
    jobs_[job_id] = {{"jobId", job_id},       {"objectName", object},
                     {"status", "completed"}, {"acceptedRecords", applied},
                     {"rejectedRecords", 0},  {"completedAt", EmulatedClock::iso8601(now)}};
    *status = 202;
  }
  return applied;
}

void EmulatorServer::handle_metadata(const httplib::Request& req, httplib::Response& res) {
  std::string token;
  if (!authorize(req, res, &token)) return;
  const std::string object = req.matches[1];
  std::unique_lock<std::mutex> lock(state_mutex_);
  if (schema_.find(object) == nullptr) {
    lock.unlock();
    send_error(res, 404, "CDP_ETL.NOT_FOUND", "object '" + object + "' not found", "object",
               object);
    return;
  }
  nlohmann::json data = schema_.object_metadata(object);
  lock.unlock();
  send_success(res, 200, data);
}

void EmulatorServer::handle_job(const httplib::Request& req, httplib::Response& res) {
  std::string token;
  if (!authorize(req, res, &token)) return;
  std::unique_lock<std::mutex> lock(state_mutex_);
  auto job = jobs_.find(req.matches[2]);
  if (job == jobs_.end()) {
    lock.unlock();
    send_error(res, 404, "CDP_ETL.NOT_FOUND", "job not found", "jobId", req.matches[2].str());
    return;
  }
  nlohmann::json data = job->second;
  lock.unlock();
  send_success(res, 200, data);
}

void EmulatorServer::reset_state() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  store_.clear();
  if (state_file_) state_file_->clear();
  idempotency_.clear();
  expired_tokens_.clear();
  auth_rules_.clear();
  token_requests_.clear();
  jobs_.clear();
  counters_ = Counters();
  schema_ = initial_schema_;
  batch_mode_ = config_.batch_mode;
  clock_.set_offset_ms(0);
  faults_.clear();
  log_.clear();
}

nlohmann::json EmulatorServer::counters_json() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return {{"requests", counters_.requests},
          {"writes_applied", counters_.writes_applied},
          {"records_applied", counters_.writes_applied},
          {"batches_applied", counters_.batches_applied},
          {"replays", counters_.replays},
          {"resets", counters_.resets},
          {"rejects", counters_.rejects},
          {"statuses", counters_.statuses},
          {"faults", counters_.faults},
          {"applications_by_idempotency_key", counters_.applications_by_idempotency_key},
          {"records_by_idempotency_key", counters_.records_by_idempotency_key},
          {"profiles", store_.profile_count("profiles")},
          {"events", store_.event_count()}};
}

}  // namespace emulator
}  // namespace experiture
