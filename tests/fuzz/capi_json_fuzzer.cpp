// libFuzzer target: the C API's JSON entry points (experiture.h) on one manual-mode client with
// no network. Input: NUL-separated fields "object\0record_json\0match_key\0email\0phone".
// Each input goes through upsert, append, login and set_push_token; every 128 inputs a pump()
// commits the ingress queue (a small byte cap keeps eviction busy and the file small).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "experiture/experiture.h"

namespace {

experiture_client_t* g_client = nullptr;

void require(bool condition) {
  if (!condition) std::abort();
}

std::vector<std::string_view> split(std::string_view text, size_t max_fields) {
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < max_fields) {
    const size_t end = text.find('\0');
    if (end == std::string_view::npos) break;
    fields.push_back(text.substr(0, end));
    text = text.substr(end + 1);
  }
  fields.push_back(text);
  while (fields.size() < max_fields) fields.emplace_back();
  return fields;
}

// EXPERITURE_INTERNAL means an exception reached the C boundary: a bug, reported as a crash.
bool known_status(experiture_status_t s) {
  return s >= 0 && s < EXPERITURE_INTERNAL;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/experiture-fuzz-XXXXXX";
  require(mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/outbox.db";
  const std::string endpoint = "http://127.0.0.1:9/public/v1";
  experiture_config_t* config = nullptr;
  require(experiture_config_new(&config) == EXPERITURE_OK);
  require(experiture_config_set_storage_path(config, path.data(), path.size()) == EXPERITURE_OK);
  require(experiture_config_set_endpoint(config, endpoint.data(), endpoint.size()) ==
          EXPERITURE_OK);
  require(experiture_config_set_manual_mode(config, 1) == EXPERITURE_OK);
  require(experiture_config_set_max_outbox_bytes(config, 256 * 1024) == EXPERITURE_OK);
  require(experiture_client_open(config, &g_client) == EXPERITURE_OK);
  experiture_config_free(config);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t runs = 0;
  const auto f = split(std::string_view(reinterpret_cast<const char*>(data), size), 5);
  require(known_status(experiture_client_upsert(g_client, f[0].data(), f[0].size(), f[1].data(),
                                                f[1].size(), f[2].data(), f[2].size())));
  require(known_status(
      experiture_client_append(g_client, f[0].data(), f[0].size(), f[1].data(), f[1].size())));
  require(known_status(experiture_client_login(g_client, f[3].data(), f[3].size(), f[2].data(),
                                               f[2].size(), f[4].data(), f[4].size())));
  require(known_status(experiture_client_set_push_token(g_client, f[4].data(), f[4].size())));
  size_t length = 0;
  const char* error = experiture_last_error(&length);
  require(error != nullptr);
  if (++runs % 128 == 0) require(experiture_client_pump(g_client) == EXPERITURE_OK);
  return 0;
}
