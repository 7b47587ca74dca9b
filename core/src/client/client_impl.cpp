#include "client/client_impl.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "client/config_checks.hpp"
#include "client/storage_diag_file.hpp"
#include "crypto/sealer.hpp"
#include "crypto/uuid.hpp"
#include "experiture/platform/backends.hpp"
#include "record/timestamp.hpp"
#include "text/ascii.hpp"

#ifndef EXPERITURE_SDK_VERSION
#define EXPERITURE_SDK_VERSION "0.0.0"
#endif

namespace experiture {
namespace {

// Why the outbox file at `path` cannot be opened, probed with the C library (SQLite only says
// "unable to open database file"): the path, the cause with its errno name, and what to do.
Status explain_open_failure(const std::string& path, const Status& sqlite_status) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path file(path);
  const fs::path folder = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::string cause, todo;
  if (fs::is_directory(file, ec)) {
    cause = "it is a folder (EISDIR)";
    todo = "set storage_path to a file name, e.g. " + (file / "experiture-outbox.db").string();
  } else if (!fs::exists(folder, ec)) {
    cause = "the folder " + folder.string() + " does not exist (ENOENT)";
    todo = "create the folder first, or choose another storage_path";
  } else if (!fs::is_directory(folder, ec)) {
    cause = folder.string() + " is not a folder (ENOTDIR)";
    todo = "choose a storage_path inside a folder";
  } else {
    const bool existed = fs::exists(file, ec);
    errno = 0;
    std::FILE* probe = std::fopen(path.c_str(), existed ? "r+b" : "ab");
    const int error = errno;
    if (probe != nullptr) {
      std::fclose(probe);
      if (!existed) fs::remove(file, ec);
      // The file is writable; maybe the folder is not (SQLite needs it for -wal and -shm).
      if (!existed ||
          (fs::status(folder, ec).permissions() & fs::perms::owner_write) == fs::perms::none) {
        cause = "the folder " + folder.string() +
                " may not be writable (SQLite creates -wal and -shm files next to the outbox)";
        todo = "give this process write access to the folder";
      }
    } else if (error == EACCES || error == EPERM) {
      cause = std::string("no permission (") + (error == EACCES ? "EACCES" : "EPERM") + ": " +
              std::strerror(error) + ")";
      todo = existed ? "give this process read and write access to the file"
                     : "give this process write access to " + folder.string();
    } else if (error == EROFS) {
      cause = std::string("the file system is read-only (EROFS: ") + std::strerror(error) + ")";
      todo = "put the outbox on a writable file system";
    } else if (error != 0) {
      cause = std::strerror(error) + std::string(" (errno ") + std::to_string(error) + ")";
      todo = "check the path and its permissions";
    }
  }
  if (cause.empty()) return sqlite_status;
  return Status(sqlite_status.code(), "cannot open the outbox " + path + ": " + cause + "; " +
                                          todo + " (SQLite: " + sqlite_status.message() + ")");
}

constexpr const char* kConsentKey = "consent";
// Associated data for sealed payloads: binds them to this use.
constexpr const char* kSealContext = "experiture-outbox-v1";
constexpr int64_t kStoreCommandTimeoutMs = 30000;

const char* consent_name(Consent c) {
  switch (c) {
    case Consent::kUnknown:
      return "unknown";
    case Consent::kGranted:
      return "granted";
    case Consent::kDenied:
      return "denied";
  }
  return "unknown";
}

std::optional<Consent> consent_from(const std::string& s) {
  if (s == "unknown") return Consent::kUnknown;
  if (s == "granted") return Consent::kGranted;
  if (s == "denied") return Consent::kDenied;
  return std::nullopt;
}

// What login() and set_push_token() trim from identity values.
constexpr std::string_view kIdentityBlanks = " \t\n\r";

Status validate_config(const Config& c) {
  auto bad = [](const char* field, const std::string& rule) {
    return Status(Code::kInvalidConfig, std::string("config.") + field + ": " + rule);
  };
  if (c.storage_path.empty()) return bad("storage_path", "required (path of the outbox file)");
  if (Status s = client::check_endpoint(c); !s) return s;
  if (c.batch_size < 1 || c.batch_size > 10000) return bad("batch_size", "must be 1 to 10000");
  if (c.flush_interval_ms <= 0) return bad("flush_interval_ms", "must be positive");
  if (c.ingress_capacity < 1) return bad("ingress_capacity", "must be at least 1");
  if (c.commit_window_ms < 0) return bad("commit_window_ms", "must not be negative");
  if (Status s = client::check_record_limit(c); !s) return s;
  if (!c.encryption_key.empty() && c.encryption_key.size() != 32) {
    return bad("encryption_key", "must be exactly 32 bytes (or empty for no sealing)");
  }
  if (!c.previous_encryption_key.empty() &&
      (c.previous_encryption_key.size() != 32 || c.encryption_key.empty())) {
    return bad("previous_encryption_key", "must be 32 bytes, and needs encryption_key set");
  }
  if (c.retry.base_ms <= 0 || c.retry.cap_ms < c.retry.base_ms || c.retry.factor < 1.0) {
    return bad("retry", "needs base_ms > 0, cap_ms >= base_ms and factor >= 1");
  }
  if (c.profile_object.empty()) return bad("profile_object", "required");
  if (!c.log_level.empty() && c.log_level != "off" && c.log_level != "error" &&
      c.log_level != "warn" && c.log_level != "info" && c.log_level != "debug") {
    return bad("log_level", "must be off, error, warn, info or debug (or empty: EXPERITURE_LOG)");
  }
  if (Status s = client::check_tls(c); !s) return s;
  return Status::ok();
}

// The built-in logger for config.log_level ("" = EXPERITURE_LOG, else warn); null for "off" or
// an unknown EXPERITURE_LOG value (the environment never makes open() fail).
std::shared_ptr<platform::Logger> default_logger(const std::string& configured) {
  std::string level = configured;
  if (level.empty()) {
    const char* env = std::getenv("EXPERITURE_LOG");
    level = env != nullptr && *env != '\0' ? env : "warn";
  }
  if (level == "error") return platform::make_default_logger(platform::LogLevel::kError);
  if (level == "warn") return platform::make_default_logger(platform::LogLevel::kWarn);
  if (level == "info") return platform::make_default_logger(platform::LogLevel::kInfo);
  if (level == "debug") return platform::make_default_logger(platform::LogLevel::kDebug);
  return nullptr;
}

// Carries HttpClient completions to the store thread while the client lives; afterwards drops
// them, so a transport that outlives the client never touches freed memory.
struct ResponseSink {
  std::mutex mutex;
  std::function<void(uint64_t, platform::HttpResponse)> deliver;
};

}  // namespace

