// Client configuration: plain values with production defaults, plus the injectable seams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "experiture/platform/clock.hpp"
#include "experiture/platform/http_client.hpp"
#include "experiture/platform/logger.hpp"
#include "experiture/platform/phone_normalizer.hpp"

namespace experiture {

inline constexpr const char* kDefaultEndpoint = "https://api.experiture.ai/public/v1";

// The largest Config::max_record_bytes: one record must fit one API request body (10,000,000
// bytes) with the request envelope (1,024 bytes). A larger setting is INVALID_CONFIG.
inline constexpr size_t kMaxRecordBytesLimit = 10 * 1000 * 1000 - 1024;

enum class Consent : int { kUnknown = 0, kGranted = 1, kDenied = 2 };

// Exponential backoff with full jitter: delay = uniform(0, min(cap, base * factor^attempt)).
struct RetryPolicy {
  int64_t base_ms = 1000;
  double factor = 2.0;
  int64_t cap_ms = 5 * 60 * 1000;
};

// Used by the built-in curl transport; ignored when Config::http is set.
// Checked by Client::open(): a CA bundle that is not a readable file, or a pin that is not
// "sha256//" + the 44-character base64 SHA-256 of a public key, is INVALID_CONFIG naming the
// option. A TLS or pinning failure while sending pauses delivery (stats().pause_reason says why)
// until resume() or a reopen with another config.
struct TlsOptions {
  std::string ca_bundle_path;      // PEM bundle replacing the system store; "" = system store
  std::string pinned_public_keys;  // "sha256//<base64>;sha256//<base64>"; "" = no pinning
  std::string proxy;               // curl proxy URL; "" = none (environment ignored)
};

// Called on an SDK thread when a token is needed. `refresh` is true after the server answered
// 401 for the previous token. Return "" when no token is available now: delivery pauses and
// asks again on the next trigger. It may block briefly (the SDK's own thread, not the app's).
using TokenProvider = std::function<std::string(bool refresh)>;

struct DeliveryEvent {
  enum class Type : int {
    kDelivered = 0,     // count records acknowledged by the server
    kDeadLettered = 1,  // count records moved to dead letters; reason = server code + message
    kPaused = 2,        // delivery paused; reason says why
    kResumed = 3,  // the first batch acknowledged after a kPaused event; reason names the pause
    kDropped = 4,  // count records dropped (eviction at the byte cap, consent denied)
  };
  Type type = Type::kDelivered;
  uint64_t count = 0;
  std::string reason;
};

// Runs on an SDK thread, never under an SDK lock. Must not block for long.
using DeliveryListener = std::function<void(const DeliveryEvent&)>;

struct Config {
  // Outbox SQLite file. Required. Created 0600 when missing.
  std::string storage_path;
  // API base URL as in docs/api.md; the SDK appends /records/{object}/upsert-batch etc.
  // https:// to any host; http:// (cleartext) only to a loopback host (127.0.0.0/8, ::1,
  // localhost), for a local emulator. Anything else is INVALID_CONFIG naming `endpoint`.
  std::string endpoint = kDefaultEndpoint;
  // DANGER, test rigs only: allows http:// to any host, sending the bearer token and every
  // record unencrypted. Never set it in an app.
  bool allow_insecure_http_for_testing = false;
  // A fixed bearer token, or a provider (the provider wins when both are set). Never stored.
  std::string token;
  TokenProvider token_provider;

  size_t batch_size = 500;                // records per request (the server allows 10,000)
  int64_t flush_interval_ms = 5000;       // send what is queued at least this often
  int64_t max_outbox_bytes = 64LL << 20;  // on-disk cap; oldest ordinary writes evicted first
  size_t max_record_bytes = 64 * 1024;    // one record, serialised; 16..kMaxRecordBytesLimit
  size_t ingress_capacity = 100000;       // accepted but not yet durable writes held in memory
  // ... and the memory they may hold (records, strings, queue slots). Past either bound upsert()
  // and append() return kQueueFull without waiting: nothing was accepted. Try the write again
  // after persist() returns (it waits for the store thread to catch up), or later, or drop it.
  size_t ingress_max_bytes = 1024 * 1024;
  int64_t commit_window_ms = 20;  // an accepted write is durable within about this long
  std::string default_phone_region = "US";
  bool manual_mode = false;  // no SDK threads: the app calls Client::pump()
  Consent initial_consent = Consent::kGranted;

  // Identity. The profile object and the fields usable as match keys per object.
  std::string profile_object = "profiles";
  std::vector<std::string> default_identity_keys = {"email",       "customer_id",  "phone",
                                                    "external_id", "anonymous_id", "device_id"};
  std::map<std::string, std::vector<std::string>> identity_keys;  // per object, overrides default
  std::string platform_name = "linux";   // written to the anonymous profile's `platform`
  bool logout_clears_push_token = true;  // logout() writes push_token: null to the user's profile
  bool logout_new_device_id = true;      // logout() starts a new anonymous device_id

  RetryPolicy retry;
  int64_t http_timeout_ms = 30000;
  int64_t clock_skew_threshold_ms = 5 * 60 * 1000;
  size_t max_dead_letters = 10000;
  // 32 bytes from the platform keystore: payloads and identity values at rest sealed with
  // AES-256-GCM. "" = off. To rotate, pass the new key here and the old one as
  // previous_encryption_key until the outbox has drained: rows sealed with either open.
  std::string encryption_key;
  std::string previous_encryption_key;
  // SQLite VFS name for the outbox ("" = default). A seam for fault-injection tests.
  std::string sqlite_vfs;
  TlsOptions tls;

  // The built-in logger's level when `logger` is null: "off", "error", "warn", "info" or
  // "debug"; "" reads the EXPERITURE_LOG environment variable, and "warn" when that is unset.
  // The built-in logger writes one line per message to stderr ("experiture: warn: ..."); it
  // never sees tokens or record values (no logger does).
  std::string log_level;

  // Seams; null means the built-in default (curl when built in, else no network; system clock;
  // the stderr logger at log_level; libphonenumber when built in, else E.164-only).
  std::shared_ptr<platform::HttpClient> http;
  std::shared_ptr<platform::Clock> clock;
  std::shared_ptr<platform::Logger> logger;
  std::shared_ptr<platform::PhoneNormalizer> phone_normalizer;
  DeliveryListener listener;
};

}  // namespace experiture
