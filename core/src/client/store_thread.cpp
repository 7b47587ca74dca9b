// StoreThread (store_thread.hpp): the one loop (run(), or pump() in manual mode) that takes the
// inbox each round and does the store work: commit the writes, apply hints and responses, drain,
// publish the stats and diagnostics, call the listener. Also the posts, the waits of the waiting
// calls and the teardown.
#include "client/store_thread.hpp"

#include <algorithm>
#include <chrono>

#include "client/storage_diag_file.hpp"
#include "json/json.hpp"

namespace experiture {
namespace client {
namespace {

// Ingress slots kept while the store thread is idle (a burst's are released when it ends).
constexpr size_t kKeepIngressSlots = 4096;
constexpr int64_t kCommitRetryMs = 1000;

Status closed_status() {
  return Status(Code::kClosed, "the client is closed");
}

Status consent_denied_status() {
  return Status(Code::kConsentDenied,
                "consent is denied: capture is off until set_consent(granted)");
}

// Carries HttpClient completions to the store thread while it is open; afterwards drops them, so
// a transport that outlives the store never touches freed memory.
struct ResponseSink {
  std::mutex mutex;
  std::function<void(uint64_t, platform::HttpResponse)> deliver;
};

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

// The client whose store work (and so whose callbacks) the current thread is running, if any.
thread_local const StoreThread* t_running_store = nullptr;
// Set while wait_until() pumps in manual mode: that pump must not release the owner under it.
thread_local bool t_pumping_for_wait = false;

}  // namespace

StoreThread::StoreThread(Deps deps)
    : config_(deps.config),
      clock_(deps.clock),
      http_(deps.http),
      logger_(deps.logger),
      listener_(std::move(deps.listener)) {
  consent_ = deps.consent;
  denied_flag_ = consent_ == Consent::kDenied;
  outbox_ = std::move(deps.outbox);
  lease_ = std::move(deps.lease);
  storage_diag_path_ = std::move(deps.storage_diag_path);
  preallocate_storage_diag(storage_diag_path_);  // while there is room
  load_diagnostics();
  if (deps.open_report.recovered) report_recovery(deps.open_report);

  auto sink = std::make_shared<ResponseSink>();
  sink->deliver = [this](uint64_t id, platform::HttpResponse r) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      inbox_.responses.push_back(StoreResponse{id, std::move(r)});
    }
    store_cv_.notify_one();
    waiters_cv_.notify_all();
  };
  response_sink_ = sink;
  drain::DrainLoop::Deps drain_deps;
  drain_deps.outbox = outbox_.get();
  drain_deps.http = http_;
  drain_deps.clock = clock_;
  drain_deps.random = deps.random;
  drain_deps.logger = logger_;
  drain_deps.config = config_;
  drain_deps.lease = lease_.get();
  drain_deps.post_response = [sink](uint64_t id, platform::HttpResponse r) {
    std::lock_guard<std::mutex> lock(sink->mutex);
    if (sink->deliver) sink->deliver(id, std::move(r));
  };
  drain_ = std::make_unique<drain::DrainLoop>(std::move(drain_deps));
  drain_->set_consent(consent_);
  drain_->observe_lease(true);
  stats_.device_id = deps.device_id;
  stats_.consent = consent_;
  publish();
}

StoreThread::~StoreThread() {
  close(5000);
}

void StoreThread::start() {
  if (config_->manual_mode) return;
  // Under mutex_: run() reads thread_ (to detach itself, see release_owner_after_round) only
  // under it, so never before this assignment completes.
  std::lock_guard<std::mutex> lock(mutex_);
  thread_ = std::thread([this] { run(); });
}

// ---- posts (any thread) ----

// Lock-free early exit for the hot path; post_writes() checks both again under the lock.
Status StoreThread::check_open() const {
  if (closed_flag_.load(std::memory_order_relaxed)) return closed_status();
  if (denied_flag_.load(std::memory_order_relaxed)) return consent_denied_status();
  return Status::ok();
}

