#include "client/client_impl.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "client/config_checks.hpp"
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
// Commit at once, without waiting out the commit window, when this many writes are waiting.
constexpr size_t kGroupCommitTarget = 4096;
// Ingress slots kept while the store thread is idle (a burst's are released when it ends).
constexpr size_t kKeepIngressSlots = 4096;
constexpr int64_t kCommitRetryMs = 1000;
constexpr int64_t kStoreCommandTimeoutMs = 30000;
// While records are queued, the store thread looks this often for what other processes did to
// the same file (delivered them, took or left the lease). Idle with nothing queued: never.
constexpr int64_t kQueuedPollMs = 1000;

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

// A Status the outbox gave (SQLite, the disk): a later successful commit shows it has passed.
bool is_storage_code(Code code) {
  return code == Code::kStorageError || code == Code::kStorageFull ||
         code == Code::kStorageRecovered;
}

std::optional<Code> code_from_name(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(Code::kInternal); ++i) {
    if (name == code_name(static_cast<Code>(i))) return static_cast<Code>(i);
  }
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

// The client whose store work (and so whose callbacks) the current thread is running, if any.
thread_local const Client::Impl* t_running_store = nullptr;
// Set while wait_until() pumps in manual mode: that pump must not delete the Impl under it.
thread_local bool t_pumping_for_wait = false;

Status inside_callback_status(const char* call) {
  return Status(Code::kWrongState,
                std::string(call) +
                    " cannot wait inside an SDK callback (delivery listener, token provider, "
                    "HTTP client): that thread is the one it would wait for");
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
      responses_.push_back(Response{id, std::move(r)});
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
    if (ingress_.size() + count > config_.ingress_capacity) {
      ++stats_.dropped_queue_full;
      return Status(Code::kQueueFull,
                    "ingress queue full (capacity " + std::to_string(config_.ingress_capacity) +
                        " writes): storage is not keeping up; nothing was accepted, retry later");
    }
    if (ingress_.empty()) ingress_since_mono_ms_ = clock_->mono_ms();
    for (size_t i = 0; i < count; ++i) {
      items[i].accept_seq = ++accept_seq_;
      if (items[i].entry) ++stats_.accepted;
      ingress_.push_back(std::move(items[i]));
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
    hints_.push_back([consent](drain::DrainLoop& d) { d.set_consent(consent); });
  }
  std::vector<IngressItem> items(1);
  items[0].purge = consent == Consent::kDenied;
  items[0].meta.emplace_back(kConsentKey, consent_name(consent));
  {
    // Bypasses the capacity check: a consent change must never be refused.
    std::lock_guard<std::mutex> lock(mutex_);
    if (ingress_.empty()) ingress_since_mono_ms_ = clock_->mono_ms();
    items[0].accept_seq = ++accept_seq_;
    ingress_.push_back(std::move(items[0]));
  }
  store_cv_.notify_one();
  return Status::ok();
}

Consent Client::Impl::consent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return consent_;
}

// ---- waiting calls ----

Status Client::Impl::wait_until(const std::function<bool()>& done, int64_t timeout_ms,
                                const std::function<std::optional<Status>()>& give_up) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (done()) return Status::ok();
    if (give_up) {
      if (auto status = give_up()) return *status;
    }
    if (config_.manual_mode) {
      lock.unlock();
      t_pumping_for_wait = true;
      pump();
      t_pumping_for_wait = false;
      lock.lock();
      if (done()) return Status::ok();
      if (give_up) {
        if (auto status = give_up()) return *status;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      // Wakes on a response from the transport; the bound covers timers in the drain loop.
      auto next =
          std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      waiters_cv_.wait_until(lock, next);
      continue;
    }
    if (thread_done_) return Status(Code::kClosed, "the client is closed");
    if (waiters_cv_.wait_until(lock, deadline) == std::cv_status::timeout && !done()) break;
  }
  return Status(Code::kTimeout, "timed out after " + std::to_string(timeout_ms) + " ms");
}

