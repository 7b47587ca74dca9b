// experiture-cli for scripts: per-command help, --version, the README's exit-code table, bulk
// import from NDJSON, drain's summary and exit code, and the lock-wait message.
#include <sqlite3.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "emulator_process.hpp"
#include "temp_dir.hpp"

using experiture::test::CliRunner;
using experiture::test::EmulatorProcess;
using experiture::test::ProcessResult;
using experiture::test::TempDir;

namespace {

CliRunner cli_at(const TempDir& dir, const EmulatorProcess& emulator) {
  CliRunner cli(EXPERITURE_CLI_PATH,
                {"--db", dir.file("outbox.db"), "--endpoint", emulator.base_url()});
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  return cli;
}

std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("every command prints its own help with --help and exits 0", "[cli][unit]") {
  CliRunner cli(EXPERITURE_CLI_PATH);
  for (const char* command : {"upsert", "append", "import", "login", "logout", "push-token",
                              "drain", "status", "dead-letters"}) {
    ProcessResult r = cli.run({command, "--help"});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind(std::string("usage: experiture-cli ") + command, 0) == 0);
    CHECK(r.out.find("Exit codes") != std::string::npos);
    ProcessResult topic = cli.run({"help", command});
    CHECK(topic.exit_code == 0);
    CHECK(topic.out == r.out);
  }
  CHECK(cli.run({"help", "frobnicate"}).exit_code == 2);
}

TEST_CASE("the version option prints the CLI and SDK version and exits 0", "[cli][unit]") {
  CliRunner cli(EXPERITURE_CLI_PATH);
  ProcessResult r = cli.run({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(std::regex_search(r.out, std::regex("^experiture-cli [0-9]+\\.[0-9]+\\.[0-9]+")));
}

TEST_CASE("the README's exit-code table lists exactly the codes of --help", "[cli][unit]") {
  ProcessResult help = CliRunner(EXPERITURE_CLI_PATH).run({"--help"});
  REQUIRE(help.exit_code == 0);
  std::ifstream readme(EXPERITURE_SOURCE_DIR "/README.md");
  std::stringstream text;
  text << readme.rdbuf();
  const std::string doc = text.str();
  const std::regex help_line("\n  ([0-9])  ([^\n]+)");
  int codes = 0;
  for (std::sregex_iterator it(help.out.begin(), help.out.end(), help_line), end; it != end; ++it) {
    const std::string row = "| " + (*it)[1].str() + " | " + (*it)[2].str() + " |";
    INFO("README.md needs the row: " << row);
    CHECK(doc.find(row) != std::string::npos);
    ++codes;
  }
  CHECK(codes == 7);
  // ...and no row beyond them.
  CHECK(doc.find("| 7 | ") == std::string::npos);
}

TEST_CASE("import accepts NDJSON records in one process and names the rejected lines",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_at(dir, emulator);
  cli.set_stdin_file(write_file(dir, "profiles.ndjson",
                                "{\"email\":\"one@example.com\",\"tier\":\"gold\"}\n"
                                "\n"
                                "{\"email\":\"not an email\"}\n"
                                "{\"email\":\"two@example.com\"}\n"
                                "this is not json\n"
                                "{\"email\":\"three@example.com\"}\n"));
  ProcessResult r = cli.run({"import", "--object", "profiles", "--match-key", "email"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("imported: 3 lines accepted, 2 rejected") != std::string::npos);
  CHECK(r.out.find("rejected lines: 3, 5") != std::string::npos);
  CHECK(r.err.find("line 3 rejected: INVALID_EMAIL") != std::string::npos);
  CHECK(r.err.find("line 5 rejected: INVALID_JSON") != std::string::npos);

  cli.set_stdin_file(write_file(dir, "envelopes.ndjson",
                                "{\"object\":\"profiles\",\"record\":{\"email\":\"four@example."
                                "com\"},\"matchKey\":\"email\"}\n"
                                "{\"object\":\"events\",\"record\":{\"event\":\"opened\"}}\n"));
  ProcessResult envelopes = cli.run({"import"});
  INFO(envelopes.err);
  CHECK(envelopes.exit_code == 0);
  CHECK(envelopes.out.find("imported: 2 lines accepted, 0 rejected") != std::string::npos);

  cli.set_stdin_file("");
  REQUIRE(cli.run({"drain", "--timeout", "30"}).exit_code == 0);
  for (const char* email :
       {"one@example.com", "two@example.com", "three@example.com", "four@example.com"}) {
    CHECK(emulator.profile("email", email).is_object());
  }
  CHECK(emulator.events("events").size() == 1);
}

TEST_CASE("import shows a progress line on a terminal", "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_at(dir, emulator);
  std::string lines;
  for (int i = 0; i < 50; ++i) lines += "{\"event\":\"e" + std::to_string(i) + "\"}\n";
  cli.set_stdin_file(write_file(dir, "events.ndjson", lines));
  ProcessResult r = cli.run({"import", "--object", "events"}, true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\rimporting: line 1,") != std::string::npos);
  CHECK(r.out.find("imported: 50 lines accepted, 0 rejected") != std::string::npos);
}

TEST_CASE("drain's summary counts in good grammar with time and rate also when piped",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_at(dir, emulator);
  // The first drain delivers the anonymous device profile alone: one record.
  ProcessResult r = cli.run({"drain", "--timeout", "30"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(std::regex_search(
      r.out, std::regex("drained: 1 record delivered, 0 dead-lettered in [0-9.]+ s \\([0-9]+ "
                        "records/s\\)")));
}

TEST_CASE("drain exits 6 and says so when the server dead-lettered records", "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_at(dir, emulator);
  REQUIRE(cli.run({"upsert", "profiles", "email",
                   R"({"email":"odd@example.com","favourite_colour":"teal"})"})
              .exit_code == 0);
  ProcessResult r = cli.run({"drain", "--timeout", "30"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 6);
  CHECK(r.out.find("1 dead-lettered") != std::string::npos);
  CHECK(r.err.find("rejected 1 record:") != std::string::npos);
}

TEST_CASE("an upsert waiting on another process's lock says that it is waiting",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_at(dir, emulator);
  REQUIRE(cli.run({"status"}).exit_code == 0);  // creates the outbox
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("outbox.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  const std::string command = std::string("EXPERITURE_DB=") + dir.file("outbox.db") + " " +
                              EXPERITURE_CLI_PATH +
                              " upsert profiles email '{\"email\":\"w@example.com\"}' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char line[1024];
  bool released = false;
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    output += line;
    if (!released && output.find("waiting for") != std::string::npos) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);  // the other process lets go
      released = true;
    }
  }
  if (!released) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  const int status = pclose(pipe);
  INFO(output);
  CHECK(released);
  CHECK(output.find("another process") != std::string::npos);
  CHECK(output.find("holds its lock") != std::string::npos);
  CHECK(WIFEXITED(status));
}
