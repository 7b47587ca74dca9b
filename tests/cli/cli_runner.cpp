#include "cli_runner.hpp"

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace experiture {
namespace test {
namespace {

std::vector<char*> pointers(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(&w[0]);
  out.push_back(nullptr);
  return out;
}

// Reads every fd until end of file (EIO on a pty master counts as the end).
void drain_fds(std::vector<std::pair<int, std::string*>> fds) {
  while (!fds.empty()) {
    std::vector<pollfd> polls;
    for (const auto& f : fds) polls.push_back(pollfd{f.first, POLLIN, 0});
    if (::poll(polls.data(), polls.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    for (size_t i = polls.size(); i-- > 0;) {
      if (polls[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].first, buffer, sizeof buffer);
      if (n > 0) {
        fds[i].second->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].first);
        fds.erase(fds.begin() + static_cast<long>(i));
      }
    }
  }
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

CliRunner::CliRunner(std::string program, std::vector<std::string> base_args)
    : program_(std::move(program)), base_args_(std::move(base_args)) {}

void CliRunner::set_env(const std::string& name, const std::string& value) {
  env_[name] = value;
}

std::vector<std::string> CliRunner::environment() const {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (name.rfind("EXPERITURE_", 0) == 0 || env_.count(name) > 0) continue;
    out.push_back(entry);
  }
  for (const auto& v : env_) {
    if (!v.second.empty()) out.push_back(v.first + "=" + v.second);
  }
  return out;
}

std::vector<std::string> CliRunner::command(const std::vector<std::string>& args) const {
  std::vector<std::string> words = {program_};
  words.insert(words.end(), base_args_.begin(), base_args_.end());
  words.insert(words.end(), args.begin(), args.end());
  return words;
}

ProcessResult CliRunner::run(const std::vector<std::string>& args, bool terminal) const {
  std::vector<std::string> argv_words = command(args);
  std::vector<std::string> env_words = environment();
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<char*> argv = pointers(argv_words);
  std::vector<char*> envp = pointers(env_words);
  ProcessResult result;
  const int input = stdin_file_.empty() ? -1 : ::open(stdin_file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (!stdin_file_.empty() && input < 0) {
    throw std::runtime_error("cannot open " + stdin_file_ + ": " + std::strerror(errno));
  }
  struct CloseInput {
    int fd;
    ~CloseInput() {
      if (fd >= 0) ::close(fd);
    }
  } close_input{input};
  if (terminal) {
    int master = -1;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid < 0) throw std::runtime_error(std::string("forkpty: ") + std::strerror(errno));
    if (pid == 0) {
      if (input >= 0) ::dup2(input, STDIN_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    drain_fds({{master, &result.out}});
    result.exit_code = wait_for(pid);
    return result;
  }
  int out[2];
  int err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (input >= 0) ::dup2(input, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::close(err[0]);
    ::close(err[1]);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  drain_fds({{out[0], &result.out}, {err[0], &result.err}});
  result.exit_code = wait_for(pid);
  return result;
}

int CliRunner::start(const std::vector<std::string>& args) const {
  std::vector<std::string> argv_words = command(args);
  std::vector<std::string> env_words = environment();
  std::vector<char*> argv = pointers(argv_words);
  std::vector<char*> envp = pointers(env_words);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) throw std::runtime_error(std::string("open /dev/null: ") + std::strerror(errno));
  const int input =
      stdin_file_.empty() ? null_fd : ::open(stdin_file_.c_str(), O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (input >= 0) ::dup2(input, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (input >= 0 && input != null_fd) ::close(input);
  ::close(null_fd);
  return pid;
}

}  // namespace test
}  // namespace experiture
