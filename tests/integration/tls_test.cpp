// The SDK's built-in curl transport against the emulator serving HTTPS with a self-signed
// certificate: trust and pinning decide, never a switch that turns verification off.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "temp_dir.hpp"

using experiture::Code;
using experiture::test::EmulatorProcess;
using experiture::test::TempDir;
using nlohmann::json;

namespace {

std::string shell_output(const std::string& command, const std::string& out_file) {
  REQUIRE(std::system((command + " > '" + out_file + "'").c_str()) == 0);
  std::ifstream in(out_file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Certificate {
  std::string cert;
  std::string key;
  std::string pin;
};

Certificate make_certificate(const TempDir& dir) {
  Certificate c{dir.file("cert.pem"), dir.file("key.pem"), ""};
  shell_output(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj /CN=experiture-emulator -addext subjectAltName=IP:127.0.0.1 -keyout '" +
          c.key + "' -out '" + c.cert + "' 2>/dev/null",
      dir.file("req.txt"));
  c.pin = "sha256//" + shell_output("openssl x509 -in '" + c.cert +
                                        "' -pubkey -noout | openssl pkey -pubin -outform der |"
                                        " openssl dgst -sha256 -binary | openssl base64 -A",
                                    dir.file("pin.txt"));
  return c;
}

experiture::Status deliver_one(const TempDir& dir, const std::string& name, int port,
                               const experiture::TlsOptions& tls, std::string* last_error) {
  experiture::Config c;
  c.storage_path = dir.file(name + ".db");
  c.endpoint = "https://127.0.0.1:" + std::to_string(port) + "/public/v1";
  c.token = "test-token";
  c.tls = tls;
  c.retry.base_ms = 50;
  c.retry.cap_ms = 100;
  auto opened = experiture::Client::open(c);
  REQUIRE(opened.is_ok());
  auto& client = *opened.value();
  REQUIRE(client.upsert("profiles", json{{"email", name + "@example.com"}}, "email").is_ok());
  // A TLS or pin failure pauses delivery: flush() says so (PAUSED naming TLS) long before 20 s.
  auto status = client.flush(20000);
  *last_error = client.stats().last_error;
  return status;
}

}  // namespace

TEST_CASE("HTTPS delivery needs trust: untrusted pauses, a CA bundle works, a wrong pin pauses",
          "[integration][tls]") {
  TempDir dir;
  Certificate cert = make_certificate(dir);
  EmulatorProcess emulator({"--tls-cert", cert.cert, "--tls-key", cert.key});
  std::string error;

  experiture::TlsOptions untrusted;
  auto status = deliver_one(dir, "untrusted", emulator.port(), untrusted, &error);
  CHECK(status.code() == Code::kPaused);
  CHECK(status.message().find("TLS") != std::string::npos);
  CHECK(error.find("TLS") != std::string::npos);

  experiture::TlsOptions trusted;
  trusted.ca_bundle_path = cert.cert;
  CHECK(deliver_one(dir, "trusted", emulator.port(), trusted, &error).is_ok());

  experiture::TlsOptions wrong_pin = trusted;
  wrong_pin.pinned_public_keys = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  status = deliver_one(dir, "wrong-pin", emulator.port(), wrong_pin, &error);
  CHECK(status.code() == Code::kPaused);
  CHECK(status.message().find("pin") != std::string::npos);
  CHECK(error.find("PINNING") != std::string::npos);

  experiture::TlsOptions pinned = trusted;
  pinned.pinned_public_keys = cert.pin;
  CHECK(deliver_one(dir, "pinned", emulator.port(), pinned, &error).is_ok());

  // flush() returning OK means the server acknowledged the writes over the verified channel.
}
