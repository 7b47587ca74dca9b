// The built-in backends. CMake links exactly one definition of each factory: the curl client or
// the null client, the libphonenumber normaliser or the E.164-only one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "experiture/platform/http_client.hpp"
#include "experiture/platform/logger.hpp"
#include "experiture/platform/phone_normalizer.hpp"

namespace experiture {
namespace platform {

struct HttpClientOptions {
  std::string ca_bundle_path;      // PEM file replacing the system CA store; "" = system store
  std::string pinned_public_keys;  // "sha256//<base64>;..."; "" = no pinning
  std::string proxy;               // "" = no proxy
  int64_t connect_timeout_ms = 10000;
  std::string user_agent = "experiture-sdk";
};

// The platform's HTTP stack (libcurl on Linux), or a client that fails every request with
// TransportError::kConnect when the SDK was built without one.
std::unique_ptr<HttpClient> make_default_http_client(const HttpClientOptions& options);

// The platform's default log sink: one line per message on stderr, from `min_level` up.
// (The Java and Swift bindings pass their own Logger: logcat / os_log.)
std::unique_ptr<Logger> make_default_logger(LogLevel min_level);

// libphonenumber when built in, else the E.164-only normaliser.
std::unique_ptr<PhoneNormalizer> make_default_phone_normalizer();

// True for "+" then 8 to 15 digits, the first not 0 (E.164 as the CDP stores it), nothing else.
bool is_e164(std::string_view value);

// The built-in rule without libphonenumber and without an app-supplied normaliser: removes spaces,
// tabs, dashes, dots and brackets, then accepts only E.164 (is_e164). A national number ("212 555
// 0123", "030 1234567", "0044 ...") is rejected, never guessed: it needs a real normaliser.
class E164OnlyPhoneNormalizer final : public PhoneNormalizer {
 public:
  std::optional<std::string> to_e164(std::string_view raw,
                                     std::string_view default_region) const override;
};

}  // namespace platform
}  // namespace experiture