Status Client::Impl::persist(int64_t timeout_ms) {
  if (in_callback()) return inside_callback_status("persist()");
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    target = accept_seq_;
    if (durable_seq_ >= target) return Status::ok();
    persist_requested_ = true;
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
    hints_.push_back([this, target](drain::DrainLoop& d) {
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

bool Client::Impl::in_callback() const {
  return t_running_store == this;
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

// ---- store thread ----

void Client::Impl::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    auto has_work = [this] {
      return stopping_ || persist_requested_ || !commands_.empty() || !responses_.empty() ||
             !hints_.empty() || (!ingress_.empty() && commit_retry_at_mono_ms_ == 0);
    };
    if (!has_work()) {
      std::optional<int64_t> wake_at = drain_->next_wakeup_mono_ms();
      if (commit_retry_at_mono_ms_ != 0) {
        wake_at = wake_at ? std::min(*wake_at, commit_retry_at_mono_ms_) : commit_retry_at_mono_ms_;
      }
      // Idle: a burst's worth of ingress slots is not kept for the app's lifetime.
      if (store_items_.capacity() > kKeepIngressSlots)
        std::vector<IngressItem>().swap(store_items_);
      if (ingress_.empty() && ingress_.capacity() > kKeepIngressSlots) {
        std::vector<IngressItem>().swap(ingress_);
      }
      if (!wake_at && payload_pool_.pooled_bytes() > 0) {
        // Idle with no deadline (nothing queued or in flight): the recycled buffers go back to
        // the allocator, outside the lock; then look for work that arrived meanwhile.
        lock.unlock();
        payload_pool_.clear();
        lock.lock();
        continue;
      }
      // Idle costs nothing: with nothing queued here the wait is untimed. What other processes
      // commit to the file is read at the start of every round (refresh_if_changed in step()),
      // so their writes are seen at this process's next write, flush, hint or command, and a
      // drain takes the file's state when it takes the lease. Only while records are queued
      // does the thread look once a second (another process may deliver them, or leave).
      if (outbox_->queued_records() > 0 || outbox_->batch()) {
        const int64_t poll_at = clock_->mono_ms() + kQueuedPollMs;
        wake_at = wake_at ? std::min(*wake_at, poll_at) : poll_at;
      }
      store_waiting_ = true;
      if (wake_at) {
        const int64_t delay = std::max<int64_t>(0, *wake_at - clock_->mono_ms());
        store_cv_.wait_for(lock, std::chrono::milliseconds(delay), has_work);
      } else {
        store_cv_.wait(lock, has_work);
      }
      store_waiting_ = false;
    }
    // Group commit: let writes that arrive within the commit window share one transaction.
    if (!ingress_.empty() && !stopping_ && !persist_requested_ && config_.commit_window_ms > 0 &&
        ingress_.size() < kGroupCommitTarget) {
      const int64_t waited = clock_->mono_ms() - ingress_since_mono_ms_;
      const int64_t remaining = config_.commit_window_ms - waited;
      if (remaining > 0) {
        store_cv_.wait_for(lock, std::chrono::milliseconds(remaining),
                           [this] { return stopping_ || persist_requested_; });
      }
    }
    if (commit_retry_at_mono_ms_ != 0 && clock_->mono_ms() >= commit_retry_at_mono_ms_) {
      commit_retry_at_mono_ms_ = 0;
    }
    // Swapped, not moved item by item: app threads wait on mutex_ in upsert(), so the lock is
    // held O(1) here, and ingress_ gets back the previous round's (emptied) capacity.
    if (commit_retry_at_mono_ms_ == 0 || stopping_ || persist_requested_) {
      store_items_.swap(ingress_);
    }
    std::vector<Command> commands;
    commands.swap(commands_);
    std::vector<Response> responses;
    responses.swap(responses_);
    auto hints = std::move(hints_);
    hints_.clear();
    persist_requested_ = false;
    const bool stopping = stopping_;
    lock.unlock();
    step_marked(store_items_, std::move(commands), std::move(responses), std::move(hints));
    store_items_.clear();
    lock.lock();
    ++store_round_;
    waiters_cv_.notify_all();
    if (stopping && commands_.empty()) break;
  }
  thread_done_ = true;
  waiters_cv_.notify_all();
  if (self_) {
    // ~Client ran inside one of our callbacks: this thread is the last user of the Impl. It
    // cannot be joined by anyone now, so it detaches and deletes the Impl as its last act
    // (~Impl's close() finds nothing to join); nothing below touches a member.
    thread_.detach();
    std::unique_ptr<Impl> self = std::move(self_);
    lock.unlock();
    self.reset();
  }
}

void Client::Impl::step_marked(std::vector<IngressItem>& items, std::vector<Command> commands,
                               std::vector<Response> responses, std::vector<Hint> hints) {
  struct Mark {
    const Impl* previous;
    explicit Mark(const Impl* self) : previous(t_running_store) { t_running_store = self; }
    ~Mark() { t_running_store = previous; }
  } mark(this);
  step_guarded(items, std::move(commands), std::move(responses), std::move(hints));
}

Status Client::Impl::pump() {
  if (!config_.manual_mode) {
    return Status(Code::kWrongState, "pump() is for manual mode (config.manual_mode)");
  }
  if (in_callback()) return inside_callback_status("pump()");
  std::unique_lock<std::mutex> pump_lock(pump_mutex_);
  std::vector<IngressItem> items;
  std::vector<Command> commands;
  std::vector<Response> responses;
  std::vector<std::function<void(drain::DrainLoop&)>> hints;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!outbox_) return Status(Code::kClosed, "the client is closed");
    items.swap(ingress_);
    commands.swap(commands_);
    responses.swap(responses_);
    hints.swap(hints_);
    persist_requested_ = false;
  }
  step_marked(items, std::move(commands), std::move(responses), std::move(hints));
  std::unique_ptr<Impl> self;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++store_round_;
    // ~Client ran inside a callback of this pump: this Impl is deleted once the pump is over.
    if (!t_pumping_for_wait) self = std::move(self_);
  }
  waiters_cv_.notify_all();
  pump_lock.unlock();
  return Status::ok();  // `self` deletes this Impl (if set) after the last member access
}

