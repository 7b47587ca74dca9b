#include "client/config_checks.hpp"

#include <cctype>
#include <fstream>

#include "drain/request_builder.hpp"

namespace experiture {
namespace client {
namespace {

static_assert(kMaxRecordBytesLimit == drain::kMaxBatchBodyBytes - drain::kBodyOverheadBytes,
              "a record of the largest size must fit one request body with its envelope");

Status bad(const char* field, const std::string& rule) {
  return Status(Code::kInvalidConfig, std::string("config.") + field + ": " + rule);
}

bool starts_with_ignore_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && starts_with_ignore_case(a, b);
}

// "127.a.b.c" with four decimal octets (no leading '+', at most 3 digits each, each <= 255).
bool is_ipv4_loopback(std::string_view host) {
  int octets = 0;
  size_t i = 0;
  while (i <= host.size()) {
    size_t digits = 0;
    int value = 0;
    while (i < host.size() && std::isdigit(static_cast<unsigned char>(host[i])) && digits < 4) {
      value = value * 10 + (host[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    if (octets == 0 && value != 127) return false;
    ++octets;
    if (i == host.size()) break;
    if (host[i] != '.' || octets == 4) return false;
    ++i;
  }
  return octets == 4;
}

bool is_base64_sha256(std::string_view text) {
  // 32 bytes -> 43 characters and one '=' of padding.
  if (text.size() != 44 || text[43] != '=') return false;
  for (size_t i = 0; i < 43; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!std::isalnum(c) && c != '+' && c != '/') return false;
  }
  return true;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (equals_ignore_case(host, "localhost")) return true;
  if (host == "[::1]" || host == "[0:0:0:0:0:0:0:1]") return true;
  return is_ipv4_loopback(host);
}

std::string url_host(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string();
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string() : std::string(rest.substr(0, close + 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

Status check_endpoint(const Config& config) {
  const std::string& endpoint = config.endpoint;
  const bool https = starts_with_ignore_case(endpoint, "https://");
  const bool http = starts_with_ignore_case(endpoint, "http://");
  if (!https && !http) return bad("endpoint", "must start with https://");
  if (url_host(endpoint).empty()) return bad("endpoint", "must name a host after the scheme");
  if (http && !config.allow_insecure_http_for_testing && !is_loopback_host(url_host(endpoint))) {
    return bad("endpoint",
               "http:// (cleartext) is only allowed to a loopback host (127.0.0.0/8, ::1, "
               "localhost), for a local emulator; use https:// (the bearer token and the records "
               "would travel unencrypted)");
  }
  return Status::ok();
}

Status check_tls(const Config& config) {
  const std::string& ca = config.tls.ca_bundle_path;
  if (!ca.empty()) {
    std::ifstream file(ca, std::ios::binary);
    char first = 0;
    if (!file.is_open() || !file.get(first)) {
      return bad("tls.ca_bundle_path", "no readable, non-empty file at that path");
    }
  }
  std::string_view pins = config.tls.pinned_public_keys;
  if (pins.empty()) return Status::ok();
  size_t index = 0;
  for (;;) {
    const size_t end = pins.find(';');
    std::string_view pin = pins.substr(0, end);
    while (!pin.empty() && pin.front() == ' ') pin.remove_prefix(1);
    while (!pin.empty() && pin.back() == ' ') pin.remove_suffix(1);
    if (pin.substr(0, 8) != "sha256//" || !is_base64_sha256(pin.substr(8))) {
      return bad("tls.pinned_public_keys",
                 "pin " + std::to_string(index + 1) +
                     " is not \"sha256//\" followed by the base64 SHA-256 of a public key "
                     "(44 characters ending in '='); separate pins with ';'");
    }
    if (end == std::string_view::npos) break;
    pins.remove_prefix(end + 1);
    ++index;
  }
  return Status::ok();
}

Status check_record_limit(const Config& config) {
  if (config.max_record_bytes < 16) return bad("max_record_bytes", "must be at least 16");
  if (config.max_record_bytes > kMaxRecordBytesLimit) {
    return bad("max_record_bytes",
               "must be at most " + std::to_string(kMaxRecordBytesLimit) +
                   " (kMaxRecordBytesLimit): one record must fit the API's 10 MB request body");
  }
  return Status::ok();
}

}  // namespace client
}  // namespace experiture
