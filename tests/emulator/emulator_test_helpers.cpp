#include "emulator_test_helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <stdexcept>

namespace experiture {
namespace test {

std::string raw_exchange(int port, const std::string& bytes, bool shutdown_write) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    throw std::runtime_error("connect failed");
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  if (shutdown_write) shutdown(fd, SHUT_WR);
  std::string response;
  for (;;) {
    pollfd waiting{fd, POLLIN, 0};
    if (poll(&waiting, 1, 15000) <= 0) break;
    char buffer[4096];
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
    // One response is enough: stop once the declared body has arrived.
    size_t header_end = response.find("\r\n\r\n");
    size_t length_at = response.find("Content-Length: ");
    if (header_end != std::string::npos && length_at != std::string::npos &&
        length_at < header_end) {
      size_t length = std::stoul(response.substr(length_at + 16));
      if (response.size() >= header_end + 4 + length) break;
    }
  }
  close(fd);
  return response;
}

int raw_status(const std::string& response) {
  int status = 0;
  if (std::sscanf(response.c_str(), "HTTP/1.%*d %d", &status) != 1) return 0;
  return status;
}

std::string uuid_v4() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  uint64_t high = rng(), low = rng();
  high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x4000ULL;
  low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xFFFF),
                static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return buffer;
}

nlohmann::json profile_batch(int count, const std::string& prefix) {
  nlohmann::json records = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    records.push_back({{"email", prefix + std::to_string(i) + "@example.com"}, {"tier", "gold"}});
  }
  return {{"records", records}, {"matchKey", "email"}};
}

}  // namespace test
}  // namespace experiture
