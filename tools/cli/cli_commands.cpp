#include "cli_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

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

Result<Session> open_session(const CliOptions& options) {
  Session session;
  session.tokens = std::make_shared<TokenSource>(options.token, options.token_command);
  Config config;
  config.storage_path = options.db_path;
  config.endpoint = options.endpoint;
  config.manual_mode = true;
  if (!options.token.empty() || !options.token_command.empty()) {
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

nlohmann::json stats_json(const Stats& s) {
  return {{"device_id", s.device_id},
          {"queued", s.queued_records},
          {"queued_bytes", s.queued_bytes},
          {"oldest_queued_age_ms", s.oldest_queued_age_ms},
          {"pending_durable", s.pending_durable},
          {"in_flight", s.in_flight},
          {"dead_letters", s.dead_letters},
          {"pause_reason", s.pause_reason},
          {"last_error", s.last_error},
          {"consent", s.consent == Consent::kGranted  ? "granted"
                      : s.consent == Consent::kDenied ? "denied"
                                                      : "unknown"},
          {"dropped",
           {{"queue_full", s.dropped_queue_full},
            {"evicted", s.dropped_evicted},
            {"consent", s.dropped_consent},
            {"dead_letter_overflow", s.dropped_dead_letter_overflow}}}};
}

ExitCode run_status(Client& client, bool json) {
  const Stats s = client.stats();
  if (json) {
    std::printf("%s\n", stats_json(s).dump(2).c_str());
  } else {
    std::printf("device_id     %s\n", s.device_id.c_str());
    std::printf("queued        %llu records, %llu bytes, oldest %lld s\n",
                static_cast<unsigned long long>(s.queued_records),
                static_cast<unsigned long long>(s.queued_bytes),
                static_cast<long long>(s.oldest_queued_age_ms / 1000));
    std::printf("in flight     %llu\n", static_cast<unsigned long long>(s.in_flight));
    std::printf("dead letters  %llu\n", static_cast<unsigned long long>(s.dead_letters));
    std::printf("paused        %s\n", s.pause_reason.empty() ? "no" : s.pause_reason.c_str());
    std::printf("last error    %s\n", s.last_error.empty() ? "none" : s.last_error.c_str());
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
  Status status;
  for (;;) {
    const int64_t remaining = std::max<int64_t>(0, deadline - now_ms());
    status = client.flush(progress ? std::min(remaining, kProgressIntervalMs) : remaining);
    if (progress) print_progress(client.stats(), dead_letters_before, now_ms() - start);
    if (status.code() != Code::kTimeout || now_ms() >= deadline) break;
  }
  if (progress) std::printf("\n");
  const Stats s = client.stats();
  const uint64_t dead_lettered =
      s.dead_letters > dead_letters_before ? s.dead_letters - dead_letters_before : 0;
  if (status.is_ok()) {
    std::printf("drained: %llu records delivered, %llu dead-lettered\n",
                static_cast<unsigned long long>(s.delivered),
                static_cast<unsigned long long>(dead_lettered));
    Status closed = client.close(kCloseTimeoutMs);
    return closed.is_ok() ? ExitCode::kOk : fail(closed);
  }
  client.close(kCloseTimeoutMs);
  switch (status.code()) {
    case Code::kTimeout:
      print_error("drain timed out with " + std::to_string(s.queued_records) +
                  " records still queued" +
                  (s.pause_reason.empty() ? std::string() : " (" + s.pause_reason + ")") +
                  (s.last_error.empty() ? std::string() : "; last error: " + s.last_error));
      return ExitCode::kTimeout;
    case Code::kPaused:
      print_error(
          status.message() +
          (session.tokens->exhausted() ? " (the server refused the token: 401)" : std::string()) +
          (s.last_error.empty() ? std::string() : "; last error: " + s.last_error));
      return ExitCode::kPaused;
    default:
      return fail(status);
  }
}

}  // namespace

ExitCode run_cli_command(const CliOptions& options) {
  if (options.command == Command::kHelp) {
    std::fputs(cli_usage(), stdout);
    return ExitCode::kOk;
  }
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
    case Command::kStatus:
      return run_status(client, options.json);
    case Command::kDeadLetters:
      return run_dead_letters(client, options.json);
    case Command::kDeadLettersRetry:
      return run_dead_letters_change(client, true);
    case Command::kDeadLettersPurge:
      return run_dead_letters_change(client, false);
    case Command::kHelp:
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
