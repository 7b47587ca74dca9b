#include "emulator_process.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <stdexcept>

#ifndef EXPERITURE_EMULATOR_PATH
#define EXPERITURE_EMULATOR_PATH ""
#endif

namespace experiture {
namespace test {

namespace {

constexpr int kStartTimeoutMs = 15000;

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t append_header(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * count;
}

}  // namespace

nlohmann::json EmulatorResponse::json() const {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  return doc.is_discarded() ? nlohmann::json() : doc;
}

EmulatorProcess::EmulatorProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  spawn(0);
}

EmulatorProcess::EmulatorProcess(std::vector<std::string> extra_args, int port)
    : extra_args_(std::move(extra_args)) {
  spawn(port);
}

EmulatorProcess::~EmulatorProcess() {
  stop();
}

void EmulatorProcess::spawn(int port) {
  std::string binary = EXPERITURE_EMULATOR_PATH;
  if (binary.empty()) throw std::runtime_error("EXPERITURE_EMULATOR_PATH is not defined");
  std::vector<std::string> args = {binary, "--port", std::to_string(port)};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(&arg[0]);
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive a crashed test binary
    if (getppid() != parent) _exit(127);
#endif
    dup2(fds[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  (void)parent;
  close(fds[1]);
  pid_ = pid;

  // Read the first line with a deadline: the port, or EOF when the emulator exits.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  bool complete = false;
  while (!complete) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    pollfd waiting{fds[0], POLLIN, 0};
    int ready = poll(&waiting, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buffer[64];
    ssize_t got = read(fds[0], buffer, sizeof buffer);
    if (got <= 0) break;
    line.append(buffer, static_cast<size_t>(got));
    complete = line.find('\n') != std::string::npos;
  }
  close(fds[0]);
  int bound = complete ? std::atoi(line.c_str()) : 0;
  if (bound <= 0) {
    stop();
    throw std::runtime_error("experiture-emulator (" + binary + ") did not start" +
                             (complete ? ": first line was '" + line + "'"
                                       : ": no port line within the start timeout or it exited"));
  }
  port_ = bound;
}

void EmulatorProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void EmulatorProcess::kill_hard() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void EmulatorProcess::restart() {
  stop();
  spawn(port_);
}

std::string EmulatorProcess::root_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::string EmulatorProcess::base_url() const {
  return root_url() + "/public/v1";
}

EmulatorResponse EmulatorProcess::request(const std::string& method, const std::string& path,
                                          const std::string& body,
                                          const std::vector<std::string>& headers) const {
  EmulatorResponse response;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
  std::string url = root_url() + path;
  curl_slist* header_list = nullptr;
  for (const std::string& header : headers)
    header_list = curl_slist_append(header_list, header.c_str());
  header_list = curl_slist_append(header_list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST" || !body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  response.curl_code = static_cast<int>(curl_easy_perform(curl));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);
  return response;
}

EmulatorResponse EmulatorProcess::post_api(const std::string& api_path, const nlohmann::json& body,
                                           const std::string& token,
                                           const std::string& idempotency_key) const {
  std::vector<std::string> headers = {"Content-Type: application/json"};
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  if (!idempotency_key.empty()) headers.push_back("Idempotency-Key: " + idempotency_key);
  return request("POST", "/public/v1" + api_path, body.dump(), headers);
}

nlohmann::json EmulatorProcess::get_json(const std::string& path) const {
  EmulatorResponse response = request("GET", path);
  if (response.curl_code != 0) {
    throw std::runtime_error("GET " + path + ": no answer from the emulator (curl " +
                             std::to_string(response.curl_code) + ")");
  }
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error("GET " + path + ": answer is not JSON");
  return doc;
}

nlohmann::json EmulatorProcess::post_json(const std::string& path,
                                          const nlohmann::json& body) const {
  EmulatorResponse response =
      request("POST", path, body.dump(), {"Content-Type: application/json"});
  if (response.curl_code != 0) {
    throw std::runtime_error("POST " + path + ": no answer from the emulator (curl " +
                             std::to_string(response.curl_code) + ")");
  }
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error("POST " + path + ": answer is not JSON");
  if (response.status >= 400) {
    throw std::runtime_error("POST " + path + ": HTTP " + std::to_string(response.status) + " " +
                             response.body);
  }
  return doc;
}

nlohmann::json EmulatorProcess::profile(const std::string& key, const std::string& value,
                                        const std::string& object) const {
  CURL* curl = curl_easy_init();
  char* key_escaped = curl_easy_escape(curl, key.c_str(), static_cast<int>(key.size()));
  char* value_escaped = curl_easy_escape(curl, value.c_str(), static_cast<int>(value.size()));
  char* object_escaped = curl_easy_escape(curl, object.c_str(), static_cast<int>(object.size()));
  std::string path = std::string("/_emulator/profile?object=") + object_escaped +
                     "&key=" + key_escaped + "&value=" + value_escaped;
  curl_free(key_escaped);
  curl_free(value_escaped);
  curl_free(object_escaped);
  curl_easy_cleanup(curl);
  EmulatorResponse response = request("GET", path);
  if (response.curl_code != 0) throw std::runtime_error("GET " + path + ": no answer");
  if (response.status == 404) return nlohmann::json();
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error("GET " + path + ": answer is not JSON");
  return doc;
}

nlohmann::json EmulatorProcess::profiles(const std::string& object) const {
  return get_json("/_emulator/profiles?object=" + object)["profiles"];
}

nlohmann::json EmulatorProcess::events(const std::string& object) const {
  return get_json("/_emulator/events?object=" + object)["events"];
}

nlohmann::json EmulatorProcess::counters() const {
  return get_json("/_emulator/counters");
}

void EmulatorProcess::set_faults(const nlohmann::json& script) const {
  post_json("/_emulator/faults", script);
}

void EmulatorProcess::reset() const {
  post_json("/_emulator/reset", nlohmann::json::object());
}

}  // namespace test
}  // namespace experiture
