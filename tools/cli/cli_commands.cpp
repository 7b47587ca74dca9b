#include "cli_commands.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/ascii.hpp"
#include "token_source.hpp"

namespace experiture {
namespace cli {
namespace {

constexpr int64_t kPersistTimeoutMs = 30000;
constexpr int64_t kCloseTimeoutMs = 30000;
constexpr int64_t kProgressIntervalMs = 200;
constexpr size_t kDeadLetterListLimit = 100000;

void print_error(const std::string& message) {
  std::fprintf(stderr, "experiture-cli: %s\n", message.c_str());
}

// "1 record", "2 records".
std::string count_of(uint64_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// True when another connection holds the outbox's write lock right now (a probe that gives up
// at once; it never creates the file).
bool write_lock_held_elsewhere(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return false;
  }
  sqlite3_busy_timeout(db, 0);
  const int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

// While a command waits for the outbox, says so on stderr once: after kFirstNoticeMs when
// another process holds the outbox's lock. Stops (and joins) on destruction.
class LockWaitNotice {
 public:
  static constexpr int64_t kFirstNoticeMs = 1000;

  explicit LockWaitNotice(std::string path) : path_(std::move(path)) {
    thread_ = std::thread([this] { watch(); });
  }
  ~LockWaitNotice() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  LockWaitNotice(const LockWaitNotice&) = delete;
  LockWaitNotice& operator=(const LockWaitNotice&) = delete;

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto start = std::chrono::steady_clock::now();
    while (!done_) {
      if (wake_.wait_for(lock, std::chrono::milliseconds(kFirstNoticeMs),
                         [this] { return done_; })) {
        return;
      }
      if (write_lock_held_elsewhere(path_)) {
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::steady_clock::now() - start);
        std::fprintf(stderr,
                     "experiture-cli: waiting for %s: another process (an app or a drain) holds "
                     "its lock; waited %lld s so far, continuing\n",
                     path_.c_str(), static_cast<long long>(waited.count()));
        std::fflush(stderr);
        return;
      }
    }
  }

