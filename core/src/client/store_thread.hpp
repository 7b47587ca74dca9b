// StoreThread: the one thread that owns the outbox file. App threads and the transport post to
// its typed inbox (store_inbox.hpp); its one loop (run(), or pump() in manual mode) takes the
// inbox each round and does the store work: commit the writes in one transaction, apply hints and
// responses, run the drain loop, publish the stats and diagnostics, call the listener. It also
// holds the waits of the waiting calls (persist, flush, store tasks) and the teardown.
//
// It owns its state: the outbox connection, the delivery lease, the drain loop, the commit retry
// timer, the stats. What it needs from outside is injected (Deps): the options, clock, transport,
// logger and listener. Client::Impl is the facade in front of it: it validates on the app's
// thread and posts here.
//
// Locking: mutex_ guards everything marked "guarded"; it is never held during SQLite work, HTTP
// calls, or listener callbacks.
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
#include "drain/drain_loop.hpp"
#include "experiture/client.hpp"
#include "experiture/platform/file_lock.hpp"
#include "outbox/outbox.hpp"

namespace experiture {
namespace client {

class StoreThread {
 public:
  struct Deps {
    // commit_window_ms, ingress_capacity and ingress_max_bytes, manual_mode, and the drain
    // loop's options. Must outlive the StoreThread.
    const Config* config = nullptr;
    platform::Clock* clock = nullptr;
    platform::HttpClient* http = nullptr;
    crypto::Random* random = nullptr;
    platform::Logger* logger = nullptr;  // may be null
    // Called on the store thread with each delivery event; may be empty.
    std::function<void(const DeliveryEvent&)> listener;
    std::unique_ptr<outbox::Outbox> outbox;     // opened
    outbox::Outbox::OpenReport open_report;     // what the open found: a recovery is reported
    std::unique_ptr<platform::FileLock> lease;  // who delivers; null: always held
    std::string storage_diag_path;              // the sidecar file (storage_diag_file.hpp)
    Consent consent = Consent::kGranted;
    std::string device_id;  // for stats()
  };

  // Loads the diagnostics an earlier process kept, reports a recovered file, builds the drain
  // loop. No thread runs until start().
  explicit StoreThread(Deps deps);
  // close(5000) when not closed yet.
  ~StoreThread();
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  // Starts the store thread (not in manual mode: pump() runs the rounds).
  void start();

  // ---- any thread ----

  // Lock-free: kClosed after close, kConsentDenied while consent is denied, else ok.
  Status check_open() const;
  // Queues writes for the next commit (moves from items on success). kClosed, kConsentDenied
  // (for items with an entry) or kQueueFull (over config.ingress_capacity or
  // ingress_max_bytes: StoreInbox::would_overflow) accept nothing.
  Status post_writes(IngressItem* items, size_t count);
  // Changes the capture gate and the drain loop's consent, and queues `meta` (the consent as
  // stored) with a purge of everything queued when denied. Never refused for capacity. Ok and
  // nothing queued when `consent` is the current one.
  Status set_consent(Consent consent, outbox::MetaUpdates meta);
  Consent consent() const;
  void set_device_id(const std::string& device_id);
  // Runs `hint` at the next round, after that round's commit; ignored once closed.
  void post_hint(StoreHint hint);
  // Waits until everything posted so far is committed (commits at once, without the window).
  Status persist(int64_t timeout_ms);
  // persist(), then waits until everything committed by then (other processes' writes included)
  // is delivered. kPaused when delivery cannot progress.
  Status flush(int64_t timeout_ms);
  // Runs `command` on the store thread and waits for it (inline when called from a callback).
  Status run_task(const std::function<void()>& command, int64_t timeout_ms);
  // Manual mode: one round on the calling thread.
  Status pump();
  // True on the thread running this store's rounds (its callbacks run there).
  bool in_callback() const;
  // Marks closed and asks the store thread to stop, without waiting.
  void request_stop();
  // From a callback: `owner` (which owns this StoreThread) is released by the store thread as
  // its last act, after the round that is running (request_stop() first).
  void release_owner_after_round(std::shared_ptr<void> owner);
  // Commits what was accepted (waiting up to timeout_ms), stops and joins the thread, and closes
  // the outbox. From a callback: request_stop() only. Later calls return ok at once.
  Status close(int64_t timeout_ms);
  Stats stats() const;
  // Buffers for stored forms, returned after each commit.
  PayloadPool& payload_pool() { return payload_pool_; }

