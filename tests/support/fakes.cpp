#include "fakes.hpp"

namespace experiture {
namespace test {

void FakeHttpClient::set_responder(Responder responder) {
  std::lock_guard<std::mutex> lock(mutex_);
  responder_ = std::move(responder);
}

void FakeHttpClient::send(platform::HttpRequest request, platform::HttpCompletion completion) {
  Responder responder;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    responder = responder_;
    if (!responder) {
      held_.push_back(std::move(completion));
      return;
    }
  }
  completion(responder(request));
}

void FakeHttpClient::cancel_all() {
  std::deque<platform::HttpCompletion> held;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    held.swap(held_);
  }
  for (auto& completion : held) {
    platform::HttpResponse r;
    r.error = platform::TransportError::kCancelled;
    completion(r);
  }
}

bool FakeHttpClient::release(platform::HttpResponse response) {
  platform::HttpCompletion completion;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (held_.empty()) return false;
    completion = std::move(held_.front());
    held_.pop_front();
  }
  completion(std::move(response));
  return true;
}

size_t FakeHttpClient::held() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return held_.size();
}

std::vector<platform::HttpRequest> FakeHttpClient::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

size_t FakeHttpClient::request_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_.size();
}

void CapturingLogger::log(platform::LogLevel, std::string_view message) {
  std::lock_guard<std::mutex> lock(mutex_);
  lines_.emplace_back(message);
}

std::vector<std::string> CapturingLogger::lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

size_t CapturingLogger::count_containing(const std::string& needle) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& line : lines_) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

platform::HttpResponse ok_response() {
  return status_response(200, "{\"success\":true,\"data\":{}}");
}

platform::HttpResponse status_response(int status, const std::string& body) {
  platform::HttpResponse r;
  r.status = status;
  r.body = body;
  r.headers.emplace_back("content-type", "application/json");
  return r;
}

}  // namespace test
}  // namespace experiture