void Client::Impl::step(std::vector<IngressItem>& items, std::vector<Command> commands,
                        std::vector<Response> responses, std::vector<Hint> hints) {
  const uint64_t evicted_before = outbox_->evicted_total();
  // What other processes committed to the same file (their writes, their deliveries).
  Status refreshed = outbox_->refresh_if_changed(false);
  if (!refreshed.is_ok()) log(platform::LogLevel::kWarn, "outbox: " + refreshed.to_string());
  commit_ingress(items);
  // After the commit, so that "flush what is queued" includes writes accepted before the hint.
  for (auto& h : hints) h(*drain_);
  for (auto& command : commands) command();
  for (auto& r : responses) drain_->on_response(r.attempt_id, std::move(r.response));
  drain_->step(false);
  std::vector<DeliveryEvent> events = drain_->take_events();
  const uint64_t evicted = outbox_->evicted_total() - evicted_before;
  if (evicted > 0) {
    events.push_back(
        DeliveryEvent{DeliveryEvent::Type::kDropped, evicted,
                      "evicted: the outbox reached its byte cap (oldest writes first)"});
    log(platform::LogLevel::kWarn,
        "outbox over its byte cap: evicted " + std::to_string(evicted) + " oldest writes");
  }
  if (outbox_->damaged()) recover_outbox();
  if (!pending_events_.empty()) {
    events.insert(events.end(), pending_events_.begin(), pending_events_.end());
    pending_events_.clear();
  }
  publish();
  persist_diagnostics(false);
  notify_listener(events);
}

void Client::Impl::recover_outbox() {
  // The request in flight belongs to a batch that is salvaged with its key and body: it is
  // sent again, and the server replays it if it was applied.
  drain_->abandon_in_flight();
  outbox::Outbox::OpenReport report;
  Status status = outbox_->recover(
      "a statement found the outbox damaged (" + drain_->last_error() + ")", &report);
  if (!status.is_ok()) {
    log(platform::LogLevel::kError, "outbox recovery failed (tried again): " + status.to_string());
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.last_error = status.to_string();
    last_error_code_ = status.code();
    return;
  }
  report_recovery(report);
}

void Client::Impl::report_recovery(const outbox::Outbox::OpenReport& report) {
  const std::string message =
      "outbox file was damaged (" + report.reason + "): moved to " + report.moved_to +
      "; salvaged " + std::to_string(report.salvaged_entries) + " queued writes (" +
      std::to_string(report.salvaged_batches) + " batches re-sent with their own keys), lost " +
      std::to_string(report.lost_entries);
  log(platform::LogLevel::kError, message);
  pending_events_.push_back(
      DeliveryEvent{DeliveryEvent::Type::kDropped, report.lost_entries, message});
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.last_error = message;
  last_error_code_ = Code::kOk;
  stats_.last_storage_error = message;
  last_storage_error_code_ = Code::kOk;
  stats_.last_storage_error_at_ms = clock_->wall_ms();
  durable_outbox_seq_ = std::max(durable_outbox_seq_, outbox_->last_seq());
  first_queued_seq_ = outbox_->first_seq();
}

