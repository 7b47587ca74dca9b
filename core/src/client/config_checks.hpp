// Checks of Config values that guard the network and the disk against misconfiguration, run by
// Client::open() before anything is opened. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "experiture/config.hpp"
#include "experiture/status.hpp"

namespace experiture {
namespace client {

// True when `host` (as written in a URL: "localhost", "127.0.0.9", "[::1]") names this machine:
// 127.0.0.0/8 in dotted-quad form, ::1, or "localhost" (any case). A DNS name that only starts
// like an address ("127.0.0.1.example.com") is not loopback.
bool is_loopback_host(std::string_view host);

// The host part of an http(s) URL: after "scheme://" and any "user@", up to the port, path,
// query or fragment; IPv6 literals keep their brackets. "" when there is none.
std::string url_host(std::string_view url);

// config.endpoint: https:// to any host; http:// only to a loopback host (a local emulator),
// unless config.allow_insecure_http_for_testing. kInvalidConfig naming `endpoint` otherwise.
Status check_endpoint(const Config& config);

// config.tls: the CA bundle must be a readable file, every pin "sha256//" + 44 base64 characters
// (a SHA-256), pins separated by ';'. kInvalidConfig naming the option otherwise. Checked also
// when config.http replaces the built-in transport (the values would be silently unused).
Status check_tls(const Config& config);

// config.max_record_bytes: at least 16 and at most kMaxRecordBytesLimit (a record must fit one
// API request body). kInvalidConfig naming `max_record_bytes` otherwise.
Status check_record_limit(const Config& config);

}  // namespace client
}  // namespace experiture
