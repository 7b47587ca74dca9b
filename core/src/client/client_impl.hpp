// Client::Impl: the facade (client_impl.cpp: validates on the app's thread and posts to the
// inbox, store_inbox.hpp) and the store thread that owns the outbox and runs the drain loop
// (store_thread.cpp: one loop, the store work, the waits).
//
// Locking: mutex_ guards everything marked "guarded"; it is never held during SQLite work, HTTP
// calls, or listener callbacks. identity_mutex_ serialises identity operations (taken before
// mutex_, never after).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/payload_pool.hpp"
#include "client/store_inbox.hpp"
#include "crypto/random.hpp"
#include "crypto/sealer.hpp"
#include "drain/drain_loop.hpp"
#include "experiture/client.hpp"
#include "identity/identity.hpp"
#include "outbox/outbox.hpp"
#include "record/record_validator.hpp"

namespace experiture {

class EXPERITURE_HIDDEN Client::Impl {
 public:
  explicit Impl(Config config);
  ~Impl();

  Status open();

  // Client::unwritable_record(): a JSON document the app passed could not be written as text.
  Status unwritable_record(std::string_view object, bool is_object, bool is_empty,
                           const std::string& field);
  // The same from record text: valid records skip the DOM (RecordValidator::upsert_text).
  Status upsert_text(std::string_view object, std::string_view record_json,
                     std::string_view match_key);
  Status append_text(std::string_view object, std::string_view record_json);
  Status set_push_token(std::string_view token);
  Status login(const LoginInfo& info);
  Status logout();
  std::string device_id() const;
  Status set_consent(Consent consent);
  Consent consent() const;
  Status persist(int64_t timeout_ms);
  Status flush(int64_t timeout_ms);
  Status close(int64_t timeout_ms);
  Status pump();
  // True on the thread running this client's store work (the store thread, or a pump() in
  // manual mode): inside the listener, the token provider, or an HTTP send made by the SDK.
  bool in_callback() const;
  // ~Client called from one of this client's own callbacks: the store thread cannot join or
  // delete itself there, so it closes, and the Impl deletes itself when its store work returns.
  void destroy_after_callback(std::unique_ptr<Impl> self);
  // Runs `change` on the store thread at its next round (after that round's commit) and wakes
  // it. With `flush`, everything committed by then is then sent at once, without waiting for a
  // full batch or the flush interval (on_background()). Any thread; never waits.
  void hint(std::function<void(drain::DrainLoop&)> change, bool flush);
  Stats stats() const;
  Result<std::vector<DeadLetter>> dead_letters(size_t limit);
  Status retry_dead_letters();
  Status purge_dead_letters();

 private:
  using IngressItem = client::IngressItem;

  // kWrongState for a waiting `call` made inside one of this client's callbacks.
  static Status inside_callback_status(const char* call);
  Status check_open() const;
  // logout() with identity_mutex_ already held by the caller.
  Status logout_locked();
  // Marks the client closed and asks the store thread to stop, without waiting (any thread).
  void request_stop();
  // Runs one step() with the current thread marked as running this client's callbacks.
  void step_marked(client::StoreInbox& round);
  Status accept(std::string_view object, outbox::WriteKind kind, std::string_view match_key,
                Result<std::string> payload);
  outbox::Entry make_entry(std::string_view object, outbox::WriteKind kind,
                           std::string_view match_key, std::string payload, uint32_t flags);
  Status enqueue(std::vector<IngressItem> items);
  Status enqueue(IngressItem* items, size_t count);  // moves from items on success
  // Queues identity writes with `state` persisted alongside; on success it becomes identity_.
  Status enqueue_identity(std::vector<IngressItem> items, const identity::IdentityState& state);
  Status validated_profile_write(const identity::ProfileWrite& write, uint32_t flags,
                                 std::vector<IngressItem>& out);
  std::string now_iso8601();
  // Runs `command` on the store thread and waits for it (or runs it inline in manual mode).
  Status run_on_store(const std::function<void()>& command, int64_t timeout_ms);
  Status wait_until(const std::function<bool()>& done, int64_t timeout_ms,
                    const std::function<std::optional<Status>()>& give_up);

  void run();
  // One round of store work on what the inbox held: commit the writes, apply the hints, run
  // the tasks, apply the responses, drain, publish.
  void step(client::StoreInbox& round);
  // step() behind the store thread's boundary guard: an exception (std::bad_alloc above all)
  // is logged and reported in stats().last_error instead of terminating the app.
  void step_guarded(client::StoreInbox& round) noexcept;
  void commit_ingress(std::vector<IngressItem>& items);
  // After a failed commit: items[from..] go back to the front of the ingress queue, retried later.
  void requeue(std::vector<IngressItem>& items, size_t from, const Status& why);
  void publish();
  // The outbox met damage: recover it (store thread) and report.
  void recover_outbox();
  void report_recovery(const outbox::Outbox::OpenReport& report);
  // Loads the diagnostics a previous process kept in the outbox into stats_ (open()).
  void load_diagnostics();
  // The outbox's damage totals (kept in its meta) into stats_ (open(), or with mutex_ held).
  void read_damage_totals();
  // Writes the last storage error to the sidecar file next to the outbox (store thread).
  void write_storage_sidecar(const std::string& error, Code code, int64_t at_ms);
  // Writes stats_'s delivery diagnostics to the outbox when they changed (a success time alone
  // at most once a minute, or with `force`). Store thread; a failed write is ignored.
  void persist_diagnostics(bool force);
  void log(platform::LogLevel level, const std::string& message);
  void notify_listener(const std::vector<DeliveryEvent>& events);