Client::Impl::Impl(Config config) : config_(std::move(config)) {}

Client::Impl::~Impl() {
  close(5000);
}

Status Client::Impl::open() {
  Status status = validate_config(config_);
  if (!status.is_ok()) return status;
  clock_ = config_.clock ? config_.clock : std::make_shared<platform::SystemClock>();
  if (!config_.logger) config_.logger = default_logger(config_.log_level);
  if (config_.http) {
    http_ = config_.http;
  } else {
    platform::HttpClientOptions options;
    options.ca_bundle_path = config_.tls.ca_bundle_path;
    options.pinned_public_keys = config_.tls.pinned_public_keys;
    options.proxy = config_.tls.proxy;
    options.user_agent = std::string("experiture-sdk/") + EXPERITURE_SDK_VERSION;
    http_ = platform::make_default_http_client(options);
  }
  std::shared_ptr<const platform::PhoneNormalizer> phone = config_.phone_normalizer;
  if (!phone) phone = platform::make_default_phone_normalizer();
  record::RecordValidator::Rules rules;
  rules.max_record_bytes = config_.max_record_bytes;
  rules.default_phone_region = config_.default_phone_region;
  rules.default_identity_keys = config_.default_identity_keys;
  rules.identity_keys = config_.identity_keys;
  validator_ = std::make_unique<record::RecordValidator>(std::move(rules), std::move(phone));
  auto random = crypto::Random::create();
  if (!random.is_ok()) return random.status();
  random_ = std::move(random).value();
  identity_options_.platform_name = config_.platform_name;
  identity_options_.sdk_version = EXPERITURE_SDK_VERSION;
  identity_options_.logout_clears_push_token = config_.logout_clears_push_token;
  identity_options_.logout_new_device_id = config_.logout_new_device_id;

  outbox::Outbox::Options options;
  options.path = config_.storage_path;
  options.vfs = config_.sqlite_vfs;
  if (!config_.encryption_key.empty()) {
    auto sealer = crypto::Sealer::create(config_.encryption_key, *random_);
    if (!sealer.is_ok()) return sealer.status();
    sealer_ = std::move(sealer).value();
    if (!config_.previous_encryption_key.empty()) {
      auto previous = crypto::Sealer::create(config_.previous_encryption_key, *random_);
      if (!previous.is_ok()) return previous.status();
      previous_sealer_ = std::move(previous).value();
    }
    options.codec.seal = [this](const std::string& plain) {
      auto sealed = sealer_->seal(plain, kSealContext);
      return sealed.is_ok() ? std::move(sealed).value() : std::string();
    };
    options.codec.open = [this](const std::string& stored) -> Result<std::string> {
      auto opened = sealer_->open(stored, kSealContext);
      if (!opened.is_ok() && previous_sealer_)
        opened = previous_sealer_->open(stored, kSealContext);
      return opened;
    };
  }
  options.max_bytes = config_.max_outbox_bytes;
  options.max_dead_letters = config_.max_dead_letters;
  outbox::Outbox::OpenReport report;
  auto opened = outbox::Outbox::open(options, &report);
  if (!opened.is_ok()) return explain_open_failure(config_.storage_path, opened.status());
  outbox_ = std::move(opened).value();
  storage_diag_path_ = client::storage_diag_path(config_.storage_path);
  client::preallocate_storage_diag(storage_diag_path_);  // while there is room
  load_diagnostics();
  if (report.recovered) report_recovery(report);

  durable_outbox_seq_ = outbox_->last_seq();
  identity_ = identity::load_identity(*outbox_);
  consent_ = config_.initial_consent;
  if (auto stored = outbox_->meta(kConsentKey)) consent_ = consent_from(*stored).value_or(consent_);
  denied_flag_ = consent_ == Consent::kDenied;

  auto sink = std::make_shared<ResponseSink>();
  sink->deliver = [this](uint64_t id, platform::HttpResponse r) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      inbox_.responses.push_back(client::StoreResponse{id, std::move(r)});
    }
    store_cv_.notify_one();
    waiters_cv_.notify_all();
  };
  response_sink_ = sink;
  drain::DrainLoop::Deps deps;
  deps.outbox = outbox_.get();
  deps.http = http_.get();
  deps.clock = clock_.get();
  deps.random = random_.get();
  deps.logger = config_.logger.get();
  deps.config = &config_;
  lease_ = platform::make_file_lock(config_.storage_path + ".lock");
  deps.lease = lease_.get();
  deps.post_response = [sink](uint64_t id, platform::HttpResponse r) {
    std::lock_guard<std::mutex> lock(sink->mutex);
    if (sink->deliver) sink->deliver(id, std::move(r));
  };
  drain_ = std::make_unique<drain::DrainLoop>(std::move(deps));
  drain_->set_consent(consent_);
  drain_->observe_lease(true);

  // First open: a device identity and the anonymous profile that carries it.
  std::vector<IngressItem> first;
  if (identity_.device_id.empty()) {
    identity_.device_id = crypto::uuid_v4(*random_);
    IngressItem meta;
    meta.meta = identity::identity_meta(identity_);
    meta.meta.emplace_back(kConsentKey, consent_name(consent_));
    first.push_back(std::move(meta));
    if (consent_ != Consent::kDenied) {
      Status s = validated_profile_write(
          identity::anonymous_profile(identity_, identity_options_, now_iso8601()),
          outbox::kEntryIdentity | outbox::kEntrySdkTimestamps, first);
      if (!s.is_ok()) return s;
    }
  }
  stats_.device_id = identity_.device_id;
  stats_.consent = consent_;
  publish();
  if (!first.empty()) {
    status = enqueue(std::move(first));
    if (!status.is_ok()) return status;
  }
  if (!config_.manual_mode) {
    // Under mutex_: run() reads thread_ (to detach itself, see destroy_after_callback) only
    // under it, so never before this assignment completes.
    std::lock_guard<std::mutex> lock(mutex_);
    thread_ = std::thread([this] { run(); });
  }
  return Status::ok();
}

