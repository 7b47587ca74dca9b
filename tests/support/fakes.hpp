// Test doubles for the platform seams. Each keeps its state per instance.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "experiture/platform/clock.hpp"
#include "experiture/platform/http_client.hpp"
#include "experiture/platform/logger.hpp"

namespace experiture {
namespace test {

// A clock that moves only when the test says so.
class FakeClock final : public platform::Clock {
 public:
  explicit FakeClock(int64_t wall_ms = 1767225600000, int64_t mono_ms = 1000000)
      : wall_ms_(wall_ms), mono_ms_(mono_ms) {}
  int64_t wall_ms() override { return wall_ms_.load(); }
  int64_t mono_ms() override { return mono_ms_.load(); }
  void advance(int64_t ms) {
    wall_ms_ += ms;
    mono_ms_ += ms;
  }
  void set_wall(int64_t ms) { wall_ms_ = ms; }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> mono_ms_;
};

// Records every request; answers through `responder` at once (on the caller's thread), or holds
// requests until release() when no responder is set.
class FakeHttpClient final : public platform::HttpClient {
 public:
  using Responder = std::function<platform::HttpResponse(const platform::HttpRequest&)>;

  void set_responder(Responder responder);
  void send(platform::HttpRequest request, platform::HttpCompletion completion) override;
  void cancel_all() override;

  // Completes the oldest held request with `response`; false when none is held.
  bool release(platform::HttpResponse response);
  size_t held() const;
  std::vector<platform::HttpRequest> requests() const;
  size_t request_count() const;

 private:
  mutable std::mutex mutex_;
  Responder responder_;
  std::vector<platform::HttpRequest> requests_;
  std::deque<platform::HttpCompletion> held_;
};

// Keeps every line logged.
class CapturingLogger final : public platform::Logger {
 public:
  void log(platform::LogLevel level, std::string_view message) override;
  std::vector<std::string> lines() const;
  size_t count_containing(const std::string& needle) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// A 200 with a JSON body (bare accepted, ASSUMED B).
platform::HttpResponse ok_response();
platform::HttpResponse status_response(int status, const std::string& body = "{}");

}  // namespace test
}  // namespace experiture