  // Immutable after open().
  Config config_;
  std::shared_ptr<platform::Clock> clock_;
  std::shared_ptr<platform::HttpClient> http_;
  std::unique_ptr<record::RecordValidator> validator_;
  std::unique_ptr<crypto::Random> random_;
  std::unique_ptr<crypto::Sealer> sealer_;           // when config_.encryption_key is set
  std::unique_ptr<crypto::Sealer> previous_sealer_;  // key rotation: opens older rows
  identity::IdentityOptions identity_options_;

  std::mutex identity_mutex_;
  std::mutex close_mutex_;               // app threads: one teardown at a time
  bool torn_down_ = false;               // guarded by close_mutex_: joined and released
  std::unique_ptr<Impl> self_;           // guarded: set by destroy_after_callback()
  std::mutex pump_mutex_;                // manual mode: one pump() at a time
  std::shared_ptr<void> response_sink_;  // see ResponseSink in client_impl.cpp

  mutable std::mutex mutex_;
  std::condition_variable store_cv_;    // wakes the store thread
  std::condition_variable waiters_cv_;  // wakes persist/flush/command waiters
  // Guarded: what is posted to the store thread. Double-buffered with round_: lanes are
  // swapped whole under mutex_, so both keep their capacity and an accept allocates nothing.
  client::StoreInbox inbox_;
  uint64_t accept_seq_ = 0;               // guarded: last accept sequence handed out
  uint64_t durable_seq_ = 0;              // guarded: everything up to here is committed
  int64_t durable_outbox_seq_ = 0;        // guarded: outbox seq of the last committed entry
  int64_t first_queued_seq_ = 0;          // guarded: oldest entry still queued (0 = none)
  int64_t ingress_since_mono_ms_ = 0;     // guarded: when the oldest ingress item arrived
  bool store_waiting_ = false;            // guarded
  bool stopping_ = false;                 // guarded
  bool closed_ = false;                   // guarded
  std::atomic<bool> closed_flag_{false};  // mirrors closed_ for check_open()
  std::atomic<bool> denied_flag_{false};  // mirrors consent_ == kDenied for check_open()
  bool thread_done_ = false;              // guarded
  uint64_t store_round_ = 0;              // guarded: completed step() rounds
  std::string blocked_reason_;            // guarded: drain cannot progress and why
  identity::IdentityState identity_;      // guarded
  Consent consent_ = Consent::kGranted;   // guarded
  Stats stats_;                           // guarded
  // Guarded: the codes of the Statuses behind stats_.last_error and stats_.last_storage_error
  // (kOk when the text is not a Status: a delivery failure, a recovery report). A successful
  // commit clears a last_error whose code is a storage one; decided on the code, never the text.
  Code last_error_code_ = Code::kOk;
  Code last_storage_error_code_ = Code::kOk;

  // Store thread only.
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<platform::FileLock> lease_;  // "<storage_path>.lock": who delivers
  std::unique_ptr<drain::DrainLoop> drain_;
  int64_t commit_retry_at_mono_ms_ = 0;
  client::StoreInbox round_;  // the other half of inbox_: the round being run; empty between
  std::vector<DeliveryEvent> pending_events_;  // for the listener at the next round
  std::thread thread_;
  // Store thread only: what persist_diagnostics() last wrote, and when (mono ms).
  std::string persisted_delivery_diag_;
  std::string persisted_storage_diag_;
  int64_t persisted_success_at_ms_ = 0;
  int64_t persisted_diag_mono_ms_ = 0;

  // Guarded by mutex_: publish()'s view of the drain between rounds, for the diagnostics.
  uint64_t delivered_seen_ = 0;
  int failures_seen_ = 0;
  std::string delivery_error_seen_;
  std::string storage_error_seen_;
  // The sidecar that shows the last storage error to other processes during a full disk, and
  // what was last written to it (store thread; path set at open).
  std::string storage_diag_path_;
  std::string storage_diag_written_;
  uint64_t failures_before_open_ = 0;  // failed attempts of earlier processes, until a success
  bool drained_here_ = false;  // this process attempted delivery: its figures replace loaded ones

  // Any thread: buffers for stored forms, returned by the store thread after each commit.
  PayloadPool payload_pool_;
};

}  // namespace experiture
