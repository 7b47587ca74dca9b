// Diagnostics that survive the process: what a drain met is kept in the outbox and shown by
// `status` in a later process (text and --json), with storage errors kept apart.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "faulty_vfs.hpp"
#include "temp_dir.hpp"

using experiture::test::CliRunner;
using experiture::test::EmulatorProcess;
using experiture::test::FaultyVfs;
using experiture::test::ProcessResult;
using experiture::test::TempDir;

namespace {

// A loopback port nothing listens on (bound, then closed).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

constexpr const char* kSetpriv = "/usr/bin/setpriv";

nlohmann::json status_of(const CliRunner& cli) {
  ProcessResult r = cli.run({"status", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

// Overwrites `length` bytes at `offset` with zeros.
void zero_bytes(const std::string& path, uint64_t offset, uint64_t length) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.good());
  const std::string zeros(length, '\0');
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
}

}  // namespace

TEST_CASE("status in another process shows the writes salvaged and lost from a damaged outbox",
          "[cli][integration]") {
  TempDir dir;
  const std::string db = dir.file("outbox.db");
  const std::string unreachable =
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/public/v1";
  CliRunner cli(EXPERITURE_CLI_PATH, {"--db", db, "--endpoint", unreachable});
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  {
    std::ofstream lines(dir.file("events.ndjson"));
    for (int i = 0; i < 400; ++i) {
      lines << R"({"event":"scan","sequence":)" << i << R"(,"pad":")" << std::string(120, 'p')
            << "\"}\n";
    }
  }
  cli.set_stdin_file(dir.file("events.ndjson"));
  ProcessResult imported = cli.run({"import", "--object", "events"});
  INFO(imported.out << imported.err);
  REQUIRE(imported.exit_code == 0);
  cli.set_stdin_file("");
  nlohmann::json before = status_of(cli);
  const uint64_t queued = before["queued"];
  REQUIRE(queued == 401);  // the events and the anonymous profile
  CHECK(before["damage"]["salvaged"] == 0);
  CHECK(before["damage"]["last"] == "");

  // The header and a page in the middle overwritten: the next process to open the file (an
  // app's write here) moves it aside and salvages what is readable.
  constexpr uint64_t kPage = 4096;
  const uint64_t pages = std::filesystem::file_size(db) / kPage;
  REQUIRE(pages > 8);
  zero_bytes(db, 0, 100);
  zero_bytes(db, (pages / 2) * kPage, kPage);
  ProcessResult app = cli.run({"upsert", "profiles", "email", R"({"email":"after@example.com"})"});
  INFO(app.out << app.err);
  REQUIRE(app.exit_code == 0);

  nlohmann::json status = status_of(cli);
  INFO(status.dump(2));
  const uint64_t salvaged = status["damage"]["salvaged"];
  const uint64_t lost = status["damage"]["lost"];
  CHECK(salvaged > 0);
  CHECK(lost > 0);  // the rows on the zeroed page
  CHECK(salvaged + lost == queued);
  CHECK(status["queued"].get<uint64_t>() == salvaged + 1);  // and the write made after
  const std::string last = status["damage"]["last"];
  CHECK(last.find("not an SQLite database") != std::string::npos);
  CHECK(last.find("moved to " + db) != std::string::npos);

  ProcessResult text = cli.run({"status"});
  INFO(text.out);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("damage        salvaged " + std::to_string(salvaged) +
                      " queued writes, lost " + std::to_string(lost) + "; last: ") !=
        std::string::npos);
}

