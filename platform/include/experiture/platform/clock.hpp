// Time source, injected so tests step time instead of sleeping.
#pragma once

#include <cstdint>

namespace experiture {
namespace platform {

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;

  // Milliseconds since the Unix epoch (UTC). May jump.
  virtual int64_t wall_ms() = 0;
  // Milliseconds from an arbitrary origin; never goes backwards. Used for timers and backoff.
  virtual int64_t mono_ms() = 0;
};

// The real clocks (std::chrono::system_clock and steady_clock).
class SystemClock final : public Clock {
 public:
  int64_t wall_ms() override;
  int64_t mono_ms() override;
};

}  // namespace platform
}  // namespace experiture
