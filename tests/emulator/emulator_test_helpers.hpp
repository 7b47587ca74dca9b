// Small helpers shared by the emulator tests: raw loopback sockets and request builders.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace experiture {
namespace test {

// Sends `bytes` to 127.0.0.1:port, optionally half-closes, and returns everything the server
// answers until it closes the connection (bounded wait).
std::string raw_exchange(int port, const std::string& bytes, bool shutdown_write);
// The HTTP status of a raw response ("HTTP/1.1 400 ..." -> 400), 0 when none.
int raw_status(const std::string& response);
// A fresh UUID v4 string.
std::string uuid_v4();
// {"records":[...],"matchKey":key} with `count` profiles email user<i>@example.com.
nlohmann::json profile_batch(int count, const std::string& prefix = "user");

}  // namespace test
}  // namespace experiture
