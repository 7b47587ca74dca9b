#include <chrono>

#include "experiture/platform/clock.hpp"

namespace experiture {
namespace platform {

int64_t SystemClock::wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::mono_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace platform
}  // namespace experiture