Status StoreThread::post_writes(IngressItem* items, size_t count) {
  bool wake = false;
  size_t bytes = 0;
  for (size_t i = 0; i < count; ++i) bytes += ingress_bytes(items[i]);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return closed_status();
    // Under the same lock as set_consent(): nothing is captured after a denial.
    if (consent_ == Consent::kDenied) {
      for (size_t i = 0; i < count; ++i) {
        if (items[i].entry) return consent_denied_status();
      }
    }
    if (inbox_.would_overflow(count, bytes, config_->ingress_capacity,
                              config_->ingress_max_bytes)) {
      ++stats_.dropped_queue_full;
      return Status(Code::kQueueFull,
                    "ingress queue full (" + std::to_string(inbox_.writes.size()) + " writes, " +
                        std::to_string(inbox_.write_bytes) + " bytes in memory; ingress_capacity " +
                        std::to_string(config_->ingress_capacity) + ", ingress_max_bytes " +
                        std::to_string(config_->ingress_max_bytes) +
                        "): storage is not keeping up; nothing was accepted. Try the write again "
                        "after persist() returns, or later");
    }
    if (inbox_.writes.empty()) ingress_since_mono_ms_ = clock_->mono_ms();
    const bool was_ready = inbox_.group_ready(config_->ingress_max_bytes);
    for (size_t i = 0; i < count; ++i) {
      items[i].accept_seq = ++accept_seq_;
      if (items[i].entry) ++stats_.accepted;
      const size_t item_bytes = ingress_bytes(items[i]);
      inbox_.push_write(std::move(items[i]), item_bytes);
    }
    // An idle store thread wakes for the first write; one waiting out the commit window wakes
    // once the group is big enough.
    wake = store_waiting_ || (!was_ready && inbox_.group_ready(config_->ingress_max_bytes));
  }
  if (wake) store_cv_.notify_one();
  return Status::ok();
}

Status StoreThread::set_consent(Consent consent, outbox::MetaUpdates meta) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return closed_status();
    if (consent_ == consent) return Status::ok();
    consent_ = consent;
    denied_flag_ = consent == Consent::kDenied;
    stats_.consent = consent;
    inbox_.hints.push_back([consent](drain::DrainLoop& d) { d.set_consent(consent); });
  }
  IngressItem item;
  item.purge = consent == Consent::kDenied;
  item.meta = std::move(meta);
  {
    // Bypasses the capacity check: a consent change must never be refused.
    std::lock_guard<std::mutex> lock(mutex_);
    if (inbox_.writes.empty()) ingress_since_mono_ms_ = clock_->mono_ms();
    item.accept_seq = ++accept_seq_;
    const size_t item_bytes = ingress_bytes(item);
    inbox_.push_write(std::move(item), item_bytes);
  }
  store_cv_.notify_one();
  return Status::ok();
}

Consent StoreThread::consent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return consent_;
}

void StoreThread::set_device_id(const std::string& device_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.device_id = device_id;
}

void StoreThread::post_hint(StoreHint hint) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    inbox_.hints.push_back(std::move(hint));
  }
  store_cv_.notify_one();
}

Stats StoreThread::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats s = stats_;
  s.pending_durable = accept_seq_ - durable_seq_;
  return s;
}

// ---- waiting calls ----

