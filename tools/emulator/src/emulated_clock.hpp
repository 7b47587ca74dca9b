// The emulator's notion of "now": the system clock plus an offset that admin routes can move,
// so clients can test clock skew (Date header) and 24 h idempotency expiry without waiting.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace experiture {
namespace emulator {

class EmulatedClock {
 public:
  // Milliseconds since the Unix epoch, emulated. Any thread.
  int64_t now_ms() const;
  // Moves emulated time forward (or back, when negative) by delta_ms. Any thread.
  void advance_ms(int64_t delta_ms) { offset_ms_ += delta_ms; }
  // Sets the offset from the system clock. Any thread.
  void set_offset_ms(int64_t offset_ms) { offset_ms_ = offset_ms; }
  int64_t offset_ms() const { return offset_ms_; }

  // RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for the Date header.
  static std::string imf_fixdate(int64_t epoch_ms);
  // ISO 8601 UTC with milliseconds ("2026-04-21T15:30:00.000Z").
  static std::string iso8601(int64_t epoch_ms);
  // Parses ISO 8601 with a zone (Z or +hh:mm); false when malformed or zoneless.
  static bool parse_iso8601(const std::string& text, int64_t* epoch_ms);

 private:
  std::atomic<int64_t> offset_ms_{0};
};

}  // namespace emulator
}  // namespace experiture