TEST_CASE("status in another process shows STORAGE_FULL while the app's disk is still full",
          "[cli][integration]") {
  TempDir dir;
  const std::string db = dir.file("outbox.db");
  FaultyVfs vfs;
  experiture::Config config;
  config.storage_path = db;
  config.endpoint = "http://127.0.0.1:" + std::to_string(closed_port()) + "/public/v1";
  config.token = "test-token";
  config.manual_mode = true;
  config.sqlite_vfs = vfs.name();
  auto opened = experiture::Client::open(config);
  REQUIRE(opened.is_ok());
  auto app = std::move(opened).value();
  REQUIRE(app->append("events", R"({"event":"before"})").is_ok());
  REQUIRE(app->persist(5000).is_ok());

  vfs.arm(FaultyVfs::Operation::kWrite, 0);  // the disk is full from here on
  REQUIRE(app->append("events", R"({"event":"during"})").is_ok());
  CHECK(app->persist(300).code() == experiture::Code::kTimeout);
  REQUIRE(app->stats().last_storage_error.rfind("STORAGE_FULL", 0) == 0);

  CliRunner cli(EXPERITURE_CLI_PATH, {"--db", db});
  nlohmann::json status = status_of(cli);
  INFO(status.dump(2));
  const std::string storage = status["last_storage_error"]["message"];
  CHECK(storage.rfind("STORAGE_FULL", 0) == 0);
  CHECK(status["last_storage_error"]["at_ms"].is_number());
  CHECK(status["last_error"] == storage);
  ProcessResult text = cli.run({"status"});
  CHECK(text.out.find("storage       STORAGE_FULL") != std::string::npos);
  CHECK(vfs.failures(FaultyVfs::Operation::kWrite) > 0);  // the fault was still armed
  struct stat st {};
  REQUIRE(::stat((db + ".diag").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  vfs.disarm_all();
  CHECK(app->persist(10000).is_ok());
  CHECK(app->close(5000).is_ok());
}

TEST_CASE("status in another process shows the app's drops by cause", "[cli][integration]") {
  TempDir dir;
  const std::string db = dir.file("outbox.db");
  uint64_t dropped_consent = 0;
  {
    experiture::Config config;
    config.storage_path = db;
    config.endpoint = "http://127.0.0.1:" + std::to_string(closed_port()) + "/public/v1";
    config.token = "test-token";
    config.manual_mode = true;  // nothing commits the ingress queue until pump()
    config.ingress_capacity = 2;
    auto opened = experiture::Client::open(config);
    REQUIRE(opened.is_ok());
    auto app = std::move(opened).value();
    REQUIRE(app->pump().is_ok());
    int refused = 0;
    for (int i = 0; i < 5; ++i) {
      const auto written = app->append("events", R"({"event":"scan"})");
      refused += written.code() == experiture::Code::kQueueFull ? 1 : 0;
    }
    REQUIRE(refused == 3);
    REQUIRE(app->pump().is_ok());
    REQUIRE(app->set_consent(experiture::Consent::kDenied).is_ok());  // drops what is queued
    REQUIRE(app->pump().is_ok());
    REQUIRE(app->close(5000).is_ok());
    REQUIRE(app->stats().dropped_queue_full == 3);
    dropped_consent = app->stats().dropped_consent;
    REQUIRE(dropped_consent >= 2);  // the two queued events, and the anonymous profile
  }

  CliRunner cli(EXPERITURE_CLI_PATH, {"--db", db});
  nlohmann::json status = status_of(cli);
  INFO(status.dump(2));
  CHECK(status["dropped"]["queue_full"] == 3);
  CHECK(status["dropped"]["consent"] == dropped_consent);
  CHECK(status["dropped"]["evicted"] == 0);
  CHECK(status["dropped"]["dead_letter_overflow"] == 0);
  ProcessResult text = cli.run({"status"});
  INFO(text.out);
  CHECK(text.out.find("dropped       3 queue full, 0 evicted, " + std::to_string(dropped_consent) +
                      " consent, 0 dead-letter overflow") != std::string::npos);
}

TEST_CASE("a host name that does not resolve reads as a DNS failure naming the host",
          "[cli][integration]") {
  // A 64-byte label is longer than DNS allows: the system resolver refuses the name without
  // sending a query, so the lookup fails on this machine and nothing leaves it.
  const std::string host = std::string(64, 'a') + ".invalid";
  TempDir dir;
  CliRunner cli(EXPERITURE_CLI_PATH,
                {"--db", dir.file("outbox.db"), "--endpoint", "https://" + host + "/public/v1"});
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  REQUIRE(cli.run({"upsert", "profiles", "email", R"({"email":"dns@example.com"})"}).exit_code ==
          0);
  ProcessResult drained = cli.run({"drain", "--timeout", "1"});
  INFO(drained.out << drained.err);
  REQUIRE(drained.exit_code == 4);

  nlohmann::json status = status_of(cli);
  INFO(status.dump(2));
  const std::string error = status["last_delivery_error"]["message"];
  CHECK(error.find("NETWORK.DNS") != std::string::npos);
  CHECK(error.find(" to " + host + " (") != std::string::npos);  // names the host
  CHECK(error.find("DNS failure") != std::string::npos);         // and the kind
  CHECK(error.find("test-token") == std::string::npos);
}

TEST_CASE("status in a new process shows why the last drain could not deliver",
          "[cli][integration]") {
  TempDir dir;
  const std::string unreachable =
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/public/v1";
  CliRunner down(EXPERITURE_CLI_PATH, {"--db", dir.file("outbox.db"), "--endpoint", unreachable});
  down.set_env("EXPERITURE_TOKEN", "test-token");
  REQUIRE(down.run({"upsert", "profiles", "email", R"({"email":"stuck@example.com"})"}).exit_code ==
          0);
  ProcessResult drained = down.run({"drain", "--timeout", "1"});
  INFO(drained.out << drained.err);
  REQUIRE(drained.exit_code == 4);

  ProcessResult text = down.run({"status"});
  INFO(text.out);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("last error    none") == std::string::npos);
  CHECK(text.out.find("NETWORK") != std::string::npos);
  CHECK(text.out.find("last success never") != std::string::npos);
  CHECK(text.out.find("failed attempt") != std::string::npos);
  CHECK(text.out.find("storage       no error") != std::string::npos);

  nlohmann::json status = status_of(down);
  INFO(status.dump(2));
  CHECK(status["queued"] == 2);
  const std::string error = status["last_delivery_error"]["message"];
  CHECK(error.find("NETWORK.CONNECT") != std::string::npos);
  CHECK(error.find(" to 127.0.0.1:") != std::string::npos);     // names the host
  CHECK(error.find("could not connect") != std::string::npos);  // and the kind
  CHECK(status["last_delivery_error"]["at_ms"].is_number());
  CHECK(status["consecutive_failures"].get<int>() >= 1);
  CHECK_FALSE(status["last_pause_reason"].get<std::string>().empty());
  CHECK(status["last_success_at_ms"].is_null());
  // next_attempt_at_ms is set while a backoff runs (0 once it has run out: the retry, drawn from
  // [0, 1 s] by full jitter, may have come due just before the 1 s drain stopped); the text
  // shows it exactly when it is set.
  if (status["next_attempt_at_ms"].is_number() && status["next_attempt_at_ms"].get<int64_t>() > 0) {
    CHECK(status["next_attempt_at_ms"].get<int64_t>() >=
          status["last_delivery_error"]["at_ms"].get<int64_t>());
    CHECK(text.out.find("  next try    ") != std::string::npos);
  } else {
    CHECK(text.out.find("  next try    ") == std::string::npos);
  }
  CHECK(status["last_storage_error"]["message"] == "");
  CHECK(status["last_error"] == status["last_delivery_error"]["message"]);

  // The next drain that delivers records its success and clears the failure count.
  EmulatorProcess emulator;
  CliRunner up(EXPERITURE_CLI_PATH,
               {"--db", dir.file("outbox.db"), "--endpoint", emulator.base_url()});
  up.set_env("EXPERITURE_TOKEN", "test-token");
  REQUIRE(up.run({"drain", "--timeout", "30"}).exit_code == 0);
  status = status_of(up);
  CHECK(status["queued"] == 0);
  CHECK(status["consecutive_failures"] == 0);
  CHECK(status["last_success_at_ms"].is_number());
  CHECK(status["next_attempt_at_ms"].is_null());
}

TEST_CASE("an outbox that cannot be opened names the path, the cause and what to do",
          "[cli][unit]") {
  TempDir dir;
  struct Case {
    std::string path;
    std::string cause;
    std::string todo;
  };
  const Case cases[] = {
      {dir.file("missing-folder/outbox.db"), "does not exist (ENOENT)", "create the folder"},
      {dir.path(), "it is a folder (EISDIR)", "set storage_path to a file name"},
  };
  for (const Case& c : cases) {
    ProcessResult r = CliRunner(EXPERITURE_CLI_PATH, {"--db", c.path}).run({"status"});
    INFO(c.path << " -> " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("cannot open the outbox " + c.path) != std::string::npos);
    CHECK(r.err.find(c.cause) != std::string::npos);
    CHECK(r.err.find(c.todo) != std::string::npos);
  }

  // Root may write anywhere: as root, the CLI runs as nobody (setpriv) to meet the permissions.
  const bool root = ::geteuid() == 0;
  if (root && ::access(kSetpriv, X_OK) != 0) {
    WARN("no " << kSetpriv << ": the permission cases need a user that is not root");
    return;
  }
  ::chmod(dir.path().c_str(), 0755);
  const std::string read_only = dir.file("read-only.db");
  REQUIRE(CliRunner(EXPERITURE_CLI_PATH, {"--db", read_only}).run({"status"}).exit_code == 0);
  ::chmod(read_only.c_str(), 0444);  // an outbox that has become read-only
  const std::string closed_folder = dir.file("closed-folder");
  ::mkdir(closed_folder.c_str(), 0555);
  const Case denied[] = {
      {read_only, "no permission (EACCES", "give this process read and write access to the file"},
      {closed_folder + "/outbox.db", "no permission (EACCES",
       "give this process write access to " + closed_folder},
  };
  for (const Case& c : denied) {
    CliRunner cli = root ? CliRunner(kSetpriv, {"--reuid=65534", "--regid=65534", "--clear-groups",
                                                EXPERITURE_CLI_PATH, "--db", c.path})
                         : CliRunner(EXPERITURE_CLI_PATH, {"--db", c.path});
    ProcessResult r = cli.run({"status"});
    INFO(c.path << " -> " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("cannot open the outbox " + c.path) != std::string::npos);
    CHECK(r.err.find(c.cause) != std::string::npos);
    CHECK(r.err.find(c.todo) != std::string::npos);
  }
}

TEST_CASE("drain on a terminal reports the first delivery failure at once", "[cli][integration]") {
  TempDir dir;
  const std::string unreachable =
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/public/v1";
  CliRunner cli(EXPERITURE_CLI_PATH, {"--db", dir.file("outbox.db"), "--endpoint", unreachable});
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  ProcessResult r = cli.run({"drain", "--timeout", "2"}, true);
  INFO(r.out);
  CHECK(r.exit_code == 4);
  const size_t reported = r.out.find("delivery failed: network error NETWORK.CONNECT to 127.0.0.1");
  CHECK(reported != std::string::npos);
  CHECK(reported < r.out.find("timed out"));  // before the timeout, not with it
  CHECK(r.out.find("waiting: retrying after network error NETWORK.CONNECT") !=
        std::string::npos);  // the progress line keeps saying why it waits
}

TEST_CASE("the default logger writes delivery failures to stderr, at the EXPERITURE_LOG level",
          "[cli][integration]") {
  TempDir dir;
  const std::string unreachable =
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/public/v1";
  CliRunner cli(EXPERITURE_CLI_PATH, {"--db", dir.file("outbox.db"), "--endpoint", unreachable});
  cli.set_env("EXPERITURE_TOKEN", "secret-token-value");
  ProcessResult warn = cli.run({"drain", "--timeout", "0.5"});
  INFO(warn.err);
  CHECK(warn.err.find("experiture: warn: delivery failed: network error NETWORK.CONNECT") !=
        std::string::npos);
  CHECK(warn.err.find("secret-token-value") == std::string::npos);  // never a token

  cli.set_env("EXPERITURE_LOG", "off");
  ProcessResult off = cli.run({"drain", "--timeout", "0.5"});
  CHECK(off.exit_code == 4);
  CHECK(off.err.find("experiture: ") == std::string::npos);

  cli.set_env("EXPERITURE_LOG", "error");
  ProcessResult error = cli.run({"drain", "--timeout", "0.5"});
  CHECK(error.err.find("experiture: warn:") == std::string::npos);
}
