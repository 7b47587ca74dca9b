// The drain loop: turns the outbox into delivered writes, one batch in flight at a time.
// Runs on the store thread only (every member is store-thread state); responses arrive from
// the HttpClient's thread and are posted back to the store thread before on_response().
//
// step(): pick batch -> (persist it with its key and body) -> send; on_response(): classify ->
// commit the outcome -> schedule. Each step is a small function below, named after it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "experiture/config.hpp"
#include "experiture/platform/file_lock.hpp"
#include "outbox/outbox.hpp"

namespace experiture {
namespace drain {

struct Classification;

// Why the drain loop waits before its next attempt (retry_at_mono_ms()). Decisions are made on
// this value; the reason text (pause_reason()) is for people only.
enum class WaitReason {
  kNone,                  // no wait scheduled yet
  kDeliveryFailed,        // a failed attempt (network, 5xx, unreadable answer): backing off
  kNoToken,               // the token provider gave none (or one unfit for a header)
  kRateLimited,           // 429: waiting as the server asked
  kUnauthorized,          // 401 with a token provider: a new token, then again
  kForbidden,             // 403: checked again after the longest backoff
  kOtherProcessDelivers,  // another process holds the delivery lease
  kStorageError,          // the outbox failed while draining
};

class DrainLoop {
 public:
  struct Deps {
    outbox::Outbox* outbox = nullptr;
    platform::HttpClient* http = nullptr;
    platform::Clock* clock = nullptr;
    crypto::Random* random = nullptr;
    platform::Logger* logger = nullptr;  // may be null
    const Config* config = nullptr;
    // The delivery lease shared by every process on the outbox file; null: always held.
    platform::FileLock* lease = nullptr;
    // Called from any thread with the response to attempt `attempt_id`; must post it to the store
    // thread, which then calls on_response().
    std::function<void(uint64_t attempt_id, platform::HttpResponse response)> post_response;
  };

  explicit DrainLoop(Deps deps);
  DrainLoop(const DrainLoop&) = delete;
  DrainLoop& operator=(const DrainLoop&) = delete;

  // Sends a batch when one is due and nothing pauses delivery. `flush` sends even a small batch
  // before the flush interval.
  void step(bool flush);
  void on_response(uint64_t attempt_id, platform::HttpResponse response);

  // When the loop next has something to do on its own (backoff end, flush interval); nullopt
  // when it waits for an outside event (a write, a response, a hint).
  std::optional<int64_t> next_wakeup_mono_ms() const;

  void set_online(bool online);
  void set_app_paused(bool paused);
  void set_consent(Consent consent);
  // Send everything queued up to and including outbox seq `through_seq` (-1: everything
  // committed so far) without waiting for a full batch or the interval.
  void request_flush(int64_t through_seq);
  // Consent denied or close: forget the request in flight (its response is ignored).
  void abandon_in_flight();

  // After this many 2xx answers in a row that cannot be read, delivery pauses (problem_pause_).
  static constexpr int kMaxUnreadableAnswers = 3;

  // "" when delivery may proceed now (backoff and rate limits are waits, reported too).
  std::string pause_reason() const;
  // True when delivery cannot progress without an outside change (offline, paused by the app,
  // consent unknown, no token, forbidden, a TLS or pinning failure, repeated unreadable 2xx
  // answers): flush() stops waiting and says why.
  bool blocked() const;
  bool sending() const { return in_flight_attempt_ != 0; }
  // The process delivering from this outbox when it is another one (0: none seen, or this one).
  int64_t delivery_owner_pid() const { return other_owner_pid_; }
  // Looks (without waiting, at most once a second unless `now`) who holds the delivery lease,
  // for status: a process that does not deliver takes it only for that instant.
  void observe_lease(bool now);
  size_t in_flight_records() const;
  uint64_t delivered_total() const { return delivered_total_; }
  const std::string& last_error() const { return last_error_; }
  // The code of the Status behind last_error(); kOk when it describes a delivery failure (an
  // HTTP answer or a network error) rather than a Status.
  Code last_error_code() const { return last_error_code_; }
  // Outbox errors met while draining (kept apart from delivery errors), "" when none.
  const std::string& last_storage_error() const { return last_storage_error_; }
  Code last_storage_error_code() const { return last_storage_error_code_; }
  // Failed attempts since the last success.
  int consecutive_failures() const { return failures_; }
  // When the current backoff or rate limit ends (monotonic ms), 0 when none is running.
  int64_t retry_at_mono_ms() const {
    return retry_at_mono_ms_ > deps_.clock->mono_ms() ? retry_at_mono_ms_ : 0;
  }
  // What the current (or last) wait is for; see WaitReason.
  WaitReason wait_reason() const { return wait_reason_; }
  // Events since the last call, to be given to the app's listener outside any lock.
  std::vector<DeliveryEvent> take_events();