void Client::Impl::step_guarded(std::vector<IngressItem>& items, std::vector<Command> commands,
                                std::vector<Response> responses, std::vector<Hint> hints) noexcept {
  try {
    step(items, std::move(commands), std::move(responses), std::move(hints));
  } catch (...) {
    // Nothing may escape the store thread. Rows already committed stay in the outbox; the batch
    // in flight keeps its key and bytes; the next round starts afresh.
    try {
      const char* what = "out of memory (or an unexpected error) in the store thread";
      log(platform::LogLevel::kError, what);
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.last_error = what;
      last_error_code_ = Code::kOk;
    } catch (...) {
    }
  }
}

void Client::Impl::commit_ingress(std::vector<IngressItem>& items) {
  if (items.empty()) return;
  size_t begin = 0;
  while (begin < items.size()) {
    // Commit up to the next purge marker, then purge, so ordering with consent holds.
    size_t end = begin;
    while (end < items.size() && !items[end].purge) ++end;
    const bool purge_here = end < items.size();
    if (purge_here) ++end;
    std::vector<outbox::Entry> entries;
    std::vector<size_t> entry_items;  // entries[k] came from items[entry_items[k]]
    outbox::MetaUpdates meta;
    for (size_t i = begin; i < end; ++i) {
      if (items[i].entry && !items[i].purge) {
        entries.push_back(std::move(*items[i].entry));
        entry_items.push_back(i);
      }
      for (const auto& m : items[i].meta) meta.push_back(m);
    }
    Status status = outbox_->commit(entries, meta);
    if (!status.is_ok()) {
      // Nothing of this group is lost: it goes back to the front of the queue and is retried.
      for (size_t k = 0; k < entries.size(); ++k)
        *items[entry_items[k]].entry = std::move(entries[k]);
      requeue(items, begin, status);
      return;
    }
    payload_pool_.give_all(entries, [](outbox::Entry& e) -> std::string& { return e.payload; });
    if (config_.logger && !entries.empty()) {
      log(platform::LogLevel::kDebug,
          "outbox: committed " + std::to_string(entries.size()) + " writes in one transaction");
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // A purge marker counts as durable only once the purge itself committed.
      const uint64_t through = items[end - 1].accept_seq - (purge_here ? 1 : 0);
      durable_seq_ = std::max(durable_seq_, through);
      durable_outbox_seq_ = outbox_->last_seq();
      // Together with durable_outbox_seq_: a flush() reading both must never see the new target
      // with the old (empty) queue.
      first_queued_seq_ = outbox_->first_seq();
      if (is_storage_code(last_error_code_)) {
        stats_.last_error.clear();
        last_error_code_ = Code::kOk;
      }
    }
    if (purge_here) {
      drain_->abandon_in_flight();
      auto purged = outbox_->purge_all();
      if (!purged.is_ok()) {
        requeue(items, end - 1, purged.status());  // the writes before it are durable already
        return;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.dropped_consent += purged.value();
      durable_seq_ = std::max(durable_seq_, items[end - 1].accept_seq);
      first_queued_seq_ = 0;
    }
    begin = end;
  }
}

void Client::Impl::requeue(std::vector<IngressItem>& items, size_t from, const Status& why) {
  log(platform::LogLevel::kError, "outbox commit failed: " + why.to_string());
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.last_error = why.to_string();
  last_error_code_ = why.code();
  stats_.last_storage_error = stats_.last_error;
  last_storage_error_code_ = why.code();
  stats_.last_storage_error_at_ms = clock_->wall_ms();
  ingress_.insert(ingress_.begin(),
                  std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(from)),
                  std::make_move_iterator(items.end()));
  ingress_since_mono_ms_ = clock_->mono_ms();
  commit_retry_at_mono_ms_ = clock_->mono_ms() + kCommitRetryMs;
}

