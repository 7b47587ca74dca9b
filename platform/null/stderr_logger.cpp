// The default Logger: one line per message on stderr ("experiture: warn: ..."). fputs of one
// preformatted line keeps lines from different threads whole.
#include <cstdio>
#include <string>

#include "experiture/platform/backends.hpp"

namespace experiture {
namespace platform {
namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "log";
}

class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min_level) : min_level_(min_level) {}

  void log(LogLevel level, std::string_view message) override {
    if (static_cast<int>(level) < static_cast<int>(min_level_)) return;
    std::string line = "experiture: ";
    line += level_name(level);
    line += ": ";
    line.append(message.data(), message.size());
    line += '\n';
    std::fputs(line.c_str(), stderr);
  }

 private:
  LogLevel min_level_;
};

}  // namespace

std::unique_ptr<Logger> make_default_logger(LogLevel min_level) {
  return std::make_unique<StderrLogger>(min_level);
}

}  // namespace platform
}  // namespace experiture