// ---- write path (app threads) ----

namespace {
Status closed_status() {
  return Status(Code::kClosed, "the client is closed");
}
Status consent_denied_status() {
  return Status(Code::kConsentDenied,
                "consent is denied: capture is off until set_consent(granted)");
}
}  // namespace

// Lock-free early exit for the hot path; enqueue() checks both again under the lock.
Status Client::Impl::check_open() const {
  if (closed_flag_.load(std::memory_order_relaxed)) return closed_status();
  if (denied_flag_.load(std::memory_order_relaxed)) return consent_denied_status();
  return Status::ok();
}

outbox::Entry Client::Impl::make_entry(std::string_view object, outbox::WriteKind kind,
                                       std::string_view match_key, std::string payload,
                                       uint32_t flags) {
  outbox::Entry e;
  e.object.assign(object.data(), object.size());
  e.kind = kind;
  e.match_key.assign(match_key.data(), match_key.size());
  e.payload = std::move(payload);
  e.wall_ms = clock_->wall_ms();
  e.mono_ms = clock_->mono_ms();
  e.flags = flags;
  return e;
}

Status Client::Impl::unwritable_record(std::string_view object, bool is_object, bool is_empty,
                                       const std::string& field) {
  Status status = check_open();
  if (!status.is_ok()) return status;
  return record::RecordValidator::unwritable_record(object, is_object, is_empty, field);
}

