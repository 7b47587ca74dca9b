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
  if (c.ingress_max_bytes < 1) return bad("ingress_max_bytes", "must be at least 1");
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
  client::StoreThread::Deps store;
  auto opened = outbox::Outbox::open(options, &store.open_report);
  if (!opened.is_ok()) return explain_open_failure(config_.storage_path, opened.status());
  store.outbox = std::move(opened).value();
  identity::IdentityState identity = identity::load_identity(*store.outbox);
  Consent consent = config_.initial_consent;
  if (auto stored = store.outbox->meta(kConsentKey)) {
    consent = consent_from(*stored).value_or(consent);
  }

  // First open: a device identity and the anonymous profile that carries it.
  std::vector<IngressItem> first;
  if (identity.device_id.empty()) {
    identity.device_id = crypto::uuid_v4(*random_);
    IngressItem meta;
    meta.meta = identity::identity_meta(identity);
    meta.meta.emplace_back(kConsentKey, consent_name(consent));
    first.push_back(std::move(meta));
    if (consent != Consent::kDenied) {
      Status s = validated_profile_write(
          identity::anonymous_profile(identity, identity_options_, now_iso8601()),
          outbox::kEntryIdentity | outbox::kEntrySdkTimestamps, first);
      if (!s.is_ok()) return s;
    }
  }
  {
    std::lock_guard<std::mutex> lock(identity_state_mutex_);
    identity_ = identity;
  }

  store.config = &config_;
  store.clock = clock_.get();
  store.http = http_.get();
  store.random = random_.get();
  store.logger = config_.logger.get();
  store.listener = config_.listener;
  store.lease = platform::make_file_lock(config_.storage_path + ".lock");
  store.storage_diag_path = client::storage_diag_path(config_.storage_path);
  store.consent = consent;
  store.device_id = identity.device_id;
  store_ = std::make_unique<client::StoreThread>(std::move(store));
  if (!first.empty()) {
    status = enqueue(std::move(first));
    if (!status.is_ok()) return status;
  }
  store_->start();
  return Status::ok();
}

// ---- write path (app threads) ----

// Lock-free early exit for the hot path; the store thread checks both again as it takes a post.
Status Client::Impl::check_open() const {
  return store_->check_open();
}

Status Client::Impl::inside_callback_status(const char* call) {
  return Status(Code::kWrongState,
                std::string(call) +
                    " cannot wait inside an SDK callback (delivery listener, token provider, "
                    "HTTP client): that thread is the one it would wait for");
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
  return accept(
      object, outbox::WriteKind::kUpsert, match_key,
      validator_->upsert_text(object, record_json, match_key, store_->payload_pool().take()));
}

Status Client::Impl::append_text(std::string_view object, std::string_view record_json) {
  Status status = check_open();
  if (!status.is_ok()) return status;
  return accept(object, outbox::WriteKind::kAppend, "",
                validator_->append_text(object, record_json, store_->payload_pool().take()));
}

Status Client::Impl::accept(std::string_view object, outbox::WriteKind kind,
                            std::string_view match_key, Result<std::string> payload) {
  if (!payload.is_ok()) return payload.status();
  IngressItem item;
  item.entry = make_entry(object, kind, match_key, std::move(payload).value(), 0);
  return store_->post_writes(&item, 1);
}

Status Client::Impl::enqueue(std::vector<IngressItem> items) {
  return store_->post_writes(items.data(), items.size());
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
  identity::IdentityState state = identity();
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
    const identity::IdentityState cur = identity();
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
  identity::IdentityState state = identity();
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
  identity::IdentityState state = identity();
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
    {
      std::lock_guard<std::mutex> lock(identity_state_mutex_);
      identity_ = state;
    }
    store_->set_device_id(state.device_id);
  }
  return status;
}

identity::IdentityState Client::Impl::identity() const {
  std::lock_guard<std::mutex> lock(identity_state_mutex_);
  return identity_;
}

std::string Client::Impl::device_id() const {
  std::lock_guard<std::mutex> lock(identity_state_mutex_);
  return identity_.device_id;
}

// ---- consent ----

Status Client::Impl::set_consent(Consent consent) {
  std::lock_guard<std::mutex> identity_lock(identity_mutex_);
  return store_->set_consent(consent, {{kConsentKey, consent_name(consent)}});
}

Consent Client::Impl::consent() const {
  return store_->consent();
}

// ---- waiting calls ----

Status Client::Impl::persist(int64_t timeout_ms) {
  if (in_callback()) return inside_callback_status("persist()");
  return store_->persist(timeout_ms);
}

Status Client::Impl::flush(int64_t timeout_ms) {
  if (in_callback()) return inside_callback_status("flush()");
  return store_->flush(timeout_ms);
}

Status Client::Impl::pump() {
  if (!config_.manual_mode) {
    return Status(Code::kWrongState, "pump() is for manual mode (config.manual_mode)");
  }
  if (in_callback()) return inside_callback_status("pump()");
  return store_->pump();
}

bool Client::Impl::in_callback() const {
  return store_ && store_->in_callback();
}

void Client::Impl::destroy_after_callback(std::unique_ptr<Impl> self) {
  store_->release_owner_after_round(std::shared_ptr<Impl>(std::move(self)));
}

Status Client::Impl::close(int64_t timeout_ms) {
  return store_ ? store_->close(timeout_ms) : Status::ok();
}

// ---- hints, stats, dead letters ----

void Client::Impl::hint(std::function<void(drain::DrainLoop&)> change, bool flush) {
  if (flush) {
    // After the round's commit: "everything queued" includes writes accepted before the hint.
    store_->post_hint([change = std::move(change)](drain::DrainLoop& d) {
      change(d);
      d.request_flush(-1);
    });
  } else {
    store_->post_hint(std::move(change));
  }
}

Stats Client::Impl::stats() const {
  return store_->stats();
}

Result<std::vector<DeadLetter>> Client::Impl::dead_letters(size_t limit) {
  // Shared with the command: it may still run after a timed-out wait returned.
  auto result = std::make_shared<Result<std::vector<DeadLetter>>>(Status(Code::kInternal, ""));
  Status status = store_->run_task(
      [store = store_.get(), result, limit] { *result = store->outbox().dead_letters(limit); },
      kStoreCommandTimeoutMs);
  if (!status.is_ok()) return status;
  return *result;
}

Status Client::Impl::retry_dead_letters() {
  auto result = std::make_shared<Status>();
  Status status = store_->run_task(
      [store = store_.get(), result] {
        auto moved = store->outbox().retry_dead_letters();
        if (!moved.is_ok()) *result = moved.status();
      },
      kStoreCommandTimeoutMs);
  return status.is_ok() ? *result : status;
}

Status Client::Impl::purge_dead_letters() {
  auto result = std::make_shared<Status>();
  Status status = store_->run_task(
      [store = store_.get(), result] {
        auto purged = store->outbox().purge_dead_letters();
        if (!purged.is_ok()) *result = purged.status();
      },
      kStoreCommandTimeoutMs);
  return status.is_ok() ? *result : status;
}

}  // namespace experiture