  std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

ExitCode exit_code_for(const Status& status) {
  const int code = static_cast<int>(status.code());
  if (code >= static_cast<int>(Code::kInvalidArgument) &&
      code <= static_cast<int>(Code::kTimestampWithoutZone)) {
    return ExitCode::kRejected;
  }
  if (status.code() == Code::kInvalidConfig) return ExitCode::kUsage;
  return ExitCode::kFailure;
}

ExitCode fail(const Status& status) {
  print_error(status.to_string());
  return exit_code_for(status);
}

// An open client plus its token source. Manual mode: the CLI has no use for SDK threads, and
// every waiting call pumps on this thread.
struct Session {
  std::unique_ptr<Client> client;
  std::shared_ptr<TokenSource> tokens;
};

// The whole content of `path`, or a kInvalidConfig status naming `option`.
Result<std::string> read_secret_file(const std::string& path, const char* option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kInvalidConfig, std::string(option) + ": cannot read " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// --key-file: exactly 32 bytes, or 64 hex digits (white space around ignored).
Result<std::string> read_key_file(const std::string& path) {
  auto content = read_secret_file(path, "--key-file");
  if (!content.is_ok()) return content.status();
  std::string raw = std::move(content).value();
  if (raw.size() == 32) return raw;
  const std::string hex(text::trim(raw, " \t\r\n"));
  const auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string key;
  if (hex.size() == 64) {
    for (size_t i = 0; i < 64; i += 2) {
      const int high = nibble(hex[i]);
      const int low = nibble(hex[i + 1]);
      if (high < 0 || low < 0) break;
      key.push_back(static_cast<char>(high * 16 + low));
    }
  }
  if (key.size() != 32) {
    return Status(Code::kInvalidConfig,
                  "--key-file: must hold exactly 32 bytes or 64 hex digits (" + path + ")");
  }
  return key;
}

Result<Session> open_session(const CliOptions& options) {
  Session session;
  std::string token = options.token;
  if (!options.token_file.empty()) {
    auto read = read_secret_file(options.token_file, "--token-file");
    if (!read.is_ok()) return read.status();
    token = std::string(text::trim(read.value(), " \t\r\n"));
    if (token.empty()) {
      return Status(Code::kInvalidConfig,
                    "--token-file: the file is empty (" + options.token_file + ")");
    }
  }
  session.tokens = std::make_shared<TokenSource>(token, options.token_command);
  Config config;
  config.storage_path = options.db_path;
  config.endpoint = options.endpoint;
  config.manual_mode = true;
  config.tls.ca_bundle_path = options.ca_file;
  for (const std::string& pin : options.pins) {
    config.tls.pinned_public_keys += (config.tls.pinned_public_keys.empty() ? "" : ";") + pin;
  }
  if (!options.key_file.empty()) {
    auto key = read_key_file(options.key_file);
    if (!key.is_ok()) return key.status();
    config.encryption_key = std::move(key).value();
  }
  if (!token.empty() || !options.token_command.empty()) {
    config.token_provider = TokenSource::provider(session.tokens);
  }
  auto opened = Client::open(std::move(config));
  if (!opened.is_ok()) return opened.status();
  session.client = std::move(opened).value();
  return session;
}

// Ends a command that wrote: waits until the writes are durable, then closes.
ExitCode finish_durably(Client& client) {
  Status status = client.persist(kPersistTimeoutMs);
  if (!status.is_ok()) return fail(status);
  status = client.close(kCloseTimeoutMs);
  if (!status.is_ok()) return fail(status);
  return ExitCode::kOk;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "2026-12-02T05:39:07Z (12 s ago)" / "in 3 s"; "never" for 0.
std::string when(int64_t at_ms) {
  if (at_ms <= 0) return "never";
  const std::time_t seconds = static_cast<std::time_t>(at_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t delta_s = (now - at_ms) / 1000;
  return std::string(text) + (delta_s >= 0 ? " (" + std::to_string(delta_s) + " s ago)"
                                           : " (in " + std::to_string(-delta_s) + " s)");
}

nlohmann::json time_or_null(int64_t at_ms) {
  return at_ms > 0 ? nlohmann::json(at_ms) : nlohmann::json();
}

nlohmann::json stats_json(const Stats& s) {
  return {
      {"device_id", s.device_id},
      {"last_delivery_error",
       {{"message", s.last_delivery_error}, {"at_ms", time_or_null(s.last_delivery_error_at_ms)}}},
      {"last_storage_error",
       {{"message", s.last_storage_error}, {"at_ms", time_or_null(s.last_storage_error_at_ms)}}},
      {"last_pause_reason", s.last_pause_reason},
      {"consecutive_failures", s.consecutive_failures},
      {"next_attempt_at_ms", time_or_null(s.next_attempt_at_ms)},
      {"last_success_at_ms", time_or_null(s.last_success_at_ms)},
      {"queued", s.queued_records},
      {"queued_bytes", s.queued_bytes},
      {"oldest_queued_age_ms", s.oldest_queued_age_ms},
      {"pending_durable", s.pending_durable},
      {"in_flight", s.in_flight},
      {"dead_letters", s.dead_letters},
      {"pause_reason", s.pause_reason},
      {"delivery_owner_pid", s.delivery_owner_pid},
      {"last_error", s.last_error},
      {"consent", s.consent == Consent::kGranted  ? "granted"
                  : s.consent == Consent::kDenied ? "denied"
                                                  : "unknown"},
      {"dropped",
       {{"queue_full", s.dropped_queue_full},
        {"evicted", s.dropped_evicted},
        {"consent", s.dropped_consent},
        {"dead_letter_overflow", s.dropped_dead_letter_overflow}}},
      {"damage",
       {{"salvaged", s.damage_salvaged}, {"lost", s.damage_lost}, {"last", s.last_damage}}}};
}

ExitCode run_status(Client& client, bool json) {
  const Stats s = client.stats();
  if (json) {
    std::printf("%s\n", stats_json(s).dump(2).c_str());
  } else {
    std::printf("device_id     %s\n", s.device_id.c_str());
    std::printf("queued        %s, %llu bytes, oldest %lld s\n",
                count_of(s.queued_records, "record").c_str(),
                static_cast<unsigned long long>(s.queued_bytes),
                static_cast<long long>(s.oldest_queued_age_ms / 1000));
    std::printf("in flight     %llu\n", static_cast<unsigned long long>(s.in_flight));
    std::printf("dead letters  %llu\n", static_cast<unsigned long long>(s.dead_letters));
    std::printf("paused        %s\n", s.pause_reason.empty() ? "no" : s.pause_reason.c_str());
    if (s.delivery_owner_pid != 0) {
      std::printf("delivery: another process (pid %lld) is delivering\n",
                  static_cast<long long>(s.delivery_owner_pid));
    }
    std::printf("last error    %s\n", s.last_error.empty() ? "none" : s.last_error.c_str());
    // Kept in the outbox: what the last process that delivered (or tried to) met.
    std::printf("delivery      last success %s; %s\n", when(s.last_success_at_ms).c_str(),
                count_of(s.consecutive_failures, "failed attempt").c_str());
    if (!s.last_delivery_error.empty()) {
      std::printf("  last error  %s at %s\n", s.last_delivery_error.c_str(),
                  when(s.last_delivery_error_at_ms).c_str());
    }
    if (!s.last_pause_reason.empty() &&
        s.last_pause_reason.find(s.last_delivery_error) == std::string::npos) {
      std::printf("  waiting     %s\n", s.last_pause_reason.c_str());
    }
    if (s.next_attempt_at_ms > 0) {
      std::printf("  next try    %s\n", when(s.next_attempt_at_ms).c_str());
    }
    std::printf("storage       %s%s%s\n",
                s.last_storage_error.empty() ? "no error" : s.last_storage_error.c_str(),
                s.last_storage_error.empty() ? "" : " at ",
                s.last_storage_error.empty() ? "" : when(s.last_storage_error_at_ms).c_str());
    std::printf(
        "dropped       %llu queue full, %llu evicted, %llu consent, %llu dead-letter overflow\n",
        static_cast<unsigned long long>(s.dropped_queue_full),
        static_cast<unsigned long long>(s.dropped_evicted),
        static_cast<unsigned long long>(s.dropped_consent),
        static_cast<unsigned long long>(s.dropped_dead_letter_overflow));
    // Kept in the outbox: what damage to the file cost, over its life.
    if (s.last_damage.empty()) {
      std::printf("damage        none found\n");
    } else {
      std::printf("damage        salvaged %llu queued writes, lost %llu; last: %s\n",
                  static_cast<unsigned long long>(s.damage_salvaged),
                  static_cast<unsigned long long>(s.damage_lost), s.last_damage.c_str());
    }
  }
  return ExitCode::kOk;
}

ExitCode run_dead_letters(Client& client, bool json) {
  auto letters = client.dead_letters(kDeadLetterListLimit);
  if (!letters.is_ok()) return fail(letters.status());
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : letters.value()) {
      nlohmann::json record = nlohmann::json::parse(d.record, nullptr, false);
      list.push_back({{"id", d.id},
                      {"object", d.object},
                      {"match_key", d.match_key},
                      {"record", record.is_discarded() ? nlohmann::json(d.record) : record},
                      {"http_status", d.http_status},
                      {"code", d.code},
                      {"message", d.message},
                      {"correlation_id", d.correlation_id},
                      {"failed_at_ms", d.failed_at_ms}});
    }
    std::printf("%s\n", list.dump(2).c_str());
    return ExitCode::kOk;
  }
  if (letters.value().empty()) std::printf("no dead letters\n");
  for (const auto& d : letters.value()) {
    std::printf("#%lld %s%s%s: HTTP %d %s: %s\n  %s\n", static_cast<long long>(d.id),
                d.object.c_str(), d.match_key.empty() ? "" : " by ", d.match_key.c_str(),
                d.http_status, d.code.c_str(), d.message.c_str(), d.record.c_str());
  }
  return ExitCode::kOk;
}

ExitCode run_dead_letters_change(Client& client, bool retry) {
  const uint64_t before = client.stats().dead_letters;
  Status status = retry ? client.retry_dead_letters() : client.purge_dead_letters();
  if (!status.is_ok()) return fail(status);
  std::printf("%s %llu dead letters\n", retry ? "re-queued" : "purged",
              static_cast<unsigned long long>(before));
  return finish_durably(client);
}

// The progress line: delivered / total, rate, and why delivery waits, if it does.
void print_progress(const Stats& s, uint64_t dead_letters_before, int64_t elapsed_ms) {
  const uint64_t dead_lettered =
      s.dead_letters > dead_letters_before ? s.dead_letters - dead_letters_before : 0;
  const uint64_t total = s.delivered + dead_lettered + s.queued_records;
  const double rate = elapsed_ms > 0 ? 1000.0 * static_cast<double>(s.delivered) / elapsed_ms : 0;
  std::printf("\rdelivered %llu/%llu  %.0f records/s%s%s\x1b[K",
              static_cast<unsigned long long>(s.delivered), static_cast<unsigned long long>(total),
              rate, s.pause_reason.empty() ? "" : "  waiting: ", s.pause_reason.c_str());
  std::fflush(stdout);
}

ExitCode run_drain(Session& session, double timeout_s) {
  Client& client = *session.client;
  const bool progress = ::isatty(STDOUT_FILENO) == 1;
  const uint64_t dead_letters_before = client.stats().dead_letters;
  const int64_t start = now_ms();
  const int64_t deadline = start + static_cast<int64_t>(timeout_s * 1000.0);
  std::string reported_error = client.stats().last_error;  // from an earlier run: not news
  Status status;
  for (;;) {
    const int64_t remaining = std::max<int64_t>(0, deadline - now_ms());
    status = client.flush(progress ? std::min(remaining, kProgressIntervalMs) : remaining);
    if (progress) {
      const Stats now = client.stats();
      print_progress(now, dead_letters_before, now_ms() - start);
      if (!now.last_error.empty() && now.last_error != reported_error) {
        // The first failure (and each new one) at once, on its own line; the retries go on.
        std::printf("\n");
        print_error("delivery failed: " + now.last_error + "; retrying until --timeout");
        reported_error = now.last_error;
      }
    }
    if (status.code() != Code::kTimeout || now_ms() >= deadline) break;
  }
  if (progress) std::printf("\n");
  const Stats s = client.stats();
  const uint64_t dead_lettered =
      s.dead_letters > dead_letters_before ? s.dead_letters - dead_letters_before : 0;
  const double elapsed_s = static_cast<double>(now_ms() - start) / 1000.0;
  const double rate = elapsed_s > 0 ? static_cast<double>(s.delivered) / elapsed_s : 0;
  if (status.is_ok()) {
    std::printf("drained: %s delivered, %llu dead-lettered in %.1f s (%.0f records/s)\n",
                count_of(s.delivered, "record").c_str(),
                static_cast<unsigned long long>(dead_lettered), elapsed_s, rate);
    Status closed = client.close(kCloseTimeoutMs);
    if (!closed.is_ok()) return fail(closed);
    if (dead_lettered > 0) {
      print_error("the server rejected " + count_of(dead_lettered, "record") +
                  ": see 'experiture-cli dead-letters'");
      return ExitCode::kDeadLettered;
    }
    return ExitCode::kOk;
  }
  std::printf("stopped: %s delivered in %.1f s (%.0f records/s)\n",
              count_of(s.delivered, "record").c_str(), elapsed_s, rate);
  client.close(kCloseTimeoutMs);
  switch (status.code()) {
    case Code::kTimeout:
      print_error("drain timed out with " + count_of(s.queued_records, "record") + " still queued" +
                  (s.pause_reason.empty() ? std::string() : " (" + s.pause_reason + ")") +
                  (s.last_error.empty() ? std::string() : "; last error: " + s.last_error));
      return ExitCode::kTimeout;
    case Code::kPaused:
      // A refused token the token source cannot replace reads "unauthorized (401): the server
      // refused the token ..." in the SDK's own pause reason.
      print_error(status.message() +
                  (s.last_error.empty() ? std::string() : "; last error: " + s.last_error));
      return ExitCode::kPaused;
    default:
      return fail(status);
  }
}

// One line of an import: what to call, or why the line is not usable.
struct ImportLine {
  std::string object;
  std::string match_key;  // "" = append
  std::string record;     // JSON text of the record
};

bool parse_import_line(const std::string& text, const CliOptions& options, ImportLine* out,
                       std::string* error) {
  if (!options.import_object.empty()) {
    out->object = options.import_object;
    out->match_key = options.import_match_key;
    out->record = text;  // the SDK validates it and names the field and rule
    return true;
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error =
        "not a JSON object (without --object each line is {\"object\",\"record\",\"matchKey\"})";
    return false;
  }
  auto object = doc.find("object");
  auto record = doc.find("record");
  if (object == doc.end() || !object->is_string() || record == doc.end()) {
    *error = "an envelope needs \"object\" (a string) and \"record\"";
    return false;
  }
  auto match_key = doc.find("matchKey");
  if (match_key != doc.end() && !match_key->is_string()) {
    *error = "\"matchKey\" must be a string";
    return false;
  }
  out->object = object->get<std::string>();
  out->match_key = match_key == doc.end() ? std::string() : match_key->get<std::string>();
  out->record = record->dump();
  return true;
}

ExitCode run_import(Client& client, const CliOptions& options) {
  constexpr size_t kListedRejections = 20;
  const bool progress = ::isatty(STDERR_FILENO) == 1;
  const int64_t start = now_ms();
  int64_t last_progress = start;
  uint64_t line_number = 0, accepted = 0;
  std::vector<uint64_t> rejected;
  std::string text;
  while (std::getline(std::cin, text)) {
    ++line_number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ImportLine line;
    std::string error;
    Status status;
    if (parse_import_line(text, options, &line, &error)) {
      for (;;) {
        status = line.match_key.empty()
                     ? client.append(line.object, std::string_view(line.record))
                     : client.upsert(line.object, std::string_view(line.record), line.match_key);
        if (status.code() != Code::kQueueFull) break;
        // The ingress queue is full: let the store commit it, then offer the line again.
        Status persisted = client.persist(kPersistTimeoutMs);
        if (!persisted.is_ok()) return fail(persisted);
      }
      if (!status.is_ok() && exit_code_for(status) != ExitCode::kRejected) return fail(status);
      if (!status.is_ok()) error = status.to_string();
    }
    if (error.empty()) {
      ++accepted;
    } else {
      rejected.push_back(line_number);
      if (rejected.size() <= kListedRejections) {
        if (progress) std::fprintf(stderr, "\r\x1b[K");
        std::fprintf(stderr, "experiture-cli: line %llu rejected: %s\n",
                     static_cast<unsigned long long>(line_number), error.c_str());
      }
    }
    if (progress && (line_number == 1 || now_ms() - last_progress >= kProgressIntervalMs)) {
      last_progress = now_ms();
      std::fprintf(stderr, "\rimporting: line %llu, %llu accepted, %zu rejected\x1b[K",
                   static_cast<unsigned long long>(line_number),
                   static_cast<unsigned long long>(accepted), rejected.size());
      std::fflush(stderr);
    }
  }
  if (progress) std::fprintf(stderr, "\r\x1b[K");
  Status persisted = client.persist(kPersistTimeoutMs);
  if (!persisted.is_ok()) return fail(persisted);
  const double elapsed_s = static_cast<double>(now_ms() - start) / 1000.0;
  std::printf("imported: %s accepted, %llu rejected, in %.1f s\n",
              count_of(accepted, "line").c_str(), static_cast<unsigned long long>(rejected.size()),
              elapsed_s);
  if (!rejected.empty()) {
    std::string lines;
    for (size_t i = 0; i < rejected.size() && i < kListedRejections; ++i) {
      lines += (i == 0 ? "" : ", ") + std::to_string(rejected[i]);
    }
    if (rejected.size() > kListedRejections) {
      lines += " and " + std::to_string(rejected.size() - kListedRejections) + " more";
    }
    std::printf("rejected lines: %s\n", lines.c_str());
  }
  Status closed = client.close(kCloseTimeoutMs);
  if (!closed.is_ok()) return fail(closed);
  return rejected.empty() ? ExitCode::kOk : ExitCode::kRejected;
}

}  // namespace

ExitCode run_cli_command(const CliOptions& options) {
  if (options.command == Command::kHelp) {
    std::fputs(options.help_topic.empty() ? cli_usage() : cli_command_help(options.help_topic),
               stdout);
    return ExitCode::kOk;
  }
  if (options.command == Command::kVersion) {
    std::printf("experiture-cli %s (Experiture SDK %s, SQLite %s)\n", sdk_version(), sdk_version(),
                sqlite3_libversion());
    return ExitCode::kOk;
  }
  // Says so when the command waits on another process's lock on the outbox.
  LockWaitNotice lock_notice(options.db_path);
  auto opened = open_session(options);
  if (!opened.is_ok()) return fail(opened.status());
  Session session = std::move(opened).value();
  Client& client = *session.client;
  // Only drain talks to the network; every other command leaves delivery to a later drain.
  if (options.command != Command::kDrain) client.pause();
  Status status;
  switch (options.command) {
    case Command::kUpsert:
      // string_view picks the JSON-text overload (std::string would also convert to json).
      status = client.upsert(options.args[0], std::string_view(options.args[2]), options.args[1]);
      break;
    case Command::kAppend:
      status = client.append(options.args[0], std::string_view(options.args[1]));
      break;
    case Command::kLogin:
      status = client.login(options.login);
      break;
    case Command::kLogout:
      status = client.logout();
      break;
    case Command::kPushToken:
      status = client.set_push_token(options.args[0]);
      break;
    case Command::kDrain:
      return run_drain(session, options.timeout_s);
    case Command::kImport:
      return run_import(client, options);
    case Command::kStatus:
      return run_status(client, options.json);
    case Command::kDeadLetters:
      return run_dead_letters(client, options.json);
    case Command::kDeadLettersRetry:
      return run_dead_letters_change(client, true);
    case Command::kDeadLettersPurge:
      return run_dead_letters_change(client, false);
    case Command::kHelp:
    case Command::kVersion:
      break;
  }
  if (!status.is_ok()) {
    client.close(kCloseTimeoutMs);
    return fail(status);
  }
  return finish_durably(client);
}

}  // namespace cli
}  // namespace experiture