Status Client::Impl::upsert_text(std::string_view object, std::string_view record_json,
                                 std::string_view match_key) {
  Status status = check_open();
  if (!status.is_ok()) return status;
  return accept(object, outbox::WriteKind::kUpsert, match_key,
                validator_->upsert_text(object, record_json, match_key, payload_pool_.take()));
}

Status Client::Impl::append_text(std::string_view object, std::string_view record_json) {
  Status status = check_open();
  if (!status.is_ok()) return status;
  return accept(object, outbox::WriteKind::kAppend, "",
                validator_->append_text(object, record_json, payload_pool_.take()));
}

Status Client::Impl::accept(std::string_view object, outbox::WriteKind kind,
                            std::string_view match_key, Result<std::string> payload) {
  if (!payload.is_ok()) return payload.status();
  IngressItem item;
  item.entry = make_entry(object, kind, match_key, std::move(payload).value(), 0);
  return enqueue(&item, 1);
}

Status Client::Impl::enqueue(std::vector<IngressItem> items) {
  return enqueue(items.data(), items.size());
}

Status Client::Impl::enqueue(IngressItem* items, size_t count) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return closed_status();
    // Under the same lock as set_consent(): nothing is captured after a denial.
    if (consent_ == Consent::kDenied) {
      for (size_t i = 0; i < count; ++i) {
        if (items[i].entry) return consent_denied_status();
      }
    }
    if (inbox_.writes.size() + count > config_.ingress_capacity) {
      ++stats_.dropped_queue_full;
      return Status(Code::kQueueFull,
                    "ingress queue full (capacity " + std::to_string(config_.ingress_capacity) +
                        " writes): storage is not keeping up; nothing was accepted, retry later");
    }
    if (inbox_.writes.empty()) ingress_since_mono_ms_ = clock_->mono_ms();
    for (size_t i = 0; i < count; ++i) {
      items[i].accept_seq = ++accept_seq_;
      if (items[i].entry) ++stats_.accepted;
      inbox_.writes.push_back(std::move(items[i]));
    }
    wake = store_waiting_;
  }
  if (wake) store_cv_.notify_one();
  return Status::ok();
}

