// Opens an outbox, accepts one write, persists, closes; prints the status names. Records go in as
// JSON text: the consumer has no JSON library (nlohmann_json is the SDK's private dependency).
#include <cstdio>
#include <experiture/client.hpp>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  experiture::Config config;
  config.storage_path = argv[1];
  config.initial_consent = experiture::Consent::kUnknown;  // capture only; nothing is sent
  auto opened = experiture::Client::open(config);
  if (!opened.is_ok()) {
    std::printf("open: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  auto& client = *opened.value();
  auto status = client.upsert("profiles", R"({"email":"Kiosk@Example.com"})", "email");
  std::printf("upsert: %s\n", experiture::code_name(status.code()));
  std::printf("persist: %s\n", experiture::code_name(client.persist(5000).code()));
  std::printf("queued: %llu\n", static_cast<unsigned long long>(client.stats().queued_records));
  std::printf("version: %s\n", experiture::sdk_version());
  return status.is_ok() ? 0 : 1;
}
