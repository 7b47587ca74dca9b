#include "token_source.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <utility>

#include "text/ascii.hpp"

namespace experiture {
namespace cli {
TokenSource::TokenSource(std::string token, std::string command)
    : token_(std::move(token)), command_(std::move(command)) {}

std::string TokenSource::get(bool refresh) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (refresh && !last_.empty()) refused_.insert(last_);
  std::string token = command_.empty() ? token_ : run_command();
  if (!token.empty() && refused_.count(token) > 0) token.clear();
  exhausted_ = token.empty() && !refused_.empty();
  if (!token.empty()) last_ = token;
  return token;
}

bool TokenSource::exhausted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exhausted_;
}

TokenProvider TokenSource::provider(std::shared_ptr<TokenSource> source) {
  return [source](bool refresh) { return source->get(refresh); };
}

std::string TokenSource::run_command() {
  std::fflush(nullptr);
  FILE* pipe = ::popen(command_.c_str(), "r");
  if (pipe == nullptr) {
    std::fprintf(stderr, "experiture-cli: cannot run the token command\n");
    return std::string();
  }
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "experiture-cli: the token command failed (exit status %d)\n",
                 status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status));
    return std::string();
  }
  return std::string(text::trim(output));
}

}  // namespace cli
}  // namespace experiture