void Client::Impl::publish() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.pending_durable = accept_seq_ - durable_seq_;
  stats_.queued_records = outbox_->queued_records();
  stats_.queued_bytes = outbox_->queued_bytes();
  stats_.oldest_queued_age_ms =
      outbox_->oldest_wall_ms() == 0
          ? 0
          : std::max<int64_t>(0, clock_->wall_ms() - outbox_->oldest_wall_ms());
  stats_.in_flight = drain_->in_flight_records();
  stats_.delivered = drain_->delivered_total();
  stats_.dead_letters = outbox_->dead_letter_count();
  stats_.dropped_evicted = outbox_->evicted_total();
  stats_.dropped_dead_letter_overflow = outbox_->dead_letter_dropped_total();
  stats_.pause_reason = drain_->pause_reason();
  stats_.delivery_owner_pid = drain_->delivery_owner_pid();
  if (!drain_->last_error().empty()) {
    stats_.last_error = drain_->last_error();
    last_error_code_ = drain_->last_error_code();
  }
  first_queued_seq_ = outbox_->first_seq();
  blocked_reason_ = drain_->blocked() ? drain_->pause_reason() : std::string();

  // Diagnostics: figures of this process replace those loaded from the outbox once it drains.
  const int64_t now_wall = clock_->wall_ms();
  const int failures = drain_->consecutive_failures();
  const std::string& storage_error = drain_->last_storage_error();
  const std::string& drain_error = drain_->last_error();
  if (!storage_error.empty() && storage_error != storage_error_seen_) {
    storage_error_seen_ = storage_error;
    stats_.last_storage_error = storage_error;
    last_storage_error_code_ = drain_->last_storage_error_code();
    stats_.last_storage_error_at_ms = now_wall;
  }
  if (!drain_error.empty() && drain_error != storage_error &&
      (drain_error != delivery_error_seen_ || failures > failures_seen_)) {
    stats_.last_delivery_error = drain_error;
    stats_.last_delivery_error_at_ms = now_wall;
    drained_here_ = true;
  }
  delivery_error_seen_ = drain_error;
  if (stats_.delivered > delivered_seen_) {
    delivered_seen_ = stats_.delivered;
    stats_.last_success_at_ms = now_wall;
    drained_here_ = true;
    failures_before_open_ = 0;
  }
  if (failures != failures_seen_) drained_here_ = true;
  failures_seen_ = failures;
  if (drained_here_) {
    stats_.consecutive_failures = failures_before_open_ + static_cast<uint64_t>(failures);
    const int64_t retry_at = drain_->retry_at_mono_ms();
    stats_.next_attempt_at_ms = retry_at == 0 ? 0 : now_wall + (retry_at - clock_->mono_ms());
  }
  // Only a process that tried to deliver knows why delivery waits ("paused by the app" from a
  // CLI command that only writes would hide the reason the last drain met).
  if (drained_here_ && !stats_.pause_reason.empty()) stats_.last_pause_reason = stats_.pause_reason;
}

namespace {

constexpr const char* kDeliveryDiagKey = "diag.delivery";
constexpr const char* kStorageDiagKey = "diag.storage";
constexpr int64_t kSuccessPersistIntervalMs = 60000;

template <typename T>
T json_value(const nlohmann::json& doc, const char* key, T fallback) {
  auto it = doc.find(key);
  if (it == doc.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return fallback;
  }
}

}  // namespace

void Client::Impl::load_diagnostics() {
  // Open: no other thread runs yet. Unreadable diagnostics are ignored, never fatal.
  if (auto stored = outbox_->meta(kDeliveryDiagKey)) {
    nlohmann::json doc = nlohmann::json::parse(*stored, nullptr, false);
    if (doc.is_object()) {
      stats_.last_delivery_error = json_value<std::string>(doc, "error", "");
      stats_.last_delivery_error_at_ms = json_value<int64_t>(doc, "error_at_ms", 0);
      stats_.last_pause_reason = json_value<std::string>(doc, "pause_reason", "");
      stats_.consecutive_failures = json_value<uint64_t>(doc, "consecutive_failures", 0);
      failures_before_open_ = stats_.consecutive_failures;
      stats_.next_attempt_at_ms = json_value<int64_t>(doc, "next_attempt_at_ms", 0);
      stats_.last_success_at_ms = json_value<int64_t>(doc, "last_success_at_ms", 0);
      stats_.dropped_queue_full = json_value<uint64_t>(doc, "dropped_queue_full", 0);
      stats_.dropped_consent = json_value<uint64_t>(doc, "dropped_consent", 0);
      persisted_delivery_diag_ = *stored;
      persisted_success_at_ms_ = stats_.last_success_at_ms;
    }
  }
  if (auto stored = outbox_->meta(kStorageDiagKey)) {
    nlohmann::json doc = nlohmann::json::parse(*stored, nullptr, false);
    if (doc.is_object()) {
      stats_.last_storage_error = json_value<std::string>(doc, "error", "");
      // Written since the code was kept: absent, the error is not taken for a storage Status.
      last_storage_error_code_ =
          code_from_name(json_value<std::string>(doc, "code", "")).value_or(Code::kOk);
      stats_.last_storage_error_at_ms = json_value<int64_t>(doc, "at_ms", 0);
      persisted_storage_diag_ = *stored;
    }
  }
  if (stats_.last_error.empty()) {
    const bool delivery = stats_.last_delivery_error_at_ms >= stats_.last_storage_error_at_ms;
    stats_.last_error = delivery ? stats_.last_delivery_error : stats_.last_storage_error;
    last_error_code_ = delivery ? Code::kOk : last_storage_error_code_;
  }
}