Status Client::Impl::validated_profile_write(const identity::ProfileWrite& write, uint32_t flags,
                                             std::vector<IngressItem>& out) {
  auto payload = validator_->upsert(config_.profile_object, write.record, write.match_key);
  if (!payload.is_ok()) return payload.status();
  IngressItem item;
  item.entry = make_entry(config_.profile_object, outbox::WriteKind::kUpsert, write.match_key,
                          std::move(payload).value(), flags);
  out.push_back(std::move(item));
  return Status::ok();
}

std::string Client::Impl::now_iso8601() {
  return record::format_iso8601_utc_ms(clock_->wall_ms());
}

// ---- identity ----

Status Client::Impl::set_push_token(std::string_view token) {
  std::lock_guard<std::mutex> identity_lock(identity_mutex_);
  Status status = check_open();
  if (!status.is_ok()) return status;
  identity::IdentityState state;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state = identity_;
  }
  const std::string value(text::trim(token, kIdentityBlanks));
  if (value == state.push_token) return Status::ok();  // unchanged: nothing to write
  state.push_token = value;
  std::vector<IngressItem> items;
  status =
      validated_profile_write(identity::push_token_write(state), outbox::kEntryIdentity, items);
  if (!status.is_ok()) return status;
  return enqueue_identity(std::move(items), state);
}

Status Client::Impl::login(const LoginInfo& info) {
  identity::IdentityState user;
  if (!info.email.empty()) {
    auto email = record::RecordValidator::normalize_email(info.email);
    if (!email) return Status(Code::kInvalidEmail, "login.email: not a valid email address");
    user.email = *email;
  }
  if (!info.phone.empty()) {
    auto phone = validator_->normalize_phone(info.phone);
    if (!phone) {
      return Status(Code::kInvalidPhone, "login.phone: must be " + validator_->phone_rule());
    }
    user.phone = *phone;
  }
  user.customer_id = std::string(text::trim(info.customer_id, kIdentityBlanks));
  if (!user.logged_in()) {
    return Status(Code::kInvalidArgument, "login: needs at least one of email, customer_id, phone");
  }
  // The whole login (is someone else logged in? log them out, then link) is one step under
  // identity_mutex_: two logins at once must not both see nobody logged in and both link the
  // same device_id.
  std::lock_guard<std::mutex> identity_lock(identity_mutex_);
  Status status = check_open();
  if (!status.is_ok()) return status;
  const bool switching = [&] {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto& cur = identity_;
    auto differs = [](const std::string& a, const std::string& b) {
      return !a.empty() && !b.empty() && a != b;
    };
    return cur.logged_in() &&
           (differs(cur.email, user.email) || differs(cur.customer_id, user.customer_id) ||
            differs(cur.phone, user.phone));
  }();
  // Another person on this device: log the previous one out first, so the two are never merged.
  if (switching) {
    status = logout_locked();
    if (!status.is_ok()) return status;
  }
  identity::IdentityState state;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state = identity_;
  }
  if (!user.email.empty()) state.email = user.email;
  if (!user.customer_id.empty()) state.customer_id = user.customer_id;
  if (!user.phone.empty()) state.phone = user.phone;
  std::vector<IngressItem> items;
  status = validated_profile_write(identity::login_write(state, now_iso8601()),
                                   outbox::kEntryIdentity | outbox::kEntrySdkTimestamps, items);
  if (!status.is_ok()) return status;
  return enqueue_identity(std::move(items), state);
}

Status Client::Impl::logout() {
  std::lock_guard<std::mutex> identity_lock(identity_mutex_);
  return logout_locked();
}

Status Client::Impl::logout_locked() {
  Status status = check_open();
  if (!status.is_ok()) return status;
  identity::IdentityState state;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state = identity_;
  }
  if (!state.logged_in()) return Status::ok();
  std::vector<IngressItem> items;
  for (const auto& write : identity::logout_writes(state, identity_options_)) {
    status = validated_profile_write(write, outbox::kEntryIdentity, items);
    if (!status.is_ok()) return status;
  }
  identity::IdentityState next;
  next.device_id = state.device_id;
  next.push_token = state.push_token;
  if (identity_options_.logout_new_device_id) {
    next.device_id = crypto::uuid_v4(*random_);
    status =
        validated_profile_write(identity::anonymous_profile(next, identity_options_, now_iso8601()),
                                outbox::kEntryIdentity | outbox::kEntrySdkTimestamps, items);
    if (!status.is_ok()) return status;
  }
  items.push_back(IngressItem());
  return enqueue_identity(std::move(items), next);
}

