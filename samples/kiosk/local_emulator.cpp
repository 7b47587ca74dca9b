#include "local_emulator.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <httplib.h>

namespace kiosk {
namespace {

constexpr int kStartTimeoutMs = 15000;
constexpr int kStopTimeoutMs = 5000;

}  // namespace

LocalEmulator::~LocalEmulator() {
  stop();
}

bool LocalEmulator::start(int port, std::string* error) {
  int out[2];
  if (::pipe(out) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  const std::string port_text = std::to_string(port);
  std::vector<const char*> argv = {binary_path_.c_str(), "--host", "127.0.0.1", "--port",
                                   port_text.c_str(),    nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execv(argv[0], const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  ::close(out[1]);
  pid_ = pid;
  // The emulator prints the bound port alone on its first line once it listens.
  std::string line;
  pollfd fd{out[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&fd, 1, kStartTimeoutMs) > 0) {
    char buffer[64];
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    line.append(buffer, static_cast<size_t>(n));
  }
  ::close(out[0]);
  port_ = std::atoi(line.c_str());
  // The port is printed before the accept loop runs, and a SIGTERM in that gap is lost: wait
  // for an answer before anything may stop it.
  if (port_ <= 0 || get_json("/_emulator/config").is_null()) {
    stop();
    *error = "experiture-emulator (" + binary_path_ + ") did not start";
    return false;
  }
  return true;
}

void LocalEmulator::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kStopTimeoutMs);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string LocalEmulator::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/public/v1";
}

nlohmann::json LocalEmulator::get_json(const std::string& path,
                                       const std::multimap<std::string, std::string>& query) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto response =
      client.Get(path.c_str(), httplib::Params(query.begin(), query.end()), httplib::Headers());
  if (!response || response->status != 200) return nlohmann::json();
  nlohmann::json doc = nlohmann::json::parse(response->body, nullptr, false);
  return doc.is_discarded() ? nlohmann::json() : doc;
}

}  // namespace kiosk