void Client::Impl::persist_diagnostics(bool force) {
  if (!outbox_) return;
  Stats s;
  Code storage_code = Code::kOk;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    s = stats_;
    storage_code = last_storage_error_code_;
  }
  // The success time is left out of the comparison: a steady drain would write every batch.
  nlohmann::json delivery = {{"error", s.last_delivery_error},
                             {"error_at_ms", s.last_delivery_error_at_ms},
                             {"pause_reason", s.last_pause_reason},
                             {"consecutive_failures", s.consecutive_failures},
                             {"next_attempt_at_ms", s.next_attempt_at_ms},
                             {"dropped_queue_full", s.dropped_queue_full},
                             {"dropped_consent", s.dropped_consent},
                             {"dropped_evicted", s.dropped_evicted},
                             {"dropped_dead_letter_overflow", s.dropped_dead_letter_overflow}};
  const std::string without_success = delivery.dump();
  delivery["last_success_at_ms"] = s.last_success_at_ms;
  const std::string delivery_text = delivery.dump();
  outbox::MetaUpdates updates;
  const bool changed = [&] {
    nlohmann::json old = nlohmann::json::parse(persisted_delivery_diag_, nullptr, false);
    if (old.is_object()) old.erase("last_success_at_ms");
    return !old.is_object() || old.dump() != without_success;
  }();
  const bool success_due =
      s.last_success_at_ms != persisted_success_at_ms_ &&
      (force || clock_->mono_ms() - persisted_diag_mono_ms_ >= kSuccessPersistIntervalMs);
  if (changed || success_due) updates.emplace_back(kDeliveryDiagKey, delivery_text);
  nlohmann::json storage{{"error", s.last_storage_error}, {"at_ms", s.last_storage_error_at_ms}};
  if (storage_code != Code::kOk) storage["code"] = code_name(storage_code);
  const std::string storage_text = storage.dump();
  if (!s.last_storage_error.empty() && storage_text != persisted_storage_diag_) {
    updates.emplace_back(kStorageDiagKey, storage_text);
  }
  if (updates.empty()) return;
  std::vector<outbox::Entry> none;
  if (!outbox_->commit(none, updates).is_ok()) return;  // e.g. a full disk: kept in memory
  persisted_diag_mono_ms_ = clock_->mono_ms();
  for (const auto& u : updates) {
    if (u.first == kDeliveryDiagKey) {
      persisted_delivery_diag_ = delivery_text;
      persisted_success_at_ms_ = s.last_success_at_ms;
    } else {
      persisted_storage_diag_ = storage_text;
    }
  }
}

void Client::Impl::log(platform::LogLevel level, const std::string& message) {
  if (config_.logger) config_.logger->log(level, message);
}

void Client::Impl::notify_listener(const std::vector<DeliveryEvent>& events) {
  if (!config_.listener) return;
  for (const auto& e : events) config_.listener(e);
}

// ---- hints, stats, dead letters ----

void Client::Impl::hint(std::function<void(drain::DrainLoop&)> change, bool flush) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    if (flush) {
      // After the round's commit: "everything queued" includes writes accepted before the hint.
      hints_.push_back([change = std::move(change)](drain::DrainLoop& d) {
        change(d);
        d.request_flush(-1);
      });
    } else {
      hints_.push_back(std::move(change));
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
    commands_.push_back([this, command, done] {
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
