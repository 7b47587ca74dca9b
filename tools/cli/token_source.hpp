// TokenSource: the CLI's token provider (Config::token_provider): a fixed token, or a shell
// command whose trimmed stdout is the token, run again whenever the server refused the last one.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "experiture/config.hpp"

namespace experiture {
namespace cli {

class TokenSource {
 public:
  // Exactly one of `token` and `command` is expected to be non-empty; with neither, there is
  // no token and delivery pauses.
  TokenSource(std::string token, std::string command);

  // Config::token_provider semantics. A token the server already refused (refresh == true after
  // it was handed out) is never handed out again: a fixed token, or a command that keeps printing
  // the refused one, yields "" so that delivery pauses instead of retrying forever.
  // Thread-safe (SDK thread).
  std::string get(bool refresh);

  // True once the server refused a token and no other one was available.
  bool exhausted() const;

  // A provider bound to a shared TokenSource.
  static TokenProvider provider(std::shared_ptr<TokenSource> source);

 private:
  std::string run_command();

  mutable std::mutex mutex_;
  const std::string token_;
  const std::string command_;
  std::string last_;               // the token most recently handed out
  std::set<std::string> refused_;  // tokens the server answered 401 for
  bool exhausted_ = false;
};

}  // namespace cli
}  // namespace experiture
