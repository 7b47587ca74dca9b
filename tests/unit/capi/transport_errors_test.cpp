// The transport-error kinds, spelled in four places (experiture.h, the C++ TransportError, the
// Java enum and the Swift enum), against the one list below: name and number. A kind added in
// one place and not the others fails here; the numbers are compile-time checks for C and C++.
// The Java test TransportErrorTest and the Swift TransportErrorTests check the same numbers at
// run time in their own languages.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "capi/transport_error_from_c.hpp"
#include "drain/response_classifier.hpp"
#include "experiture/experiture.h"
#include "experiture/platform/http_client.hpp"

namespace {

using experiture::platform::TransportError;

// X(C and Java name, C++ enumerator, number, Swift case). Append only: never renumber.
#define EXPERITURE_TRANSPORT_ERRORS(X)   \
  X(NONE, kNone, 0, none)                \
  X(CONNECT, kConnect, 1, connect)       \
  X(TIMEOUT, kTimeout, 2, timeout)       \
  X(TLS, kTls, 3, tls)                   \
  X(PINNING, kPinning, 4, pinning)       \
  X(RESET, kReset, 5, reset)             \
  X(CANCELLED, kCancelled, 6, cancelled) \
  X(OTHER, kOther, 7, other)             \
  X(DNS, kDns, 8, dns)

#define CHECK_NUMBERS(c, cpp, number, swift)                                  \
  static_assert(EXPERITURE_TRANSPORT_##c == (number),                         \
                "experiture.h: EXPERITURE_TRANSPORT_" #c " is not " #number); \
  static_assert(static_cast<int>(TransportError::cpp) == (number),            \
                "http_client.hpp: TransportError::" #cpp " is not " #number);
EXPERITURE_TRANSPORT_ERRORS(CHECK_NUMBERS)
#undef CHECK_NUMBERS

struct Kind {
  std::string name;  // C suffix and Java constant
  std::string cpp;
  int number;
  std::string swift;
  TransportError error;
};

std::vector<Kind> kinds() {
  std::vector<Kind> out;
#define ROW(c, cpp, number, swift) out.push_back({#c, #cpp, number, #swift, TransportError::cpp});
  EXPERITURE_TRANSPORT_ERRORS(ROW)
#undef ROW
  return out;
}

std::map<std::string, int> expected(std::string Kind::*name) {
  std::map<std::string, int> out;
  for (const Kind& k : kinds()) out[k.*name] = k.number;
  return out;
}

std::string read(const std::string& relative) {
  std::ifstream in(std::string(EXPERITURE_SOURCE_DIR) + "/" + relative, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text from `start` to the first `end` after it.
std::string block(const std::string& text, const std::string& start, const std::string& end) {
  const size_t from = text.find(start);
  REQUIRE(from != std::string::npos);
  const size_t to = text.find(end, from);
  REQUIRE(to != std::string::npos);
  return text.substr(from, to - from);
}

// name -> number for every `<pattern>` match (group 1 the name, group 2 the number).
std::map<std::string, int> numbered(const std::string& text, const std::string& pattern) {
  std::map<std::string, int> out;
  const std::regex re(pattern);
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    out[(*it)[1].str()] = std::stoi((*it)[2].str());
  }
  return out;
}

// "NAME=number ..." in number order, for messages that show what differs.
std::string describe(const std::map<std::string, int>& kinds) {
  std::map<int, std::string> by_number;
  for (const auto& kind : kinds) by_number[kind.second] += kind.first + " ";
  std::string out;
  for (const auto& row : by_number) out += std::to_string(row.first) + "=" + row.second;
  return out;
}

}  // namespace

TEST_CASE("experiture.h has exactly the transport errors of the list", "[capi][unit]") {
  const std::string c_enum =
      block(read("core/include/experiture/experiture.h"),
            "typedef enum experiture_transport_error_t", "} experiture_transport_error_t;");
  CHECK(describe(numbered(c_enum, R"(EXPERITURE_TRANSPORT_(\w+) = (\d+))")) ==
        describe(expected(&Kind::name)));
}

TEST_CASE("the C++ TransportError has exactly the kinds of the list", "[capi][unit]") {
  const std::string cpp_enum = block(read("platform/include/experiture/platform/http_client.hpp"),
                                     "enum class TransportError", "};");
  CHECK(describe(numbered(cpp_enum, R"((k\w+) = (\d+))")) == describe(expected(&Kind::cpp)));
}

TEST_CASE("the Java TransportError has the kinds of the list in their order", "[capi][unit]") {
  const std::string java =
      read("bindings/java/src/main/java/com/experiture/sdk/TransportError.java");
  std::string body = block(java, "public enum TransportError {", "}");
  body = std::regex_replace(body, std::regex(R"(/\*[\s\S]*?\*/|//[^\n]*)"), "");
  body = body.substr(body.find('{') + 1);
  // The native side reads the ordinal: the position is the number.
  std::map<std::string, int> constants;
  const std::regex name(R"(\b([A-Z][A-Z0-9_]*)\b)");
  for (std::sregex_iterator it(body.begin(), body.end(), name), end; it != end; ++it) {
    const int ordinal = static_cast<int>(constants.size());
    constants[(*it)[1].str()] = ordinal;
  }
  CHECK(describe(constants) == describe(expected(&Kind::name)));
}

TEST_CASE("the Swift TransportError has exactly the kinds of the list", "[capi][unit]") {
  const std::string swift_enum = block(read("bindings/swift/Sources/Experiture/HttpClient.swift"),
                                       "public enum TransportError: Int32", "\n}");
  CHECK(describe(numbered(swift_enum, R"(case (\w+) = (\d+))")) ==
        describe(expected(&Kind::swift)));
}

TEST_CASE("each C transport error becomes the C++ kind of its number, with its NETWORK code",
          "[capi][unit]") {
  for (const Kind& k : kinds()) {
    INFO("EXPERITURE_TRANSPORT_" << k.name);
    CHECK(experiture::capi::transport_error_from_c(k.number) == k.error);
    if (k.error == TransportError::kNone) continue;
    experiture::platform::HttpResponse response;
    response.error = k.error;
    const auto c = experiture::drain::classify_response(response, 1, 0);
    CHECK(c.code == "NETWORK." + k.name);
  }
  CHECK(experiture::capi::transport_error_from_c(static_cast<int>(kinds().size())) ==
        TransportError::kOther);
  CHECK(experiture::capi::transport_error_from_c(-1) == TransportError::kOther);
}