Status Client::Impl::enqueue_identity(std::vector<IngressItem> items,
                                      const identity::IdentityState& state) {
  // The new state is persisted with the last write, in the same transaction.
  items.back().meta = identity::identity_meta(state);
  Status status = enqueue(std::move(items));
  if (status.is_ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    identity_ = state;
    stats_.device_id = state.device_id;
  }
  return status;
}

std::string Client::Impl::device_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return identity_.device_id;
}

// ---- consent ----

Status Client::Impl::set_consent(Consent consent) {
  std::lock_guard<std::mutex> identity_lock(identity_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return Status(Code::kClosed, "the client is closed");
    if (consent_ == consent) return Status::ok();
    consent_ = consent;
    denied_flag_ = consent == Consent::kDenied;
    stats_.consent = consent;
    inbox_.hints.push_back([consent](drain::DrainLoop& d) { d.set_consent(consent); });
  }
  std::vector<IngressItem> items(1);
  items[0].purge = consent == Consent::kDenied;
  items[0].meta.emplace_back(kConsentKey, consent_name(consent));
  {
    // Bypasses the capacity check: a consent change must never be refused.
    std::lock_guard<std::mutex> lock(mutex_);
    if (inbox_.writes.empty()) ingress_since_mono_ms_ = clock_->mono_ms();
    items[0].accept_seq = ++accept_seq_;
    inbox_.writes.push_back(std::move(items[0]));
  }
  store_cv_.notify_one();
  return Status::ok();
}

Consent Client::Impl::consent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return consent_;
}

// ---- waiting calls ----

Status Client::Impl::persist(int64_t timeout_ms) {
  if (in_callback()) return inside_callback_status("persist()");
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    target = accept_seq_;
    if (durable_seq_ >= target) return Status::ok();
    inbox_.persist_requested = true;
  }
  store_cv_.notify_one();
  Status status = wait_until([&] { return durable_seq_ >= target; }, timeout_ms, nullptr);
  if (status.code() == Code::kTimeout) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stats_.last_error.empty()) {
      return Status(Code::kTimeout,
                    status.message() + "; last storage error: " + stats_.last_error);
    }
  }
  return status;
}

Status Client::Impl::flush(int64_t timeout_ms) {
  if (in_callback()) return inside_callback_status("flush()");
  const auto start = std::chrono::steady_clock::now();
  Status status = persist(timeout_ms);
  if (!status.is_ok()) return status;
  const int64_t elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  // The target is taken on the store thread, after it looked at the file: writes that other
  // processes committed before this call are flushed too. Guarded by mutex_; -1 until set.
  auto target = std::make_shared<int64_t>(-1);
  uint64_t round;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    round = store_round_;
    inbox_.hints.push_back([this, target](drain::DrainLoop& d) {
      const int64_t through = outbox_->last_seq();
      d.request_flush(through);
      std::lock_guard<std::mutex> set_lock(mutex_);
      *target = through;
    });
  }
  store_cv_.notify_one();
  return wait_until(
      [&] { return *target >= 0 && (first_queued_seq_ == 0 || first_queued_seq_ > *target); },
      std::max<int64_t>(0, timeout_ms - elapsed),
      [&]() -> std::optional<Status> {
        if (store_round_ > round && !blocked_reason_.empty()) {
          return Status(Code::kPaused, "delivery paused: " + blocked_reason_);
        }
        return std::nullopt;
      });
}

void Client::Impl::request_stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    closed_flag_ = true;
    stopping_ = true;
  }
  store_cv_.notify_one();
  waiters_cv_.notify_all();
}

void Client::Impl::destroy_after_callback(std::unique_ptr<Impl> self) {
  request_stop();
  std::lock_guard<std::mutex> lock(mutex_);
  self_ = std::move(self);
}

