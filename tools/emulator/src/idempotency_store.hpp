// The emulator's Idempotency-Key store: the answer given to each key for 24 hours, so that a
// retry with the same key and body is replayed and one with another body is refused. Kept in
// memory and, with a state file, on disk. Not thread-safe: EmulatorServer guards it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace experiture {
namespace emulator {

class StateFile;

class IdempotencyStore {
 public:
  struct Entry {
    std::string body_hash;  // sha256 of path and body
    int status = 0;
    std::string body;  // the answer's body, replayed as is
    int64_t stored_at_ms = 0;
  };
  static constexpr int64_t kWindowMs = 24LL * 3600 * 1000;

  // The answer stored for `key` less than kWindowMs before `now_ms`, or null.
  const Entry* find(const std::string& key, int64_t now_ms) const;
  // Stores the answer for `key`, also in `state_file` (inside its open transaction) if given.
  void remember(const std::string& key, Entry entry, StateFile* state_file);
  // Reads what `state_file` kept.
  void load(StateFile& state_file);
  void clear() { entries_.clear(); }

 private:
  std::map<std::string, Entry> entries_;
};

}  // namespace emulator
}  // namespace experiture
