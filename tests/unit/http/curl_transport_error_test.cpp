// libcurl's result codes as TransportError kinds (platform/curl/curl_transport_error.hpp), and a
// real name-resolution failure through the curl client that never leaves the machine.
#include "curl_transport_error.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "curl_http_client.hpp"
#include "http_client_contract.hpp"

namespace {

using experiture::platform::CurlHttpClient;
using experiture::platform::HttpClientOptions;
using experiture::platform::HttpRequest;
using experiture::platform::transport_error_of;
using experiture::platform::TransportError;

// A host name with a 64-byte label: longer than DNS allows (63), so the system resolver refuses
// it before building a query. No packet leaves the machine, and the lookup fails every time.
std::string unresolvable_host() {
  return std::string(64, 'a') + ".invalid";
}

}  // namespace

TEST_CASE("every curl code the client maps reads as its kind of transport error", "[http][unit]") {
  struct Row {
    CURLcode code;
    TransportError error;
  };
  const Row row = GENERATE(values<Row>({
      {CURLE_OK, TransportError::kNone},
      {CURLE_COULDNT_RESOLVE_HOST, TransportError::kDns},
      {CURLE_COULDNT_RESOLVE_PROXY, TransportError::kDns},
      {CURLE_COULDNT_CONNECT, TransportError::kConnect},
      {CURLE_OPERATION_TIMEDOUT, TransportError::kTimeout},
      {CURLE_SSL_PINNEDPUBKEYNOTMATCH, TransportError::kPinning},
      {CURLE_PEER_FAILED_VERIFICATION, TransportError::kTls},
      {CURLE_SSL_CONNECT_ERROR, TransportError::kTls},
      {CURLE_SSL_CERTPROBLEM, TransportError::kTls},
      {CURLE_SSL_CIPHER, TransportError::kTls},
      {CURLE_SSL_CACERT_BADFILE, TransportError::kTls},
      {CURLE_SSL_ISSUER_ERROR, TransportError::kTls},
      {CURLE_SSL_CRL_BADFILE, TransportError::kTls},
      {CURLE_SSL_INVALIDCERTSTATUS, TransportError::kTls},
      {CURLE_SSL_SHUTDOWN_FAILED, TransportError::kTls},
      {CURLE_SSL_ENGINE_NOTFOUND, TransportError::kTls},
      {CURLE_SSL_ENGINE_SETFAILED, TransportError::kTls},
      {CURLE_SSL_ENGINE_INITFAILED, TransportError::kTls},
      {CURLE_USE_SSL_FAILED, TransportError::kTls},
      {CURLE_GOT_NOTHING, TransportError::kReset},
      {CURLE_RECV_ERROR, TransportError::kReset},
      {CURLE_SEND_ERROR, TransportError::kReset},
      {CURLE_PARTIAL_FILE, TransportError::kReset},
      {CURLE_HTTP2, TransportError::kReset},
      {CURLE_HTTP2_STREAM, TransportError::kReset},
      {CURLE_WEIRD_SERVER_REPLY, TransportError::kReset},
      {CURLE_URL_MALFORMAT, TransportError::kOther},
      {CURLE_WRITE_ERROR, TransportError::kOther},
      {CURLE_OUT_OF_MEMORY, TransportError::kOther},
      {CURLE_TOO_MANY_REDIRECTS, TransportError::kOther},
  }));
  INFO("CURLcode " << static_cast<int>(row.code) << " (" << curl_easy_strerror(row.code) << ")");
  CHECK(transport_error_of(row.code) == row.error);
}

TEST_CASE("a host name that does not resolve is kDns and the message names the host",
          "[http][unit]") {
  experiture::test::CompletionCollector collector;
  {
    CurlHttpClient client{HttpClientOptions()};
    HttpRequest request;
    request.method = "GET";
    request.url = "https://" + unresolvable_host() + "/public/v1/profiles";
    request.headers.emplace_back("Authorization", "Bearer secret-token");
    request.timeout_ms = 20000;
    client.send(request, collector.callback());
    REQUIRE(collector.wait_for(1));
  }
  const auto response = collector.responses().front().second;
  INFO(response.error_message);
  CHECK(response.error == TransportError::kDns);
  CHECK(response.status == 0);
  CHECK(response.error_message.find(unresolvable_host()) != std::string::npos);
  CHECK(response.error_message.find("secret-token") == std::string::npos);
}
