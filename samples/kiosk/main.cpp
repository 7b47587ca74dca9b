// experiture-kiosk: the README demo. A kiosk captures a visitor while the network is down, the
// visitor checks in and logs in, the network comes back, the outbox drains, and the CDP holds one
// unified profile. By default the CDP is a local experiture-emulator this program starts itself;
// --endpoint URL --token T sends to a real API instead.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "experiture/client.hpp"
#include "local_emulator.hpp"

#ifndef EXPERITURE_KIOSK_EMULATOR_PATH
#define EXPERITURE_KIOSK_EMULATOR_PATH "experiture-emulator"
#endif

namespace {

constexpr int64_t kDrainTimeoutMs = 30000;
constexpr int64_t kProgressIntervalMs = 100;

struct KioskOptions {
  std::string emulator_path = EXPERITURE_KIOSK_EMULATOR_PATH;
  std::string endpoint;  // "" = the local emulator
  std::string token;
  std::string db_path;  // "" = a fresh temporary outbox, removed at exit
};

const char* kUsage =
    "usage: experiture-kiosk [--emulator PATH] [--db PATH]\n"
    "       experiture-kiosk --endpoint URL --token T [--db PATH]\n"
    "Runs a kiosk session against a local experiture-emulator (default) or a real API.\n";

bool parse_args(int argc, char** argv, KioskOptions* out, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string* target = arg == "--emulator"   ? &out->emulator_path
                          : arg == "--endpoint" ? &out->endpoint
                          : arg == "--token"    ? &out->token
                          : arg == "--db"       ? &out->db_path
                                                : nullptr;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      exit(0);
    }
    if (target == nullptr) {
      *error = "unknown argument " + arg;
      return false;
    }
    if (i + 1 >= argc) {
      *error = arg + " needs a value";
      return false;
    }
    *target = argv[++i];
  }
  if (!out->endpoint.empty() && out->token.empty()) {
    const char* env = std::getenv("EXPERITURE_TOKEN");
    if (env != nullptr) out->token = env;
    if (out->token.empty()) {
      *error = "--endpoint needs --token (or EXPERITURE_TOKEN)";
      return false;
    }
  }
  return true;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Prints what the SDK returned when it is not OK; true when OK.
bool check(const experiture::Status& status, const char* what) {
  if (status.is_ok()) return true;
  std::printf("   %s: %s\n", what, status.to_string().c_str());
  return false;
}

// Waits until everything queued is delivered, showing delivered / total on a terminal.
experiture::Status drain(experiture::Client& client) {
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  const int64_t start = now_ms();
  experiture::Status status;
  for (;;) {
    const int64_t left = std::max<int64_t>(0, start + kDrainTimeoutMs - now_ms());
    status = client.flush(terminal ? std::min(left, kProgressIntervalMs) : left);
    const experiture::Stats s = client.stats();
    if (terminal || status.code() != experiture::Code::kTimeout) {
      std::printf("%s   delivered %llu/%llu%s%s%s", terminal ? "\r" : "",
                  static_cast<unsigned long long>(s.delivered),
                  static_cast<unsigned long long>(s.delivered + s.queued_records),
                  s.pause_reason.empty() ? "" : "  (waiting: ", s.pause_reason.c_str(),
                  s.pause_reason.empty() ? "" : ")");
      std::printf(terminal ? "\x1b[K" : "\n");
      std::fflush(stdout);
    }
    if (status.code() != experiture::Code::kTimeout || left == 0) break;
  }
  if (terminal) std::printf("\n");
  return status;
}

void print_stats(const experiture::Stats& s) {
  std::printf("   accepted %llu, delivered %llu, queued %llu, dead letters %llu, dropped %llu\n",
              static_cast<unsigned long long>(s.accepted),
              static_cast<unsigned long long>(s.delivered),
              static_cast<unsigned long long>(s.queued_records),
              static_cast<unsigned long long>(s.dead_letters),
              static_cast<unsigned long long>(s.dropped_queue_full + s.dropped_evicted +
                                              s.dropped_consent + s.dropped_dead_letter_overflow));
  if (!s.last_error.empty()) std::printf("   last error: %s\n", s.last_error.c_str());
}

// A fresh outbox path in a new temporary directory.
std::string temporary_outbox(std::string* dir) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/experiture-kiosk-XXXXXX";
  if (::mkdtemp(&pattern[0]) == nullptr) return std::string();
  *dir = pattern;
  return pattern + "/outbox.db";
}

void remove_outbox(const std::string& dir) {
  if (dir.empty()) return;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((dir + "/outbox.db" + suffix).c_str());
  }
  ::rmdir(dir.c_str());
}

