// CliRunner: runs a program (experiture-cli, experiture-kiosk) as a child process with a clean
// EXPERITURE_* environment, and collects its exit code, stdout and stderr. Test-only code:
// failures to spawn throw std::runtime_error.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace experiture {
namespace test {

struct ProcessResult {
  int exit_code = -1;  // -1 when the child did not exit normally
  std::string out;     // stdout (with `terminal`, stdout and stderr interleaved)
  std::string err;     // stderr (empty with `terminal`)
};

class CliRunner {
 public:
  // `program` is the binary; `base_args` go before each call's arguments.
  explicit CliRunner(std::string program, std::vector<std::string> base_args = {});

  // Sets (or, with an empty value, removes) an environment variable for later runs. The
  // parent's EXPERITURE_* variables are never passed on.
  void set_env(const std::string& name, const std::string& value);

  // Later runs read standard input from this file ("" = inherit the parent's).
  void set_stdin_file(const std::string& path) { stdin_file_ = path; }

  // Runs the program and waits for it. With `terminal`, its stdout and stderr are a
  // pseudo-terminal (isatty() is true in the child).
  ProcessResult run(const std::vector<std::string>& args, bool terminal = false) const;

  // Starts the program without waiting (stdout and stderr to /dev/null) and returns its pid; the
  // caller reaps it with waitpid() (e.g. after kill(pid, SIGKILL)).
  int start(const std::vector<std::string>& args) const;

 private:
  std::vector<std::string> environment() const;
  // The program, the base arguments and `args`: the argv of one run.
  std::vector<std::string> command(const std::vector<std::string>& args) const;

  std::string program_;
  std::vector<std::string> base_args_;
  std::map<std::string, std::string> env_;
  std::string stdin_file_;
};

}  // namespace test
}  // namespace experiture
