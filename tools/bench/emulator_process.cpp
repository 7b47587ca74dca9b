#include "emulator_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "bench_support.hpp"

namespace experiture {
namespace bench {
namespace {

// die() exits without unwinding: the emulator is stopped from an exit handler then.
pid_t g_running_pid = -1;

void stop_at_exit() {
  if (g_running_pid > 0) kill(g_running_pid, SIGTERM);
}

}  // namespace

EmulatorProcess::EmulatorProcess(const std::string& binary) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe failed");
  pid_ = fork();
  if (pid_ < 0) die("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, STDERR_FILENO);
    execl(binary.c_str(), binary.c_str(), "--port", "0", "--host", "127.0.0.1",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string line;
  char c;
  while (line.size() < 32) {
    ssize_t n = read(fds[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  close(fds[0]);  // the emulator's later output goes nowhere (SIGPIPE-safe: it writes one line)
  port_ = std::atoi(line.c_str());
  g_running_pid = pid_;
  std::atexit(stop_at_exit);
  if (port_ <= 0) die("experiture-emulator did not print its port (" + binary + ")");
}

EmulatorProcess::~EmulatorProcess() {
  if (pid_ <= 0) return;
  g_running_pid = -1;
  kill(pid_, SIGTERM);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace bench
}  // namespace experiture