int run(const KioskOptions& options, const std::string& db_path) {
  const bool local = options.endpoint.empty();
  kiosk::LocalEmulator emulator(options.emulator_path);
  std::string endpoint = options.endpoint;
  std::string error;
  std::printf("Experiture kiosk demo (SDK %s)\n", experiture::sdk_version());
  if (local) {
    if (!emulator.start(0, &error)) {
      std::fprintf(stderr, "experiture-kiosk: %s (use --emulator PATH)\n", error.c_str());
      return 1;
    }
    endpoint = emulator.base_url();
    emulator.stop();  // the network is down: nothing answers on that port
    std::printf("   CDP: local emulator at %s (stopped: the network is down)\n", endpoint.c_str());
  } else {
    std::printf("   CDP: %s\n", endpoint.c_str());
  }

  experiture::Config config;
  config.storage_path = db_path;
  config.endpoint = endpoint;
  config.token = local ? "kiosk-demo-token" : options.token;
  config.platform_name = "kiosk";
  auto opened = experiture::Client::open(config);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "experiture-kiosk: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  experiture::Client& client = *opened.value();
  // The kiosk's connectivity monitor says offline: the SDK queues and does not try to send.
  client.set_online(false);

  const std::string device_id = client.device_id();
  std::printf("1. A visitor walks up (offline). Anonymous device %s\n", device_id.c_str());
  const std::string push_token = "kiosk-push-" + device_id.substr(0, 8);
  check(client.set_push_token(push_token), "set_push_token");
  std::printf("   push token captured: %s\n", push_token.c_str());

  std::printf("2. Check-in: \"  Ana.Silva@Example.COM \", phone \"(212) 555-0142\"\n");
  nlohmann::json check_in = {
      {"email", "  Ana.Silva@Example.COM "}, {"phone", "(212) 555-0142"}, {"first_name", "Ana"}};
  experiture::Status status = client.upsert("profiles", check_in, "email");
  if (status.code() == experiture::Code::kInvalidPhone) {
    check(status, "rejected");
    std::printf("   (this build has no libphonenumber: sending the E.164 form)\n");
    check_in["phone"] = "+12125550142";
    status = client.upsert("profiles", check_in, "email");
  }
  if (!check(status, "check-in rejected")) return 1;

  std::printf("3. Login links customer_id C-1042 to this device\n");
  experiture::LoginInfo login;
  login.email = "ana.silva@example.com";
  login.customer_id = "C-1042";
  if (!check(client.login(login), "login rejected")) return 1;

  if (!check(client.persist(5000), "persist")) return 1;
  experiture::Stats stats = client.stats();
  std::printf("   %llu writes safe in the outbox; delivery: %s\n",
              static_cast<unsigned long long>(stats.queued_records),
              stats.pause_reason.empty() ? "waiting" : stats.pause_reason.c_str());

  std::printf("4. Network back: draining the outbox\n");
  if (local && !emulator.start(emulator.port(), &error)) {
    std::fprintf(stderr, "experiture-kiosk: %s\n", error.c_str());
    return 1;
  }
  client.set_online(true);
  status = drain(client);
  if (!check(status, "drain")) {
    print_stats(client.stats());
    return 1;
  }

  int exit_code = 0;
  if (local) {
    const nlohmann::json profiles = emulator.get_json("/_emulator/profiles");
    const nlohmann::json profile =
        emulator.get_json("/_emulator/profile", {{"key", "device_id"}, {"value", device_id}});
    const size_t count = profiles.is_object() ? profiles.value("count", size_t{0}) : 0;
    std::printf("5. The CDP now holds %zu profile%s; the visitor's unified profile:\n", count,
                count == 1 ? "" : "s");
    if (profile.is_object() && profile.contains("fields")) {
      std::printf("%s\n", profile["fields"].dump(2).c_str());
    } else {
      std::printf("   (no profile carries device_id %s)\n", device_id.c_str());
      exit_code = 1;
    }
  } else {
    std::printf("5. Delivered to %s (read the profile back in the Experiture app)\n",
                endpoint.c_str());
  }
  std::printf("6. SDK stats\n");
  print_stats(client.stats());
  client.close(5000);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  KioskOptions options;
  std::string error;
  if (!parse_args(argc, argv, &options, &error)) {
    std::fprintf(stderr, "experiture-kiosk: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  std::string temp_dir;
  const std::string db_path =
      options.db_path.empty() ? temporary_outbox(&temp_dir) : options.db_path;
  if (db_path.empty()) {
    std::fprintf(stderr, "experiture-kiosk: cannot create a temporary directory\n");
    return 1;
  }
  const int code = run(options, db_path);
  remove_outbox(temp_dir);
  return code;
}
