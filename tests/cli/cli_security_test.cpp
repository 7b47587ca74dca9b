// experiture-cli's security options: --token-file, --key-file, --ca-file, --pin and their
// environment twins, against a real emulator on loopback.
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

CliRunner cli_at(const TempDir& dir, const std::string& endpoint) {
  return CliRunner(EXPERITURE_CLI_PATH, {"--db", dir.file("outbox.db"), "--endpoint", endpoint});
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

}  // namespace

TEST_CASE("a token file and a key file deliver, and the outbox holds no plaintext email",
          "[cli][integration][hostile]") {
  TempDir dir;
  EmulatorProcess emulator;
  write_file(dir.file("token"), "file-token\n");
  write_file(dir.file("key"), std::string(64, 'a') + "\n");  // 32 bytes as hex
  const bool by_env = GENERATE(false, true);
  CliRunner cli =
      by_env ? cli_at(dir, emulator.base_url())
             : CliRunner(EXPERITURE_CLI_PATH,
                         {"--db", dir.file("outbox.db"), "--endpoint", emulator.base_url(),
                          "--token-file", dir.file("token"), "--key-file", dir.file("key")});
  if (by_env) {
    cli.set_env("EXPERITURE_TOKEN_FILE", dir.file("token"));
    cli.set_env("EXPERITURE_KEY_FILE", dir.file("key"));
  }
  ProcessResult r = cli.run(
      {"upsert", "profiles", "email", R"({"email":"secret.person@example.com","tier":"gold"})"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (const char* suffix : {"", "-wal"}) {
    CHECK(file_bytes(dir.file(std::string("outbox.db") + suffix)).find("secret.person") ==
          std::string::npos);
  }
  r = cli.run({"drain", "--timeout", "30"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  nlohmann::json profile = emulator.profile("email", "secret.person@example.com");
  CHECK(profile["fields"]["tier"] == "gold");
  CHECK(r.out.find("file-token") == std::string::npos);
  CHECK(r.err.find("file-token") == std::string::npos);
}

TEST_CASE("bad TLS and key options exit 2 naming the option", "[cli][unit][hostile]") {
  TempDir dir;
  write_file(dir.file("short-key"), "too short");
  CliRunner cli = cli_at(dir, "https://127.0.0.1:9/public/v1");
  struct Row {
    std::vector<std::string> args;
    std::string env_name;
    std::string env_value;
    std::string named;
  };
  const std::string missing_ca = dir.file("missing.pem");
  const std::string short_key = dir.file("short-key");
  const std::string missing_token = dir.file("missing-token");
  const Row row = GENERATE_COPY(values<Row>({
      {{"--ca-file", missing_ca, "status"}, "", "", "tls.ca_bundle_path"},
      {{"status"}, "EXPERITURE_CA_FILE", missing_ca, "tls.ca_bundle_path"},
      {{"--pin", "sha256//nope", "status"}, "", "", "tls.pinned_public_keys"},
      {{"status"}, "EXPERITURE_PINS", "sha256//nope", "tls.pinned_public_keys"},
      {{"--key-file", short_key, "status"}, "", "", "--key-file"},
      {{"--token-file", missing_token, "status"}, "", "", "--token-file"},
  }));
  if (!row.env_name.empty()) cli.set_env(row.env_name, row.env_value);
  const ProcessResult r = cli.run(row.args);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(row.named) != std::string::npos);
}

TEST_CASE("several --pin options are all passed on", "[cli][unit][hostile]") {
  TempDir dir;
  CliRunner cli = cli_at(dir, "https://127.0.0.1:9/public/v1");
  const std::string pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  CHECK(cli.run({"--pin", pin, "--pin", pin, "status"}).exit_code == 0);
  // The second pin is checked too: a bad one fails the same command.
  CHECK(cli.run({"--pin", pin, "--pin", "sha256//bad", "status"}).exit_code == 2);
}

TEST_CASE("help says --token is for tests and names the file options", "[cli][unit][hostile]") {
  const ProcessResult r = CliRunner(EXPERITURE_CLI_PATH).run({"--help"});
  CHECK(r.exit_code == 0);
  for (const char* text : {"--token-file", "--ca-file", "--pin", "--key-file", "for tests only"}) {
    CHECK(r.out.find(text) != std::string::npos);
  }
}