Status StoreThread::persist(int64_t timeout_ms) {
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

Status StoreThread::flush(int64_t timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  Status status = persist(timeout_ms);
  if (!status.is_ok()) return status;
  const int64_t elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  // The target is taken on the store thread, after it looked at the file: writes that other
  // processes committed before this call are flushed too. Guarded by mutex_; -1 until set.
  // `seen_in` is the round that ran the hint: only a state published after that round (after
  // the hints posted before this flush, such as set_online(true)) may answer PAUSED. A round
  // already running when flush() was called may still publish the state from before them.
  struct Target {
    int64_t through = -1;
    uint64_t seen_in = 0;
  };
  auto target = std::make_shared<Target>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    inbox_.hints.push_back([this, target](drain::DrainLoop& d) {
      const int64_t through = outbox_->last_seq();
      d.request_flush(through);
      std::lock_guard<std::mutex> set_lock(mutex_);
      target->through = through;
      target->seen_in = store_round_;  // incremented when this round ends, after publish()
    });
  }
  store_cv_.notify_one();
  return wait_until(
      [&] {
        return target->through >= 0 &&
               (first_queued_seq_ == 0 || first_queued_seq_ > target->through);
      },
      std::max<int64_t>(0, timeout_ms - elapsed),
      [&]() -> std::optional<Status> {
        if (target->through >= 0 && store_round_ > target->seen_in && !blocked_reason_.empty()) {
          return Status(Code::kPaused, "delivery paused: " + blocked_reason_);
        }
        return std::nullopt;
      });
}

Status StoreThread::run_task(const std::function<void()>& command, int64_t timeout_ms) {
  if (in_callback()) {
    // Already on the thread that owns the outbox (inside a callback): run it here.
    if (closed_flag_.load(std::memory_order_relaxed)) return closed_status();
    command();
    return Status::ok();
  }
  auto done = std::make_shared<bool>(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return closed_status();
    inbox_.tasks.push_back([this, command, done] {
      command();
      std::lock_guard<std::mutex> done_lock(mutex_);
      *done = true;
    });
  }
  store_cv_.notify_one();
  return wait_until([done] { return *done; }, timeout_ms, nullptr);
}

// ---- teardown ----

void StoreThread::request_stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    closed_flag_ = true;
    stopping_ = true;
  }
  store_cv_.notify_one();
  waiters_cv_.notify_all();
}

void StoreThread::release_owner_after_round(std::shared_ptr<void> owner) {
  request_stop();
  std::lock_guard<std::mutex> lock(mutex_);
  owner_ = std::move(owner);
}