 private:
  bool due(bool flush) const;
  // Builds and persists the batch after those already persisted; with only_if_complete, only a
  // run that can no longer grow. The steps: pick the run, correct clock skew, coalesce, persist.
  Status build_batch(bool only_if_complete);
  // How many leading entries form one run: the same (object, kind, match_key), within the body
  // cap. `entries` is not empty.
  static size_t run_length(const std::vector<outbox::Entry>& entries);
  // Moves the SDK's own timestamps (kEntrySdkTimestamps) by the server's clock skew, if any.
  void correct_clock_skew(std::vector<outbox::Entry>& entries) const;
  // One run into a batch: upserts of the same profile merged (coalescer), the request body
  // built, each record's source seqs kept. `entries` is not empty.
  outbox::Batch coalesce(std::vector<outbox::Entry> entries) const;
  // Gives the batch its Idempotency-Key and saves it (Outbox::save_batch) before any send.
  Status persist_batch(outbox::Batch batch);
  void prepare_next_batch();
  // Sends the outbox's batch at `index` (0: the front; 1: the prepared next one, see apply()).
  void send_batch(size_t index = 0);
  bool may_send(int64_t now_mono_ms) const;
  // True when this process holds the delivery lease, taking it if it is free (then everything
  // the previous holder left is read back first). Checked before every batch.
  bool hold_lease();
  std::string token(bool refresh);
  void apply(const Classification& c);
  // Waits `delay_ms` before the next attempt. For kDeliveryFailed, `why` is what failed: it
  // becomes last_error() and is logged; otherwise it is the reason pause_reason() shows.
  void schedule_retry(int64_t delay_ms, WaitReason reason, const std::string& why);
  void on_storage_error(const Status& status);
  void set_last_error(std::string text, Code code);
  void emit(DeliveryEvent::Type type, uint64_t count, const std::string& reason);
  void log_warn(const std::string& message);

  Deps deps_;
  bool online_ = true;
  bool app_paused_ = false;
  Consent consent_ = Consent::kGranted;
  bool forbidden_ = false;
  // Paused by a TLS or pinning failure (the server or a network in between is not the one
  // configured), or by kMaxUnreadableAnswers 2xx answers in a row without a readable body.
  // Cleared by resume() (set_app_paused(false)); a new Config means a new loop.
  std::string problem_pause_;
  int unreadable_answers_ = 0;  // consecutive kUnreadable outcomes
  bool no_token_ = false;
  bool token_refused_ = false;  // a fixed config.token got 401: paused until resume()
  bool refused_401_ = false;    // the last answer about the token was 401
  std::string cached_token_;
  bool refresh_token_ = false;
  uint64_t next_attempt_id_ = 0;
  uint64_t in_flight_attempt_ = 0;     // 0 = nothing in flight
  uint64_t prepared_for_attempt_ = 0;  // the attempt during which a next batch was tried
  int64_t retry_at_mono_ms_ = 0;       // backoff or rate limit end
  bool rate_limited_ = false;          // retry_at_mono_ms_ was set by a 429
  int64_t flush_through_seq_ = 0;
  std::string retry_reason_;
  WaitReason wait_reason_ = WaitReason::kNone;
  int failures_ = 0;         // consecutive failed attempts, for the backoff exponent
  size_t record_limit_ = 0;  // lowered while bisecting or splitting
  int64_t first_queued_seen_mono_ms_ = -1;
  uint64_t delivered_total_ = 0;
  int64_t clock_skew_ms_ = 0;  // server time - device time, when beyond the threshold
  std::string last_error_;
  Code last_error_code_ = Code::kOk;
  std::string last_storage_error_;
  Code last_storage_error_code_ = Code::kOk;
  std::vector<DeliveryEvent> events_;
  // The reason of the last kPaused event until a batch is acknowledged again (then kResumed).
  std::string paused_event_reason_;
  int64_t other_owner_pid_ = 0;
  int64_t lease_observed_mono_ms_ = -1;
};

}  // namespace drain
}  // namespace experiture
