#include "experiture/platform/backends.hpp"

namespace experiture {
namespace platform {
namespace {

// Stands in where the SDK was built without a network backend: every request fails at once.
class NullHttpClient final : public HttpClient {
 public:
  void send(HttpRequest, HttpCompletion completion) override {
    HttpResponse response;
    response.error = TransportError::kConnect;
    response.error_message = "built without a network backend";
    completion(std::move(response));
  }
  void cancel_all() override {}
};

}  // namespace

// Linked only when the SDK is built without a network backend (platform/CMakeLists.txt).
std::unique_ptr<HttpClient> make_default_http_client(const HttpClientOptions&) {
  return std::make_unique<NullHttpClient>();
}

}  // namespace platform
}  // namespace experiture