Status Client::Impl::close(int64_t timeout_ms) {
  if (in_callback()) {
    // On the thread that runs this client's callbacks: it can neither wait for itself nor join
    // itself. Later calls are CLOSED at once; when the callback returns, the store thread
    // commits what was accepted and stops; a later close() (or ~Client) from an app thread
    // joins it and releases everything.
    request_stop();
    return Status::ok();
  }
  std::lock_guard<std::mutex> close_lock(close_mutex_);
  if (torn_down_) return Status::ok();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    closed_flag_ = true;
  }
  Status status = outbox_ ? persist(timeout_ms) : Status::ok();
  // kClosed: the store thread already stopped (closed from a callback) after its last commit.
  if (status.code() == Code::kClosed) status = Status::ok();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  store_cv_.notify_one();
  // Not joinable when the store thread detached itself to delete this Impl (this is then its
  // own ~Impl, after its last round).
  if (thread_.joinable()) thread_.join();
  if (response_sink_) {
    auto sink = std::static_pointer_cast<ResponseSink>(response_sink_);
    std::lock_guard<std::mutex> lock(sink->mutex);
    sink->deliver = nullptr;
  }
  if (http_) http_->cancel_all();
  {
    // Manual mode: a pump() on another thread reads outbox_ under pump_mutex_.
    std::lock_guard<std::mutex> pump_lock(pump_mutex_);
    if (outbox_ && drain_) persist_diagnostics(true);
    drain_.reset();
    outbox_.reset();
    lease_.reset();
  }
  torn_down_ = true;
  waiters_cv_.notify_all();
  return status;
}

// ---- hints, stats, dead letters ----

void Client::Impl::hint(std::function<void(drain::DrainLoop&)> change, bool flush) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    if (flush) {
      // After the round's commit: "everything queued" includes writes accepted before the hint.
      inbox_.hints.push_back([change = std::move(change)](drain::DrainLoop& d) {
        change(d);
        d.request_flush(-1);
      });
    } else {
      inbox_.hints.push_back(std::move(change));
    }
  }
  store_cv_.notify_one();
}

Stats Client::Impl::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats s = stats_;
  s.pending_durable = accept_seq_ - durable_seq_;
  return s;
}

Status Client::Impl::run_on_store(const std::function<void()>& command, int64_t timeout_ms) {
  if (in_callback()) {
    // Already on the thread that owns the outbox (inside a callback): run it here.
    if (check_open().code() == Code::kClosed) return Status(Code::kClosed, "the client is closed");
    command();
    return Status::ok();
  }
  auto done = std::make_shared<bool>(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return Status(Code::kClosed, "the client is closed");
    inbox_.tasks.push_back([this, command, done] {
      command();
      std::lock_guard<std::mutex> done_lock(mutex_);
      *done = true;
    });
  }
  store_cv_.notify_one();
  return wait_until([done] { return *done; }, timeout_ms, nullptr);
}

Result<std::vector<DeadLetter>> Client::Impl::dead_letters(size_t limit) {
  // Shared with the command: it may still run after a timed-out wait returned.
  auto result = std::make_shared<Result<std::vector<DeadLetter>>>(Status(Code::kInternal, ""));
  Status status = run_on_store([this, result, limit] { *result = outbox_->dead_letters(limit); },
                               kStoreCommandTimeoutMs);
  if (!status.is_ok()) return status;
  return *result;
}

Status Client::Impl::retry_dead_letters() {
  auto result = std::make_shared<Status>();
  Status status = run_on_store(
      [this, result] {
        auto moved = outbox_->retry_dead_letters();
        if (!moved.is_ok()) *result = moved.status();
      },
      kStoreCommandTimeoutMs);
  return status.is_ok() ? *result : status;
}

Status Client::Impl::purge_dead_letters() {
  auto result = std::make_shared<Status>();
  Status status = run_on_store(
      [this, result] {
        auto purged = outbox_->purge_dead_letters();
        if (!purged.is_ok()) *result = purged.status();
      },
      kStoreCommandTimeoutMs);
  return status.is_ok() ? *result : status;
}

}  // namespace experiture
