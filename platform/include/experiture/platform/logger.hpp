// Log sink. The SDK never passes tokens or record values to it.
#pragma once

#include <string_view>

namespace experiture {
namespace platform {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// May be called from any SDK thread, never while an SDK lock is held.
class Logger {
 public:
  Logger() = default;
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;
  virtual ~Logger() = default;

  virtual void log(LogLevel level, std::string_view message) = 0;
};

}  // namespace platform
}  // namespace experiture