Status StoreThread::close(int64_t timeout_ms) {
  if (in_callback()) {
    // On the thread that runs this store's callbacks: it can neither wait for itself nor join
    // itself. Later calls are CLOSED at once; when the callback returns, the store thread
    // commits what was accepted and stops; a later close() from an app thread joins it and
    // releases everything.
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
  // Not joinable when the store thread detached itself to release its owner (this is then the
  // owner's teardown, after the last round).
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

// ---- the loop (store thread) ----

Status StoreThread::wait_until(const std::function<bool()>& done, int64_t timeout_ms,
                               const std::function<std::optional<Status>()>& give_up) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (done()) return Status::ok();
    if (give_up) {
      if (auto status = give_up()) return *status;
    }
    if (config_->manual_mode) {
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

bool StoreThread::in_callback() const {
  return t_running_store == this;
}

void StoreThread::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    auto has_work = [this] { return stopping_ || inbox_.has_work(commit_retry_at_mono_ms_ != 0); };
    if (!has_work()) {
      const bool queued = outbox_->queued_records() > 0 || outbox_->batch() != nullptr;
      const std::optional<int64_t> wake_at = store_wake_at(
          drain_->next_wakeup_mono_ms(), commit_retry_at_mono_ms_, queued, clock_->mono_ms());
      // Idle: a burst's worth of ingress slots is not kept for the app's lifetime.
      if (round_.writes.capacity() > kKeepIngressSlots)
        std::vector<IngressItem>().swap(round_.writes);
      if (inbox_.writes.empty() && inbox_.writes.capacity() > kKeepIngressSlots) {
        std::vector<IngressItem>().swap(inbox_.writes);
      }
      if (!wake_at && payload_pool_.pooled_bytes() > 0) {
        // Idle with no deadline (nothing queued or in flight): the recycled buffers go back to
        // the allocator, outside the lock; then look for work that arrived meanwhile.
        lock.unlock();
        payload_pool_.clear();
        lock.lock();
        continue;
      }
      // Untimed with nothing queued (store_wake_at): idle costs no wakeup.
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
    // A group that is big enough (in writes or in memory) goes at once.
    auto commit_now = [this] {
      return stopping_ || inbox_.persist_requested ||
             inbox_.group_ready(config_->ingress_max_bytes);
    };
    if (!inbox_.writes.empty() && config_->commit_window_ms > 0 && !commit_now()) {
      const int64_t waited = clock_->mono_ms() - ingress_since_mono_ms_;
      const int64_t remaining = config_->commit_window_ms - waited;
      if (remaining > 0) {
        store_cv_.wait_for(lock, std::chrono::milliseconds(remaining), commit_now);
      }
    }
    if (commit_retry_at_mono_ms_ != 0 && clock_->mono_ms() >= commit_retry_at_mono_ms_) {
      commit_retry_at_mono_ms_ = 0;
    }
    // Swapped, not moved item by item: app threads wait on mutex_ in upsert(), so the lock is
    // held O(1) here, and the inbox gets back the previous round's (emptied) capacity.
    inbox_.take(round_, commit_retry_at_mono_ms_ == 0 || stopping_ || inbox_.persist_requested);
    const bool stopping = stopping_;
    lock.unlock();
    step_marked(round_);
    round_.clear();
    lock.lock();
    ++store_round_;
    waiters_cv_.notify_all();
    if (stopping && inbox_.tasks.empty()) break;
  }
  thread_done_ = true;
  waiters_cv_.notify_all();
  if (owner_) {
    // ~Client ran inside one of our callbacks: this thread is the last user of its owner (the
    // Client::Impl, which owns this StoreThread). It cannot be joined by anyone now, so it
    // detaches and releases the owner as its last act (close() then finds nothing to join);
    // nothing below touches a member.
    thread_.detach();
    std::shared_ptr<void> owner = std::move(owner_);
    lock.unlock();
    owner.reset();
  }
}

void StoreThread::step_marked(StoreInbox& round) {
  struct Mark {
    const StoreThread* previous;
    explicit Mark(const StoreThread* self) : previous(t_running_store) { t_running_store = self; }
    ~Mark() { t_running_store = previous; }
  } mark(this);
  step_guarded(round);
}

Status StoreThread::pump() {
  std::unique_lock<std::mutex> pump_lock(pump_mutex_);
  StoreInbox round;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!outbox_) return closed_status();
    inbox_.take(round, true);
  }
  step_marked(round);
  std::shared_ptr<void> owner;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++store_round_;
    // ~Client ran inside a callback of this pump: the owner is released once the pump is over.
    if (!t_pumping_for_wait) owner = std::move(owner_);
  }
  waiters_cv_.notify_all();
  pump_lock.unlock();
  return Status::ok();  // `owner` (if set) is released after the last member access
}

