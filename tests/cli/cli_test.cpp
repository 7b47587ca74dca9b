// experiture-cli end to end: every command and exit code, against a real emulator on loopback.
#include <fstream>
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

// A runner with --db in `dir` and --endpoint at `emulator` (token options left to the test).
CliRunner cli_for(const TempDir& dir, const EmulatorProcess& emulator) {
  return CliRunner(EXPERITURE_CLI_PATH,
                   {"--db", dir.file("outbox.db"), "--endpoint", emulator.base_url()});
}

nlohmann::json status_json(const CliRunner& cli) {
  ProcessResult r = cli.run({"status", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("upsert exits 0 once the write is durable in the outbox", "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_for(dir, emulator);
  ProcessResult r = cli.run({"upsert", "profiles", "email", R"({"email":"Ana@Example.com"})"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The anonymous device profile and the upsert, both durable; nothing sent yet.
  nlohmann::json status = status_json(cli);
  CHECK(status["queued"] == 2);
  CHECK(status["in_flight"] == 0);
  CHECK(status["dead_letters"] == 0);
  CHECK(status["device_id"].get<std::string>().size() == 36);
  CHECK(emulator.counters()["requests"] == 0);
}

TEST_CASE("input the SDK rejects exits 3 and stderr names the field and the rule",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_for(dir, emulator);
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  const Case cases[] = {
      {{"upsert", "profiles", "email", R"({"email":"not an email"})"}, "email"},
      {{"upsert", "profiles", "email", R"({"customer_id":"C1"})"}, "email"},
      {{"upsert", "profiles", "email", "[1,2]"}, "object"},
      {{"upsert", "profiles", "email", "{not json"}, "JSON"},
      {{"upsert", "profiles", "first_name", R"({"first_name":"Ana"})"}, "first_name"},
      {{"upsert", "profiles", "email",
        R"({"email":"a@b.co","last_seen_at":"2026-01-01T10:00:00"})"},
       "last_seen_at"},
      {{"append", "events", "{}"}, "at least one field"},
      {{"login", "--email", "nope"}, "email"},
      {{"login", "--phone", "call me"}, "phone"},
  };
  for (const auto& c : cases) {
    ProcessResult r = cli.run(c.args);
    INFO(c.args.back() << " -> " << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find(c.names) != std::string::npos);
  }
  // Nothing was accepted: only the anonymous device profile is queued.
  CHECK(status_json(cli)["queued"] == 1);
}

TEST_CASE("push-token, login, append and drain deliver one linked profile and the event",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_for(dir, emulator);
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  REQUIRE(cli.run({"push-token", "push-1"}).exit_code == 0);
  REQUIRE(cli.run({"login", "--email", " Ana@Example.com", "--customer-id", "C-7", "--phone",
                   "+12125550142"})
              .exit_code == 0);
  const std::string device_id = status_json(cli)["device_id"];
  REQUIRE(
      cli.run({"append", "events", R"({"event":"check_in","device_id":")" + device_id + R"("})"})
          .exit_code == 0);
  ProcessResult r = cli.run({"drain", "--timeout", "30"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("drained") != std::string::npos);
  CHECK(r.out.find('\r') == std::string::npos);  // no progress line when not on a terminal

  nlohmann::json profiles = emulator.profiles();
  REQUIRE(profiles.size() == 1);
  nlohmann::json fields = profiles[0]["fields"];
  CHECK(fields["device_id"] == device_id);
  CHECK(fields["push_token"] == "push-1");
  CHECK(fields["email"] == "ana@example.com");
  CHECK(fields["customer_id"] == "C-7");
  CHECK(fields["phone"] == "+12125550142");
  CHECK(emulator.events("events").size() == 1);
  CHECK(status_json(cli)["queued"] == 0);

  SECTION("logout clears the push token on the user's profile and starts a new device") {
    REQUIRE(cli.run({"logout"}).exit_code == 0);
    CHECK(status_json(cli)["device_id"] != device_id);
    REQUIRE(cli.run({"drain", "--timeout", "30"}).exit_code == 0);
    const nlohmann::json user = emulator.profile("email", "ana@example.com");
    REQUIRE(user.contains("fields"));
    // The emulator drops a field an explicit null cleared.
    CHECK_FALSE(user.at("fields").contains("push_token"));
    CHECK(user.at("fields").value("email", "") == "ana@example.com");
  }
}

TEST_CASE("the environment stands in for every option, and options win over it",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli(EXPERITURE_CLI_PATH);
  cli.set_env("EXPERITURE_DB", dir.file("env.db"));
  cli.set_env("EXPERITURE_ENDPOINT", emulator.base_url());
  cli.set_env("EXPERITURE_TOKEN", "env-token");
  REQUIRE(cli.run({"upsert", "profiles", "email", R"({"email":"env@example.com"})"}).exit_code ==
          0);
  REQUIRE(cli.run({"drain", "--timeout", "30"}).exit_code == 0);
  CHECK(emulator.profile("email", "env@example.com").is_object());

  REQUIRE(cli.run({"--db", dir.file("option.db"), "upsert", "profiles", "email",
                   R"({"email":"opt@example.com"})"})
              .exit_code == 0);
  ProcessResult env_status = cli.run({"status", "--json"});
  CHECK(nlohmann::json::parse(env_status.out)["queued"] == 0);
  ProcessResult option_status = cli.run({"--db", dir.file("option.db"), "status", "--json"});
  CHECK(nlohmann::json::parse(option_status.out)["queued"] == 2);

  cli.set_env("EXPERITURE_TOKEN", "");
  cli.set_env("EXPERITURE_TOKEN_COMMAND", "echo command-token");
  REQUIRE(cli.run({"--db", dir.file("option.db"), "drain", "--timeout", "30"}).exit_code == 0);
  CHECK(emulator.profile("email", "opt@example.com").is_object());
}

TEST_CASE("bad command lines exit 2", "[cli][unit]") {
  TempDir dir;
  CliRunner cli(EXPERITURE_CLI_PATH, {"--db", dir.file("outbox.db")});
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"--colour", "status"},
      {"upsert", "profiles", "email"},
      {"upsert", "profiles", "email", "{}", "extra"},
      {"append", "events"},
      {"push-token"},
      {"login"},
      {"login", "--nickname", "x"},
      {"drain", "--timeout", "soon"},
      {"drain", "--timeout", "-1"},
      {"status", "--verbose"},
      {"dead-letters", "shred"},
      {"dead-letters", "purge", "--json"},
      {"--token", "a", "--token-command", "echo b", "status"},
      {"--db"},
      {"--endpoint", "ftp://example.com", "status"},
  };
  for (const auto& args : cases) {
    ProcessResult r = cli.run(args);
    INFO((args.empty() ? std::string("(none)") : args[0]) << " -> " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
  }
}

TEST_CASE("help prints the usage and exits 0", "[cli][unit]") {
  CliRunner cli(EXPERITURE_CLI_PATH);
  for (const char* word : {"--help", "help"}) {
    ProcessResult r = cli.run({word});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("usage: experiture-cli") != std::string::npos);
    CHECK(r.out.find("EXPERITURE_TOKEN_COMMAND") != std::string::npos);
  }
}

TEST_CASE("an outbox that cannot be opened exits 1", "[cli][unit]") {
  TempDir dir;
  CliRunner cli(EXPERITURE_CLI_PATH, {"--db", dir.file("missing-dir/outbox.db")});
  ProcessResult r = cli.run({"status"});
  CHECK(r.exit_code == 1);
  CHECK_FALSE(r.err.empty());
}

TEST_CASE("drain exits 4 when the outbox is not empty by the timeout, and keeps the data",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  emulator.set_faults({{"probabilities", {{"503", 1.0}}}});
  CliRunner cli = cli_for(dir, emulator);
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  REQUIRE(cli.run({"upsert", "profiles", "email", R"({"email":"late@example.com"})"}).exit_code ==
          0);
  ProcessResult r = cli.run({"drain", "--timeout", "0.5"});
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("timed out") != std::string::npos);
  CHECK(status_json(cli)["queued"] == 2);

  emulator.set_faults(nlohmann::json::object());
  REQUIRE(cli.run({"drain", "--timeout", "30"}).exit_code == 0);
  CHECK(emulator.profile("email", "late@example.com").is_object());
}

TEST_CASE("drain exits 5 when the server refuses a fixed token, and keeps the data",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator({"--tokens", "good-token"});
  CliRunner cli = cli_for(dir, emulator);
  REQUIRE(cli.run({"upsert", "profiles", "email", R"({"email":"auth@example.com"})"}).exit_code ==
          0);
  ProcessResult r = cli.run({"--token", "bad-token", "drain", "--timeout", "30"});
  CHECK(r.exit_code == 5);
  CHECK(r.err.find("unauthorized (401): the server refused the token") != std::string::npos);
  CHECK(r.err.find("no token") == std::string::npos);   // one was given
  CHECK(r.err.find("bad-token") == std::string::npos);  // tokens are never printed
  CHECK(status_json(cli)["queued"] == 2);

  REQUIRE(cli.run({"--token", "good-token", "drain", "--timeout", "30"}).exit_code == 0);
  CHECK(emulator.profile("email", "auth@example.com").is_object());
}

TEST_CASE("drain exits 5 when there is no token at all", "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_for(dir, emulator);
  ProcessResult r = cli.run({"drain", "--timeout", "30"});
  CHECK(r.exit_code == 5);
  CHECK(r.err.find("no token") != std::string::npos);
  CHECK(emulator.counters()["requests"] == 0);
}

TEST_CASE("the token command runs again after a 401 and its new token delivers",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  emulator.set_faults({{"sequence", {"token_expire"}}});
  CliRunner cli = cli_for(dir, emulator);
  // Prints token-1, token-2, ...: one line appended to runs.txt per run.
  const std::string runs = dir.file("runs.txt");
  const std::string command =
      "echo run >> '" + runs + "'; echo \"  token-$(wc -l < '" + runs + "')  \"";
  REQUIRE(cli.run({"upsert", "profiles", "email", R"({"email":"fresh@example.com"})"}).exit_code ==
          0);
  ProcessResult r = cli.run({"--token-command", command, "drain", "--timeout", "30"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(runs) == "run\nrun\n");
  CHECK(emulator.profile("email", "fresh@example.com").is_object());
  CHECK(emulator.counters()["statuses"]["401"] == 1);
}

TEST_CASE("a token command that keeps printing the refused token makes drain exit 5",
          "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  emulator.set_faults({{"sequence", {"token_expire"}}});
  CliRunner cli = cli_for(dir, emulator);
  cli.set_env("EXPERITURE_TOKEN_COMMAND", "echo same-token");
  ProcessResult r = cli.run({"drain", "--timeout", "30"});
  CHECK(r.exit_code == 5);
  CHECK(r.err.find("401") != std::string::npos);
}

TEST_CASE("dead letters are listed, as JSON too, retried and purged", "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_for(dir, emulator);
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  ProcessResult none = cli.run({"dead-letters"});
  CHECK(none.exit_code == 0);
  CHECK(none.out.find("no dead letters") != std::string::npos);

  REQUIRE(cli.run({"upsert", "profiles", "email",
                   R"({"email":"odd@example.com","favourite_colour":"teal"})"})
              .exit_code == 0);
  REQUIRE(cli.run({"drain", "--timeout", "30"}).exit_code == 6);  // a record was dead-lettered
  CHECK(status_json(cli)["dead_letters"] == 1);

  ProcessResult list = cli.run({"dead-letters"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("CDP_ETL.VALIDATION.REQUEST_SCHEMA") != std::string::npos);
  CHECK(list.out.find("favourite_colour") != std::string::npos);

  ProcessResult json = cli.run({"dead-letters", "--json"});
  REQUIRE(json.exit_code == 0);
  nlohmann::json letters = nlohmann::json::parse(json.out);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0]["object"] == "profiles");
  CHECK(letters[0]["match_key"] == "email");
  CHECK(letters[0]["http_status"] == 422);
  CHECK(letters[0]["record"]["favourite_colour"] == "teal");

  REQUIRE(cli.run({"dead-letters", "retry"}).exit_code == 0);
  nlohmann::json status = status_json(cli);
  CHECK(status["dead_letters"] == 0);
  CHECK(status["queued"] == 1);
  REQUIRE(cli.run({"drain", "--timeout", "30"}).exit_code == 6);
  CHECK(status_json(cli)["dead_letters"] == 1);

  REQUIRE(cli.run({"dead-letters", "purge"}).exit_code == 0);
  status = status_json(cli);
  CHECK(status["dead_letters"] == 0);
  CHECK(status["queued"] == 0);
}

TEST_CASE("status prints the device, counts, pause reason and last error", "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_for(dir, emulator);
  ProcessResult r = cli.run({"status"});
  REQUIRE(r.exit_code == 0);
  for (const char* label :
       {"device_id", "queued", "in flight", "dead letters", "paused", "last error"}) {
    CHECK(r.out.find(label) != std::string::npos);
  }
  nlohmann::json json = status_json(cli);
  for (const char* key :
       {"device_id", "queued", "in_flight", "dead_letters", "pause_reason", "last_error"}) {
    CHECK(json.contains(key));
  }
}

TEST_CASE("drain on a terminal shows a progress line", "[cli][integration]") {
  TempDir dir;
  EmulatorProcess emulator;
  CliRunner cli = cli_for(dir, emulator);
  cli.set_env("EXPERITURE_TOKEN", "test-token");
  for (int i = 0; i < 3; ++i) {
    const std::string record = R"({"email":"user)" + std::to_string(i) + R"(@example.com"})";
    REQUIRE(cli.run({"upsert", "profiles", "email", record}).exit_code == 0);
  }
  ProcessResult r = cli.run({"drain", "--timeout", "30"}, true);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\rdelivered ") != std::string::npos);
  CHECK(r.out.find("records/s") != std::string::npos);
  CHECK(emulator.profiles().size() == 4);
}