  // ---- store thread only (tasks, hints) ----
  outbox::Outbox& outbox() { return *outbox_; }

 private:
  Status wait_until(const std::function<bool()>& done, int64_t timeout_ms,
                    const std::function<std::optional<Status>()>& give_up);
  void run();
  // Runs one step() with the current thread marked as running this store's callbacks.
  void step_marked(StoreInbox& round);
  // One round of store work on what the inbox held: commit the writes, apply the hints, run
  // the tasks, apply the responses, drain, publish.
  void step(StoreInbox& round);
  // step() behind the store thread's boundary guard: an exception (std::bad_alloc above all)
  // is logged and reported in stats().last_error instead of terminating the app.
  void step_guarded(StoreInbox& round) noexcept;
  void commit_ingress(std::vector<IngressItem>& items);
  // After a failed commit: items[from..] go back to the front of the inbox, retried later.
  void requeue(std::vector<IngressItem>& items, size_t from, const Status& why);
  void publish();
  // The outbox met damage: recover it (store thread) and report.
  void recover_outbox();
  void report_recovery(const outbox::Outbox::OpenReport& report);
  // Loads the diagnostics a previous process kept in the outbox into stats_ (construction).
  void load_diagnostics();
  // The outbox's damage totals (kept in its meta) into stats_ (construction, or with mutex_).
  void read_damage_totals();
  // Writes the last storage error to the sidecar file next to the outbox (store thread).
  void write_storage_sidecar(const std::string& error, Code code, int64_t at_ms);
  // Writes stats_'s delivery diagnostics to the outbox when they changed (a success time alone
  // at most once a minute, or with `force`). Store thread; a failed write is ignored.
  void persist_diagnostics(bool force);
  void log(platform::LogLevel level, const std::string& message);
  void notify_listener(const std::vector<DeliveryEvent>& events);

  // Injected; immutable.
  const Config* config_;
  platform::Clock* clock_;
  platform::HttpClient* http_;
  platform::Logger* logger_;
  std::function<void(const DeliveryEvent&)> listener_;

  std::mutex close_mutex_;               // app threads: one teardown at a time
  bool torn_down_ = false;               // guarded by close_mutex_: joined and released
  std::shared_ptr<void> owner_;          // guarded: set by release_owner_after_round()
  std::mutex pump_mutex_;                // manual mode: one pump() at a time
  std::shared_ptr<void> response_sink_;  // carries transport completions while open

  mutable std::mutex mutex_;
  std::condition_variable store_cv_;    // wakes the store thread
  std::condition_variable waiters_cv_;  // wakes persist/flush/task waiters
  // Guarded: what is posted to the store thread. Double-buffered with round_: lanes are
  // swapped whole under mutex_, so both keep their capacity and an accept allocates nothing.
  StoreInbox inbox_;
  uint64_t accept_seq_ = 0;               // guarded: last accept sequence handed out
  uint64_t durable_seq_ = 0;              // guarded: everything up to here is committed
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
  StoreInbox round_;  // the other half of inbox_: the round being run; empty between
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
  // what was last written to it (store thread).
  std::string storage_diag_path_;
  std::string storage_diag_written_;
  uint64_t failures_before_open_ = 0;  // failed attempts of earlier processes, until a success
  bool drained_here_ = false;  // this process attempted delivery: its figures replace loaded ones

  // Any thread: buffers for stored forms, returned by the store thread after each commit.
  PayloadPool payload_pool_;
};

}  // namespace client
}  // namespace experiture