void StoreThread::step(StoreInbox& round) {
  const uint64_t evicted_before = outbox_->evicted_total();
  // What other processes committed to the same file (their writes, their deliveries).
  Status refreshed = outbox_->refresh_if_changed(false);
  if (!refreshed.is_ok()) log(platform::LogLevel::kWarn, "outbox: " + refreshed.to_string());
  commit_ingress(round.writes);
  // After the commit, so that "flush what is queued" includes writes accepted before the hint.
  for (auto& h : round.hints) h(*drain_);
  for (auto& task : round.tasks) task();
  for (auto& r : round.responses) drain_->on_response(r.attempt_id, std::move(r.response));
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

void StoreThread::recover_outbox() {
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

void StoreThread::report_recovery(const outbox::Outbox::OpenReport& report) {
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
  first_queued_seq_ = outbox_->first_seq();
}

void StoreThread::step_guarded(StoreInbox& round) noexcept {
  try {
    step(round);
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

void StoreThread::commit_ingress(std::vector<IngressItem>& items) {
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
    if (logger_ && !entries.empty()) {
      log(platform::LogLevel::kDebug,
          "outbox: committed " + std::to_string(entries.size()) + " writes in one transaction");
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // A purge marker counts as durable only once the purge itself committed.
      const uint64_t through = items[end - 1].accept_seq - (purge_here ? 1 : 0);
      durable_seq_ = std::max(durable_seq_, through);
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

void StoreThread::requeue(std::vector<IngressItem>& items, size_t from, const Status& why) {
  log(platform::LogLevel::kError, "outbox commit failed: " + why.to_string());
  // Before stats() shows it: the outbox cannot keep it now (a full disk), the sidecar can.
  const int64_t now_wall = clock_->wall_ms();
  write_storage_sidecar(why.to_string(), why.code(), now_wall);
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.last_error = why.to_string();
  last_error_code_ = why.code();
  stats_.last_storage_error = stats_.last_error;
  last_storage_error_code_ = why.code();
  stats_.last_storage_error_at_ms = now_wall;
  for (size_t i = from; i < items.size(); ++i) inbox_.write_bytes += ingress_bytes(items[i]);
  inbox_.writes.insert(inbox_.writes.begin(),
                       std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(from)),
                       std::make_move_iterator(items.end()));
  ingress_since_mono_ms_ = clock_->mono_ms();
  commit_retry_at_mono_ms_ = clock_->mono_ms() + kCommitRetryMs;
}

void StoreThread::publish() {
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
  read_damage_totals();
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
constexpr const char* kDamageLastKey = "damage.last";  // written by Outbox::recover()
constexpr int64_t kSuccessPersistIntervalMs = 60000;

// A member of stored diagnostics, or `fallback` when it is absent or of another type.
std::string string_at(const json::Value& doc, const char* key) {
  return doc.string_or(key, std::string());
}

int64_t int_at(const json::Value& doc, const char* key) {
  const json::Value* v = doc.find(key);
  return v != nullptr ? v->to_int64().value_or(0) : 0;
}

uint64_t uint_at(const json::Value& doc, const char* key) {
  const json::Value* v = doc.find(key);
  return v != nullptr ? v->to_uint64().value_or(0) : 0;
}

}  // namespace

void StoreThread::read_damage_totals() {
  stats_.damage_salvaged = outbox_->damage_salvaged_total();
  stats_.damage_lost = outbox_->damage_lost_total();
  stats_.last_damage = outbox_->meta(kDamageLastKey).value_or(std::string());
}

void StoreThread::load_diagnostics() {
  // Open: no other thread runs yet. Unreadable diagnostics are ignored, never fatal.
  read_damage_totals();
  if (auto stored = outbox_->meta(kDeliveryDiagKey)) {
    json::Value doc;
    if (json::parse(*stored, &doc) && doc.is_object()) {
      stats_.last_delivery_error = string_at(doc, "error");
      stats_.last_delivery_error_at_ms = int_at(doc, "error_at_ms");
      stats_.last_pause_reason = string_at(doc, "pause_reason");
      stats_.consecutive_failures = uint_at(doc, "consecutive_failures");
      failures_before_open_ = stats_.consecutive_failures;
      stats_.next_attempt_at_ms = int_at(doc, "next_attempt_at_ms");
      stats_.last_success_at_ms = int_at(doc, "last_success_at_ms");
      stats_.dropped_queue_full = uint_at(doc, "dropped_queue_full");
      stats_.dropped_consent = uint_at(doc, "dropped_consent");
      persisted_delivery_diag_ = *stored;
      persisted_success_at_ms_ = stats_.last_success_at_ms;
    }
  }
  if (auto stored = outbox_->meta(kStorageDiagKey)) {
    json::Value doc;
    if (json::parse(*stored, &doc) && doc.is_object()) {
      stats_.last_storage_error = string_at(doc, "error");
      // Written since the code was kept: absent, the error is not taken for a storage Status.
      last_storage_error_code_ = code_from_name(string_at(doc, "code")).value_or(Code::kOk);
      stats_.last_storage_error_at_ms = int_at(doc, "at_ms");
      persisted_storage_diag_ = *stored;
    }
  }
  // Newer than the outbox's copy: met while the outbox could not take a write (a full disk).
  const StorageDiag sidecar = read_storage_diag(storage_diag_path_);
  if (!sidecar.error.empty() && sidecar.at_ms > stats_.last_storage_error_at_ms) {
    stats_.last_storage_error = sidecar.error;
    last_storage_error_code_ = code_from_name(sidecar.code).value_or(Code::kOk);
    stats_.last_storage_error_at_ms = sidecar.at_ms;
  }
  if (stats_.last_error.empty()) {
    const bool delivery = stats_.last_delivery_error_at_ms >= stats_.last_storage_error_at_ms;
    stats_.last_error = delivery ? stats_.last_delivery_error : stats_.last_storage_error;
    last_error_code_ = delivery ? Code::kOk : last_storage_error_code_;
  }
}

void StoreThread::persist_diagnostics(bool force) {
  if (!outbox_) return;
  Stats s;
  Code storage_code = Code::kOk;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    s = stats_;
    storage_code = last_storage_error_code_;
  }
  // The success time is left out of the comparison: a steady drain would write every batch.
  using json::number;
  json::Value delivery = json::Value::object(
      {{"error", s.last_delivery_error},
       {"error_at_ms", number(s.last_delivery_error_at_ms)},
       {"pause_reason", s.last_pause_reason},
       {"consecutive_failures", number(s.consecutive_failures)},
       {"next_attempt_at_ms", number(s.next_attempt_at_ms)},
       {"dropped_queue_full", number(s.dropped_queue_full)},
       {"dropped_consent", number(s.dropped_consent)},
       {"dropped_evicted", number(s.dropped_evicted)},
       {"dropped_dead_letter_overflow", number(s.dropped_dead_letter_overflow)}});
  const std::string without_success = delivery.dump();
  delivery.set("last_success_at_ms", number(s.last_success_at_ms));
  const std::string delivery_text = delivery.dump();
  outbox::MetaUpdates updates;
  const bool changed = [&] {
    json::Value old;
    if (!json::parse(persisted_delivery_diag_, &old) || !old.is_object()) return true;
    auto& members = old.members();
    members.erase(
        std::remove_if(members.begin(), members.end(),
                       [](const json::Member& m) { return m.key == "last_success_at_ms"; }),
        members.end());
    return old.dump() != without_success;
  }();
  const bool success_due =
      s.last_success_at_ms != persisted_success_at_ms_ &&
      (force || clock_->mono_ms() - persisted_diag_mono_ms_ >= kSuccessPersistIntervalMs);
  if (changed || success_due) updates.emplace_back(kDeliveryDiagKey, delivery_text);
  json::Value storage = json::Value::object(
      {{"error", s.last_storage_error}, {"at_ms", number(s.last_storage_error_at_ms)}});
  if (storage_code != Code::kOk) storage.set("code", code_name(storage_code));
  const std::string storage_text = storage.dump();
  if (!s.last_storage_error.empty() && storage_text != persisted_storage_diag_) {
    updates.emplace_back(kStorageDiagKey, storage_text);
    write_storage_sidecar(s.last_storage_error, storage_code, s.last_storage_error_at_ms);
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

void StoreThread::write_storage_sidecar(const std::string& error, Code code, int64_t at_ms) {
  StorageDiag diag{error, code == Code::kOk ? std::string() : code_name(code), at_ms};
  const std::string key = diag.error + '\n' + diag.code + '\n' + std::to_string(at_ms);
  if (key == storage_diag_written_) return;
  if (write_storage_diag(storage_diag_path_, diag)) storage_diag_written_ = key;
}

void StoreThread::log(platform::LogLevel level, const std::string& message) {
  if (logger_) logger_->log(level, message);
}

void StoreThread::notify_listener(const std::vector<DeliveryEvent>& events) {
  if (!listener_) return;
  for (const auto& e : events) listener_(e);
}

}  // namespace client
}  // namespace experiture
