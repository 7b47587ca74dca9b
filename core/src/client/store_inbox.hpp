// The store thread's inbox: everything app threads and the transport post to it, one typed lane
// per kind of command, taken whole at the start of each round. Guarded by StoreThread::mutex_.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "drain/drain_loop.hpp"
#include "experiture/platform/http_client.hpp"
#include "outbox/outbox.hpp"

namespace experiture {
namespace client {

// An accepted write (or identity/consent meta, or a consent purge) waiting for its commit.
struct IngressItem {
  uint64_t accept_seq = 0;
  std::optional<outbox::Entry> entry;
  outbox::MetaUpdates meta;
  bool purge = false;  // consent denied: drop everything queued so far
};

// Memory an ingress item holds, roughly: the item itself and the heap of its strings (the
// payload's capacity, which a recycled buffer may make larger than the record). What
// Config::ingress_max_bytes bounds.
inline size_t ingress_bytes(const IngressItem& item) {
  size_t bytes = sizeof(IngressItem);
  if (item.entry) {
    bytes +=
        item.entry->payload.capacity() + item.entry->object.size() + item.entry->match_key.size();
  }
  for (const auto& m : item.meta) bytes += m.first.size() + (m.second ? m.second->size() : 0);
  return bytes;
}

// Commit at once, without waiting out the commit window, when this many writes are waiting.
inline constexpr size_t kGroupCommitTarget = 4096;

// The transport's answer to attempt `attempt_id`.
struct StoreResponse {
  uint64_t attempt_id = 0;
  platform::HttpResponse response;
};

// Work run on the store thread for a waiting call (dead letters).
using StoreTask = std::function<void()>;
// A change to the drain loop (online, paused, consent, flush), applied after the round's commit.
using StoreHint = std::function<void(drain::DrainLoop&)>;

struct StoreInbox {
  std::vector<IngressItem> writes;
  size_t write_bytes = 0;  // ingress_bytes() of `writes`
  std::vector<StoreTask> tasks;
  std::vector<StoreResponse> responses;
  std::vector<StoreHint> hints;
  bool persist_requested = false;  // persist(): commit now, without the commit window

  // Whether `count` more writes of `bytes` would overflow the queue: more than `capacity`
  // writes, or more than `max_bytes` in memory. A write is never refused by its size alone: an
  // empty queue takes it whatever it weighs.
  bool would_overflow(size_t count, size_t bytes, size_t capacity, size_t max_bytes) const {
    if (writes.size() + count > capacity) return true;
    return !writes.empty() && write_bytes + bytes > max_bytes;
  }

  void push_write(IngressItem&& item, size_t bytes) {
    writes.push_back(std::move(item));
    write_bytes += bytes;
  }

  // Enough writes wait to commit them now rather than wait out the commit window: a group of
  // kGroupCommitTarget, or half the memory bound (the other half keeps accepting meanwhile).
  bool group_ready(size_t max_bytes) const {
    return writes.size() >= kGroupCommitTarget || write_bytes >= max_bytes / 2;
  }

  // Work for a round now. Writes wait while a failed commit's retry is pending (`writes_held`),
  // unless a persist asks for them.
  bool has_work(bool writes_held) const {
    return persist_requested || !tasks.empty() || !responses.empty() || !hints.empty() ||
           (!writes.empty() && !writes_held);
  }

  // Hands this round's commands to `round` (whose lanes are empty): lanes are swapped, so both
  // sides keep their capacity and the lock is held O(1). Writes only with `take_writes`.
  void take(StoreInbox& round, bool take_writes) {
    if (take_writes) {
      writes.swap(round.writes);
      round.write_bytes = write_bytes;
      write_bytes = 0;
    }
    tasks.swap(round.tasks);
    responses.swap(round.responses);
    hints.swap(round.hints);
    round.persist_requested = persist_requested;
    persist_requested = false;
  }

  // Empties every lane, keeping the capacity (after a round).
  void clear() {
    writes.clear();
    write_bytes = 0;
    tasks.clear();
    responses.clear();
    hints.clear();
    persist_requested = false;
  }
};

// While records are queued, the idle store thread looks this often for what other processes did
// to the same file (delivered them, took or left the lease).
inline constexpr int64_t kQueuedPollMs = 1000;

// When the idle store thread must wake by itself (monotonic ms), or nullopt to wait untimed for
// the next post: the drain loop's own deadline, a failed commit's retry (0: none), and, only
// while `records_queued`, a look at the file every kQueuedPollMs. Idle with nothing queued costs
// no wakeup: other processes' writes are read at the start of the next round. Pure.
inline std::optional<int64_t> store_wake_at(std::optional<int64_t> drain_wakeup_mono_ms,
                                            int64_t commit_retry_at_mono_ms, bool records_queued,
                                            int64_t now_mono_ms) {
  std::optional<int64_t> wake_at = drain_wakeup_mono_ms;
  auto sooner = [&wake_at](int64_t at) { wake_at = wake_at ? std::min(*wake_at, at) : at; };
  if (commit_retry_at_mono_ms != 0) sooner(commit_retry_at_mono_ms);
  if (records_queued) sooner(now_mono_ms + kQueuedPollMs);
  return wake_at;
}

}  // namespace client
}  // namespace experiture
