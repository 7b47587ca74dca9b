// The kiosk sample's scenario: one visitor, offline capture, check-in, login, drain, and ONE
// unified profile in the CDP carrying every identifier.
#ifdef EXPERITURE_KIOSK_PATH

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

void check_unified(const nlohmann::json& fields) {
  INFO(fields.dump(2));
  CHECK(fields["device_id"].is_string());
  CHECK(fields["push_token"] ==
        "kiosk-push-" + fields["device_id"].get<std::string>().substr(0, 8));
  CHECK(fields["email"] == "ana.silva@example.com");
  CHECK(fields["phone"] == "+12125550142");
  CHECK(fields["customer_id"] == "C-1042");
}

}  // namespace

TEST_CASE("the kiosk demo ends with one unified profile carrying every identifier",
          "[kiosk][integration]") {
  TempDir dir;
  CliRunner kiosk(EXPERITURE_KIOSK_PATH);
  kiosk.set_env("TMPDIR", dir.path());
  ProcessResult r = kiosk.run({});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("holds 1 profile;") != std::string::npos);
  // The profile is printed as a JSON object starting and ending at the beginning of a line.
  const size_t begin = r.out.find("\n{\n");
  const size_t end = r.out.find("\n}\n", begin);
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  nlohmann::json fields = nlohmann::json::parse(r.out.substr(begin + 1, end + 2 - begin - 1));
  check_unified(fields);
}

TEST_CASE("with --endpoint and --token the kiosk sends there and starts no emulator",
          "[kiosk][integration]") {
  TempDir dir;
  EmulatorProcess emulator({"--tokens", "kiosk-token"});
  CliRunner kiosk(EXPERITURE_KIOSK_PATH);
  ProcessResult r = kiosk.run({"--endpoint", emulator.base_url(), "--token", "kiosk-token", "--db",
                               dir.file("kiosk.db"), "--emulator", "/nonexistent"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  nlohmann::json profiles = emulator.profiles();
  REQUIRE(profiles.size() == 1);
  check_unified(profiles[0]["fields"]);
}

TEST_CASE("the kiosk without a token for a real endpoint is a usage error", "[kiosk][unit]") {
  CliRunner kiosk(EXPERITURE_KIOSK_PATH);
  ProcessResult r = kiosk.run({"--endpoint", "http://127.0.0.1:9/public/v1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--token") != std::string::npos);
}

#endif
