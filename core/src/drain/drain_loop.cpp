#include "drain/drain_loop.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "crypto/uuid.hpp"
#include "drain/coalescer.hpp"
#include "drain/request_builder.hpp"
#include "drain/response_classifier.hpp"
#include "drain/retry_policy.hpp"
#include "json/json.hpp"
#include "record/stored_form.hpp"
#include "record/timestamp.hpp"

namespace experiture {
namespace drain {
namespace {

// While another process holds the delivery lease, it is tried again this often.
constexpr int64_t kLeaseRetryMs = 1000;

// Timestamp fields the SDK writes itself; only these are corrected for device clock skew.
const char* const kSdkTimestampFields[] = {"last_seen_at", "last_login_at"};

// True when no two entries carry the same string value of `match_key`. Coalescing such a run
// changes nothing (every group is one record, emitted in place, dumped to the same compact
// text), so the stored payloads can be sent as they are, without a parse and a dump per record.
bool match_key_values_distinct(const std::vector<outbox::Entry>& entries,
                               const std::string& match_key) {
  std::unordered_set<std::string> seen;
  seen.reserve(entries.size());
  std::string value;
  for (const auto& e : entries) {
    using Lookup = record::StoredForm::Lookup;
    const Lookup found = record::StoredForm::top_level_string(e.payload, match_key, &value);
    // kUnreadable: not JSON (stored forms are validated, at most 32 levels deep, so every one
    // is readable); like an absent key, it cannot repeat a value.
    if (found != Lookup::kString) continue;
    if (!seen.insert(value).second) return false;
  }
  return true;
}

std::string describe(const Classification& c) {
  std::string out = c.http_status != 0 ? "HTTP " + std::to_string(c.http_status) : "network error";
  if (!c.code.empty()) out += " " + c.code;
  if (!c.correlation_id.empty()) out += " (correlation id " + c.correlation_id + ")";
  return out;
}

// For a transport failure: where and what, e.g. " to api.example.com:443 (could not connect):
// Failed to connect to ... Couldn't connect to server". "" for an HTTP answer.
std::string network_detail(const Classification& c, const std::string& endpoint) {
  if (c.http_status != 0) return std::string();
  std::string host = endpoint;
  const size_t scheme = host.find("://");
  if (scheme != std::string::npos) host = host.substr(scheme + 3);
  host = host.substr(0, host.find('/'));
  const size_t at = host.rfind('@');  // never show credentials in a URL
  if (at != std::string::npos) host = host.substr(at + 1);
  std::string kind = "network failure";
  if (c.code == "NETWORK.CONNECT") kind = "could not connect: refused or unreachable";
  if (c.code == "NETWORK.DNS") kind = "DNS failure: the host name did not resolve";
  if (c.code == "NETWORK.TIMEOUT") kind = "timed out";
  if (c.code == "NETWORK.TLS") kind = "TLS handshake or certificate failed";
  if (c.code == "NETWORK.PINNING") kind = "server key matched no pin";
  if (c.code == "NETWORK.RESET") kind = "connection dropped mid-exchange";
  return " to " + host + " (" + kind + ")" + (c.message.empty() ? "" : ": " + c.message);
}

}  // namespace

DrainLoop::DrainLoop(Deps deps) : deps_(std::move(deps)) {
  record_limit_ = deps_.config->batch_size;
}

void DrainLoop::set_online(bool online) {
  online_ = online;
  // Connectivity back: try at once, unless the server asked us to wait.
  if (online && !rate_limited_) retry_at_mono_ms_ = 0;
}

void DrainLoop::set_app_paused(bool paused) {
  app_paused_ = paused;
  if (!paused && (forbidden_ || token_refused_ || !problem_pause_.empty())) {
    // resume() is the app's way to say "try again now" after a 403, a refused fixed token, a TLS
    // or pinning failure, or unreadable answers.
    forbidden_ = false;
    token_refused_ = false;
    problem_pause_.clear();
    unreadable_answers_ = 0;
    retry_at_mono_ms_ = 0;
  }
}

void DrainLoop::set_consent(Consent consent) {
  consent_ = consent;
}

void DrainLoop::request_flush(int64_t through_seq) {
  if (through_seq < 0) through_seq = deps_.outbox->last_seq();
  flush_through_seq_ = std::max(flush_through_seq_, through_seq);
  if (no_token_) retry_at_mono_ms_ = 0;  // the app may have a token now
}

void DrainLoop::abandon_in_flight() {
  in_flight_attempt_ = 0;
  retry_at_mono_ms_ = 0;
  failures_ = 0;
}

size_t DrainLoop::in_flight_records() const {
  const auto& batch = deps_.outbox->batch();
  return in_flight_attempt_ != 0 && batch ? batch->record_count() : 0;
}

bool DrainLoop::blocked() const {
  return !online_ || app_paused_ || consent_ != Consent::kGranted || forbidden_ || no_token_ ||
         token_refused_ || !problem_pause_.empty();
}

std::string DrainLoop::pause_reason() const {
  if (!online_) return "offline";
  if (app_paused_) return "paused by the app";
  if (consent_ == Consent::kUnknown) return "consent unknown: nothing is sent until it is granted";
  if (consent_ == Consent::kDenied) return "consent denied";
  if (forbidden_) return "forbidden (403): the token may not write to this workspace";
  if (token_refused_) {
    return "unauthorized (401): the server refused the token (config.token); reopen with a new "
           "token, or set a token provider, then resume()";
  }
  if (no_token_) {
    // After a 401 the provider had no other token: the refusal is the news, not "no token".
    return refused_401_ ? "unauthorized (401): the server refused the token and the token "
                          "provider returned no other"
                        : "no token: the token provider returned none";
  }
  if (!problem_pause_.empty()) return problem_pause_;
  if (retry_at_mono_ms_ > deps_.clock->mono_ms()) return retry_reason_;
  return std::string();
}

std::optional<int64_t> DrainLoop::next_wakeup_mono_ms() const {
  if (in_flight_attempt_ != 0) return std::nullopt;
  if (!online_ || app_paused_ || consent_ != Consent::kGranted) return std::nullopt;
  const int64_t now = deps_.clock->mono_ms();
  if (retry_at_mono_ms_ > now) return retry_at_mono_ms_;
  if (forbidden_ || token_refused_ || !problem_pause_.empty()) return std::nullopt;
  if (deps_.outbox->batch()) return now;
  if (deps_.outbox->queued_records() == 0) return std::nullopt;
  if (deps_.outbox->first_seq() <= flush_through_seq_) return now;
  if (deps_.outbox->queued_records() >= deps_.config->batch_size) return now;
  if (first_queued_seen_mono_ms_ < 0) return now;
  return first_queued_seen_mono_ms_ + deps_.config->flush_interval_ms;
}

std::vector<DeliveryEvent> DrainLoop::take_events() {
  std::vector<DeliveryEvent> out;
  out.swap(events_);
  return out;
}

bool DrainLoop::due(bool flush) const {
  if (deps_.outbox->batch()) return true;  // persisted earlier: resend the same bytes
  if (deps_.outbox->queued_records() == 0) return false;
  if (flush || deps_.outbox->first_seq() <= flush_through_seq_) return true;
  if (deps_.outbox->queued_records() >= deps_.config->batch_size) return true;
  return deps_.clock->mono_ms() - first_queued_seen_mono_ms_ >= deps_.config->flush_interval_ms;
}

void DrainLoop::step(bool flush) {
  const int64_t now = deps_.clock->mono_ms();
  if (deps_.outbox->queued_records() == 0 && !deps_.outbox->batch()) {
    first_queued_seen_mono_ms_ = -1;
  } else if (first_queued_seen_mono_ms_ < 0) {
    first_queued_seen_mono_ms_ = now;
  }
  if (in_flight_attempt_ != 0) {
    prepare_next_batch();
    return;
  }
  if (!may_send(now)) {
    // Blocked here (offline, paused, consent): another process may deliver meanwhile.
    if (blocked() && deps_.lease != nullptr && deps_.lease->held()) deps_.lease->unlock();
    observe_lease(false);
    return;
  }
  rate_limited_ = false;
  if (!due(flush)) return;
  if (!hold_lease()) return;
  if (!deps_.outbox->batch()) {
    Status status = build_batch(false);
    if (!status.is_ok()) {
      on_storage_error(status);
      return;
    }
    if (!deps_.outbox->batch()) return;
  }
  send_batch();
  prepare_next_batch();
}

bool DrainLoop::may_send(int64_t now_mono_ms) const {
  return online_ && !app_paused_ && consent_ == Consent::kGranted && !token_refused_ &&
         problem_pause_.empty() && retry_at_mono_ms_ <= now_mono_ms;
}

bool DrainLoop::hold_lease() {
  if (deps_.lease == nullptr || deps_.lease->held()) return true;
  lease_observed_mono_ms_ = deps_.clock->mono_ms();
  if (!deps_.lease->try_lock()) {
    other_owner_pid_ = deps_.lease->holder_pid();
    schedule_retry(kLeaseRetryMs, WaitReason::kOtherProcessDelivers,
                   "another process (pid " + std::to_string(other_owner_pid_) + ") is delivering");
    return false;
  }
  other_owner_pid_ = 0;
  // Taking over: the previous holder's persisted batches are re-sent with their own keys and
  // bytes, and the counters are the file's.
  Status status = deps_.outbox->reload();
  if (!status.is_ok()) {
    deps_.lease->unlock();
    on_storage_error(status);
    return false;
  }
  prepared_for_attempt_ = 0;
  return true;
}

void DrainLoop::observe_lease(bool now) {
  if (deps_.lease == nullptr || deps_.lease->held()) {
    other_owner_pid_ = 0;
    return;
  }
  const int64_t mono = deps_.clock->mono_ms();
  if (!now && lease_observed_mono_ms_ >= 0 && mono - lease_observed_mono_ms_ < kLeaseRetryMs)
    return;
  lease_observed_mono_ms_ = mono;
  if (deps_.lease->try_lock()) {
    deps_.lease->unlock();  // free: this process is not delivering now, so it does not keep it
    other_owner_pid_ = 0;
  } else {
    other_owner_pid_ = deps_.lease->holder_pid();
  }
}

void DrainLoop::prepare_next_batch() {
  // Pipelining: while one batch is on the wire, the next is built and persisted (its fsync
  // overlaps the network). Still one batch in flight: it is sent when the first completes.
  if (in_flight_attempt_ == 0 || prepared_for_attempt_ == in_flight_attempt_) return;
  if (deps_.outbox->next_batch() != nullptr) return;
  prepared_for_attempt_ = in_flight_attempt_;
  Status status = build_batch(true);
  if (!status.is_ok()) log_warn("drain: preparing the next batch failed: " + status.to_string());
}

Status DrainLoop::build_batch(bool only_if_complete) {
  auto read = deps_.outbox->read_entries(deps_.outbox->batched_through_seq(), record_limit_);
  if (!read.is_ok()) return read.status();
  std::vector<outbox::Entry>& entries = read.value();
  if (entries.empty()) return Status::ok();
  const size_t run = run_length(entries);
  // A prepared batch must be one the normal path would build too: a run that cannot grow
  // (ended by another run or a cap, or full) or one a flush asked for.
  const bool complete =
      run < entries.size() || run == record_limit_ || entries.front().seq <= flush_through_seq_;
  if (only_if_complete && !complete) return Status::ok();
  entries.resize(run);
  correct_clock_skew(entries);
  return persist_batch(coalesce(std::move(entries)));
}

size_t DrainLoop::run_length(const std::vector<outbox::Entry>& entries) {
  // A run: consecutive entries with the same (object, kind, match_key), within the body cap.
  const outbox::Entry& head = entries.front();
  size_t run = 0;
  size_t bytes = 0;
  while (run < entries.size()) {
    const outbox::Entry& e = entries[run];
    if (e.object != head.object || e.kind != head.kind || e.match_key != head.match_key) break;
    if (run > 0 && bytes + e.payload.size() + 1 > kMaxBatchBodyBytes - kBodyOverheadBytes) break;
    bytes += e.payload.size() + 1;
    ++run;
  }
  return run;
}

void DrainLoop::correct_clock_skew(std::vector<outbox::Entry>& entries) const {
  if (clock_skew_ms_ == 0) return;
  for (auto& e : entries) {
    if ((e.flags & outbox::kEntrySdkTimestamps) == 0) continue;
    json::Value doc;
    if (!json::parse(e.payload, &doc) || !doc.is_object()) continue;
    for (const char* field : kSdkTimestampFields) {
      json::Value* value = doc.find(field);
      if (value == nullptr || !value->is_string()) continue;
      if (auto ms = record::parse_iso8601_ms(value->text())) {
        *value = record::format_iso8601_utc_ms(*ms + clock_skew_ms_);
      }
    }
    e.payload = doc.dump();
  }
}

outbox::Batch DrainLoop::coalesce(std::vector<outbox::Entry> entries) const {
  const outbox::Entry& head = entries.front();
  outbox::Batch batch;
  batch.object = head.object;
  batch.kind = head.kind;
  batch.match_key = head.match_key;
  std::vector<std::string> records;
  if (head.kind == outbox::WriteKind::kUpsert &&
      !match_key_values_distinct(entries, head.match_key)) {
    std::vector<json::Value> parsed(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) json::parse(entries[i].payload, &parsed[i]);
    const auto& keys = deps_.config->identity_keys.count(head.object)
                           ? deps_.config->identity_keys.at(head.object)
                           : deps_.config->default_identity_keys;
    for (auto& c : coalesce_upserts_with_sources(std::move(parsed), head.match_key, keys)) {
      records.push_back(c.record.dump());
      std::vector<int64_t> seqs;
      for (size_t i : c.sources) seqs.push_back(entries[i].seq);
      batch.sources.push_back(std::move(seqs));
    }
  } else {
    for (auto& e : entries) {
      records.push_back(std::move(e.payload));
      batch.sources.push_back({e.seq});
    }
  }
  batch.body =
      build_body(batch.kind == outbox::WriteKind::kUpsert ? BatchKind::kUpsert : BatchKind::kAppend,
                 records, batch.match_key);
  return batch;
}

Status DrainLoop::persist_batch(outbox::Batch batch) {
  // Every later send of this batch, also after a restart, uses this key and these bytes.
  batch.idempotency_key = crypto::uuid_v4(*deps_.random);
  return deps_.outbox->save_batch(batch);
}

std::string DrainLoop::token(bool refresh) {
  if (deps_.config->token_provider) {
    if (refresh || cached_token_.empty()) cached_token_ = deps_.config->token_provider(refresh);
    return cached_token_;
  }
  return deps_.config->token;
}

void DrainLoop::send_batch(size_t index) {
  const std::string bearer = token(refresh_token_);
  refresh_token_ = false;
  if (bearer.empty()) {
    no_token_ = true;
    schedule_retry(full_jitter_delay_ms(deps_.config->retry, failures_++, deps_.random->next_u64()),
                   WaitReason::kNoToken, "no token: the token provider returned none");
    emit(DeliveryEvent::Type::kPaused, 0, "no token");
    return;
  }
  no_token_ = false;
  Status status = deps_.outbox->record_attempt(index);
  if (!status.is_ok()) {
    on_storage_error(status);
    return;
  }
  const outbox::Batch& batch = index == 0 ? *deps_.outbox->batch() : *deps_.outbox->next_batch();
  const BatchKind kind =
      batch.kind == outbox::WriteKind::kUpsert ? BatchKind::kUpsert : BatchKind::kAppend;
  auto built = build_request(deps_.config->endpoint, batch.object, kind, batch.record_count(),
                             batch.body, bearer, batch.idempotency_key);
  if (!built.is_ok()) {
    // A token that cannot go in a header is as good as none; the provider is asked again.
    no_token_ = true;
    cached_token_.clear();
    set_last_error(built.status().to_string(), built.status().code());
    schedule_retry(full_jitter_delay_ms(deps_.config->retry, failures_++, deps_.random->next_u64()),
                   WaitReason::kNoToken, "no token: " + built.status().message());
    return;
  }
  platform::HttpRequest request = std::move(built).value();
  request.timeout_ms = deps_.config->http_timeout_ms;
  const uint64_t id = ++next_attempt_id_;
  in_flight_attempt_ = id;
  auto post = deps_.post_response;
  deps_.http->send(std::move(request),
                   [post, id](platform::HttpResponse response) { post(id, std::move(response)); });
}

void DrainLoop::on_response(uint64_t attempt_id, platform::HttpResponse response) {
  if (attempt_id != in_flight_attempt_ || !deps_.outbox->batch()) return;  // abandoned
  in_flight_attempt_ = 0;
  const int64_t now_wall = deps_.clock->wall_ms();
  Classification c = classify_response(response, deps_.outbox->batch()->record_count(), now_wall);
  if (c.server_date_ms) {
    const int64_t skew = *c.server_date_ms - now_wall;
    const bool off = skew > deps_.config->clock_skew_threshold_ms ||
                     -skew > deps_.config->clock_skew_threshold_ms;
    clock_skew_ms_ = off ? skew : 0;
  }
  apply(c);
}

void DrainLoop::apply(const Classification& c) {
  // A copy of what is used below: completing or abandoning the batch drops the outbox's own.
  const std::vector<std::vector<int64_t>> sources = deps_.outbox->batch()->sources;
  const size_t count = sources.size();
  std::vector<std::pair<size_t, outbox::DeadLetterReason>> rejected;
  auto reason_for = [&c](const std::string& code, const std::string& message) {
    outbox::DeadLetterReason r;
    r.http_status = c.http_status;
    r.code = code.empty() ? c.code : code;
    r.message = message.empty() ? c.message : message;
    r.correlation_id = c.correlation_id;
    return r;
  };
  for (const auto& r : c.rejected) rejected.emplace_back(r.index, reason_for(r.code, r.message));
  const int64_t now = deps_.clock->mono_ms();
  Status status;
  switch (c.outcome) {
    case Outcome::kDelivered: {
      refused_401_ = false;
      // Pipelining, second half: the next batch (persisted while this one was on the wire) is
      // sent before this one's rows are deleted, so that deletion overlaps the network too.
      // Still one batch in flight. If the deletion fails, the next batch's response must not be
      // applied to this one: it is abandoned, and both are re-sent later with their own keys
      // and bytes (the server replays them).
      const bool pipelined = deps_.outbox->next_batch() != nullptr && may_send(now);
      if (pipelined) send_batch(1);
      status = deps_.outbox->complete_batch(rejected);
      if (!status.is_ok()) {
        if (pipelined) abandon_in_flight();
        break;
      }
      failures_ = 0;
      unreadable_answers_ = 0;
      record_limit_ = deps_.config->batch_size;
      uint64_t delivered = 0;
      for (const auto& s : sources) delivered += s.size();
      for (const auto& r : rejected) {
        if (r.first < count) delivered -= std::min<uint64_t>(delivered, sources[r.first].size());
      }
      delivered_total_ += delivered;
      if (!paused_event_reason_.empty()) {
        // The first acknowledged batch since a kPaused event: the pause is over.
        emit(DeliveryEvent::Type::kResumed, 0, "delivering again after: " + paused_event_reason_);
        paused_event_reason_.clear();
      }
      emit(DeliveryEvent::Type::kDelivered, delivered, "");
      if (!rejected.empty()) {
        emit(DeliveryEvent::Type::kDeadLettered, rejected.size(), describe(c) + ": " + c.message);
      }
      first_queued_seen_mono_ms_ = deps_.outbox->queued_records() > 0 ? now : -1;
      return;
    }
    case Outcome::kRetry:
      if (c.code == "NETWORK.TLS" || c.code == "NETWORK.PINNING") {
        // Not the server configured (or not reachable as configured): retrying cannot help
        // until something changes. The message is the TLS stack's: host and step, no secrets.
        problem_pause_ =
            std::string(c.code == "NETWORK.PINNING" ? "TLS pinning failure: " : "TLS failure: ") +
            c.message +
            "; delivery paused until resume() or a client opened with another tls "
            "config";
        set_last_error(describe(c) + network_detail(c, deps_.config->endpoint), Code::kOk);
        log_warn("drain: " + problem_pause_);
        emit(DeliveryEvent::Type::kPaused, 0, problem_pause_);
        return;
      }
      schedule_retry(
          full_jitter_delay_ms(deps_.config->retry, failures_++, deps_.random->next_u64()),
          WaitReason::kDeliveryFailed, describe(c) + network_detail(c, deps_.config->endpoint));
      return;
    case Outcome::kRateLimited:
      rate_limited_ = true;
      schedule_retry(
          rate_limit_delay_ms(c.retry_after_ms, deps_.config->retry, deps_.random->next_u64()),
          WaitReason::kRateLimited, "rate limited (429): waiting as the server asked");
      emit(DeliveryEvent::Type::kPaused, 0, "rate limited");
      return;
    case Outcome::kUnauthorized:
      refused_401_ = true;
      if (!deps_.config->token_provider) {
        // A fixed token cannot be refreshed: retrying it is pointless. Paused (flush() returns
        // PAUSED) until resume() or a new Client with another token.
        token_refused_ = true;
        set_last_error("the server refused the token (401 " + c.code + ")", Code::kOk);
        log_warn("delivery paused: " + last_error_ + "; give a new token, then resume()");
        emit(DeliveryEvent::Type::kPaused, 0, "unauthorized (401): the server refused the token");
        ++failures_;
        return;
      }
      refresh_token_ = true;
      cached_token_.clear();
      // The first 401 retries at once with a new token; repeated ones back off.
      schedule_retry(failures_ == 0 ? 0
                                    : full_jitter_delay_ms(deps_.config->retry, failures_,
                                                           deps_.random->next_u64()),
                     WaitReason::kUnauthorized, "unauthorized (401): getting a new token");
      ++failures_;
      return;
    case Outcome::kForbidden:
      forbidden_ = true;
      set_last_error(describe(c), Code::kOk);
      // Checked again after the longest backoff, or at once after resume().
      schedule_retry(deps_.config->retry.cap_ms, WaitReason::kForbidden, "forbidden (403)");
      emit(DeliveryEvent::Type::kPaused, 0, "forbidden (403): " + c.message);
      return;
    case Outcome::kRejectRecords:
    case Outcome::kDeadLetterAll: {
      if (c.outcome == Outcome::kDeadLetterAll) {
        rejected.clear();
        for (size_t i = 0; i < count; ++i) rejected.emplace_back(i, reason_for("", ""));
      }
      status = deps_.outbox->abandon_batch(rejected);
      if (!status.is_ok()) break;
      failures_ = 0;
      set_last_error(describe(c), Code::kOk);
      emit(DeliveryEvent::Type::kDeadLettered, rejected.size(), describe(c) + ": " + c.message);
      return;
    }
    case Outcome::kUnreadable:
      // No proof of delivery: the batch stays; the same key and bytes go out again.
      set_last_error(describe(c) + ": " + c.message, Code::kOk);
      if (++unreadable_answers_ >= kMaxUnreadableAnswers) {
        problem_pause_ = std::to_string(unreadable_answers_) +
                         " answers in a row were 2xx without a readable body (" + describe(c) +
                         ": " + c.message +
                         "; a captive portal or a proxy?); delivery paused until resume()";
        log_warn("drain: " + problem_pause_);
        emit(DeliveryEvent::Type::kPaused, 0, problem_pause_);
        return;
      }
      schedule_retry(
          full_jitter_delay_ms(deps_.config->retry, failures_++, deps_.random->next_u64()),
          WaitReason::kDeliveryFailed, describe(c) + ": " + c.message);
      return;
    case Outcome::kBisect:
    case Outcome::kSplit: {
      // Not applied: try again with half as many records until the bad one stands alone.
      size_t entries = 0;
      for (const auto& s : sources) entries += s.size();
      record_limit_ = std::max<size_t>(1, entries / 2);
      status = deps_.outbox->abandon_batch({});
      if (!status.is_ok()) break;
      return;
    }
  }
  on_storage_error(status);
}

void DrainLoop::schedule_retry(int64_t delay_ms, WaitReason reason, const std::string& why) {
  retry_at_mono_ms_ = deps_.clock->mono_ms() + std::max<int64_t>(0, delay_ms);
  wait_reason_ = reason;
  if (reason != WaitReason::kDeliveryFailed) {
    retry_reason_ = why;
    return;
  }
  // A failed attempt: `why` says what failed; it is the last error, and the wait names it.
  retry_reason_ = "retrying after " + why;
  set_last_error(why, Code::kOk);
  log_warn("delivery failed: " + last_error_ + "; retrying in " +
           std::to_string(std::max<int64_t>(0, delay_ms)) + " ms");
}

void DrainLoop::on_storage_error(const Status& status) {
  set_last_error(status.to_string(), status.code());
  last_storage_error_ = last_error_;
  last_storage_error_code_ = status.code();
  log_warn("drain: " + status.to_string());
  schedule_retry(full_jitter_delay_ms(deps_.config->retry, failures_++, deps_.random->next_u64()),
                 WaitReason::kStorageError, "storage error: " + status.message());
}

void DrainLoop::set_last_error(std::string text, Code code) {
  last_error_ = std::move(text);
  last_error_code_ = code;
}

void DrainLoop::emit(DeliveryEvent::Type type, uint64_t count, const std::string& reason) {
  if (type == DeliveryEvent::Type::kPaused) paused_event_reason_ = reason;
  const bool countless =
      type == DeliveryEvent::Type::kPaused || type == DeliveryEvent::Type::kResumed;
  if (!countless && count == 0) return;
  events_.push_back(DeliveryEvent{type, count, reason});
}

void DrainLoop::log_warn(const std::string& message) {
  if (deps_.logger != nullptr) deps_.logger->log(platform::LogLevel::kWarn, message);
}

}  // namespace drain
}  // namespace experiture
