#include "drain/response_classifier.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace experiture {
namespace drain {
namespace {

using platform::HttpResponse;
using platform::TransportError;

// 2026-04-21T15:30:00Z
constexpr int64_t kNowMs = 1776785400000;
constexpr int64_t kNoParse = INT64_MIN;

HttpResponse http(int status, std::string body = "", platform::Headers headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string error_body(const std::string& code, const std::string& message,
                       const std::string& details_json = "null") {
  return R"({"success":false,"correlationId":"body-cid","error":{"code":")" + code +
         R"(","message":")" + message + R"(","details":)" + details_json + "}}";
}

std::vector<size_t> indexes(const Classification& c) {
  std::vector<size_t> out;
  for (const auto& r : c.rejected) out.push_back(r.index);
  return out;
}

TEST_CASE("each HTTP status maps to the drain step of the status table in docs/api.md",
          "[drain][unit]") {
  struct Row {
    int status;
    size_t records;
    Outcome outcome;
  };
  const Row row = GENERATE(values<Row>({
      {200, 10, Outcome::kDelivered},     {201, 10, Outcome::kDelivered},
      {202, 10, Outcome::kDelivered},     {204, 10, Outcome::kDelivered},
      {400, 10, Outcome::kBisect},        {400, 1, Outcome::kRejectRecords},
      {422, 10, Outcome::kBisect},        {422, 1, Outcome::kRejectRecords},
      {401, 10, Outcome::kUnauthorized},  {401, 1, Outcome::kUnauthorized},
      {403, 10, Outcome::kForbidden},     {404, 10, Outcome::kDeadLetterAll},
      {404, 1, Outcome::kDeadLetterAll},  {409, 10, Outcome::kRetry},
      {413, 10, Outcome::kSplit},         {413, 2, Outcome::kSplit},
      {413, 1, Outcome::kRejectRecords},  {429, 10, Outcome::kRateLimited},
      {500, 10, Outcome::kRetry},         {502, 10, Outcome::kRetry},
      {503, 10, Outcome::kRetry},         {504, 10, Outcome::kRetry},
      {599, 10, Outcome::kRetry},         {405, 10, Outcome::kDeadLetterAll},
      {410, 10, Outcome::kDeadLetterAll}, {415, 10, Outcome::kDeadLetterAll},
      {499, 10, Outcome::kDeadLetterAll}, {100, 10, Outcome::kRetry},
      {301, 10, Outcome::kRetry},         {304, 10, Outcome::kRetry},
      {0, 10, Outcome::kRetry},           {600, 10, Outcome::kRetry},
      {-1, 10, Outcome::kRetry},
  }));
  CAPTURE(row.status, row.records);
  const std::string success = R"({"success":true,"data":{}})";
  const std::string body =
      GENERATE_COPY(std::string(), std::string("not json {"),
                    error_body("CDP_ETL.X.Y", "something went wrong"), success);
  const Classification c = classify_response(http(row.status, body), row.records, kNowMs);
  // A 2xx is delivery only with a readable success envelope.
  const bool unreadable_2xx = row.outcome == Outcome::kDelivered && body != success;
  CHECK(c.outcome == (unreadable_2xx ? Outcome::kUnreadable : row.outcome));
  CHECK(c.http_status == row.status);
  if (row.outcome == Outcome::kRejectRecords) {
    CHECK(indexes(c) == std::vector<size_t>{0});
  } else if (row.outcome != Outcome::kDelivered) {
    CHECK(c.rejected.empty());
  }
}

TEST_CASE("every transport error is retried and says which it was", "[drain][unit]") {
  struct Row {
    TransportError error;
    const char* code;
  };
  const Row row = GENERATE(values<Row>({
      {TransportError::kConnect, "NETWORK.CONNECT"},
      {TransportError::kTimeout, "NETWORK.TIMEOUT"},
      {TransportError::kTls, "NETWORK.TLS"},
      {TransportError::kPinning, "NETWORK.PINNING"},
      {TransportError::kReset, "NETWORK.RESET"},
      {TransportError::kCancelled, "NETWORK.CANCELLED"},
      {TransportError::kOther, "NETWORK.OTHER"},
      {TransportError::kDns, "NETWORK.DNS"},
  }));
  HttpResponse r = http(0);
  r.error = row.error;
  r.error_message = "detail";
  const Classification c = classify_response(r, 5, kNowMs);
  CHECK(c.outcome == Outcome::kRetry);
  CHECK(c.http_status == 0);
  CHECK(c.code == row.code);
  CHECK(c.message == "detail");
  CHECK(c.retry_after_ms == -1);
  CHECK(c.rejected.empty());
}

TEST_CASE("the error envelope gives code, message and correlation id", "[drain][unit]") {
  const Classification from_body = classify_response(
      http(401, error_body("CDP_ETL.AUTH.TOKEN_EXPIRED", "token expired")), 3, kNowMs);
  CHECK(from_body.outcome == Outcome::kUnauthorized);
  CHECK(from_body.code == "CDP_ETL.AUTH.TOKEN_EXPIRED");
  CHECK(from_body.message == "token expired");
  CHECK(from_body.correlation_id == "body-cid");

  const Classification from_header = classify_response(
      http(500, error_body("CDP_ETL.INTERNAL.X", "boom"), {{"x-correlation-id", "hdr-cid"}}), 3,
      kNowMs);
  CHECK(from_header.correlation_id == "hdr-cid");
  CHECK(from_header.code == "CDP_ETL.INTERNAL.X");

  const Classification success = classify_response(
      http(200, R"({"success":true,"data":{"accepted":true},"correlationId":"ok-cid"})"), 3,
      kNowMs);
  CHECK(success.correlation_id == "ok-cid");
  CHECK(success.code.empty());
}

TEST_CASE("a batch answer with per-record results lists the rejected records", "[drain][unit]") {
  const std::string body = R"({"success":true,"data":{"acceptedRecords":3,"rejectedRecords":2,
    "results":[{"index":0,"status":"accepted"},
               {"index":3,"status":"rejected","error":{"code":"CDP_ETL.VALIDATION.REQUEST_SCHEMA",
                "message":"records[3].nope: unknown field"}},
               {"index":1,"status":"accepted"},
               {"index":2,"status":"rejected","error":{"code":"CDP_ETL.VALIDATION.REQUEST_INVALID",
                "message":"records[2].email: invalid email format"}},
               {"index":3,"status":"rejected","error":{"code":"dup","message":"dup"}},
               {"index":9,"status":"rejected","error":{"code":"out","message":"of range"}},
               {"index":-1,"status":"rejected"},
               {"index":"4","status":"rejected"},
               "garbage", 17, null]}})";
  const Classification c = classify_response(http(200, body), 5, kNowMs);
  REQUIRE(c.outcome == Outcome::kDelivered);
  REQUIRE(indexes(c) == std::vector<size_t>{2, 3});
  CHECK(c.rejected[0].code == "CDP_ETL.VALIDATION.REQUEST_INVALID");
  CHECK(c.rejected[0].message == "records[2].email: invalid email format");
  CHECK(c.rejected[1].code == "CDP_ETL.VALIDATION.REQUEST_SCHEMA");
}

TEST_CASE("per-record result statuses decide acceptance, unknown ones by their error",
          "[drain][unit]") {
  struct Row {
    const char* entry;
    bool rejected;
  };
  const Row row = GENERATE(values<Row>({
      {R"({"index":0,"status":"accepted"})", false},
      {R"({"index":0,"status":"OK"})", false},
      {R"({"index":0,"status":"updated","error":{"code":"x"}})", false},
      {R"({"index":0,"status":"rejected"})", true},
      {R"({"index":0,"status":"failed"})", true},
      {R"({"index":0,"status":"Error"})", true},
      {R"({"index":0,"status":"weird"})", false},
      {R"({"index":0,"status":"weird","error":{"code":"x"}})", true},
      {R"({"index":0})", false},
      {R"({"index":0,"error":null})", false},
      {R"({"index":0,"error":{"code":"x"}})", true},
      {R"({"error":{"code":"x"}})", true},  // no index: its position, 0
  }));
  CAPTURE(row.entry);
  const std::string body = std::string(R"({"data":{"results":[)") + row.entry + "]}}";
  const Classification c = classify_response(http(200, body), 2, kNowMs);
  CHECK(c.outcome == Outcome::kDelivered);
  CHECK(c.rejected.size() == (row.rejected ? 1u : 0u));
}

TEST_CASE("a 2xx with a readable envelope and no per-record results delivers everything",
          "[drain][unit]") {
  const std::string body =
      GENERATE(std::string(R"({"success":true,"data":{"acceptedRecords":4}})"),
               std::string(R"({"success":true,"data":{"jobId":"j-1","status":"queued"}})"),
               std::string(R"({"success":true,"data":{"results":"nope"}})"),
               std::string(R"({"success":true,"data":[1,2]})"), std::string(R"({"data":{}})"));
  const int status = GENERATE(200, 202);
  const bool with_header = GENERATE(false, true);
  platform::Headers headers;
  if (with_header) headers.emplace_back("x-correlation-id", "cid");
  const Classification c = classify_response(http(status, body, headers), 4, kNowMs);
  CHECK(c.outcome == Outcome::kDelivered);
  CHECK(c.rejected.empty());
}

TEST_CASE("a 2xx without a readable success envelope is no proof of delivery",
          "[drain][unit][hostile]") {
  const std::string body = GENERATE(
      std::string("<html><body>Please accept the terms of use</body></html>"), std::string(),
      std::string(" \r\n"), std::string(R"({"success":true,"data":{"acceptedRecords":4)"),
      std::string(R"({"success":true,"data":{"acceptedRecords":4}})") + "}",
      std::string(R"({"success":true,"data":{}} {"x":1})"), std::string(R"([1,2,3])"),
      std::string(R"("ok")"), std::string(R"({"success":false,"data":{}})"),
      std::string(R"({"success":true,"data":{"note":"}"})").substr(0, 30),
      std::string("\xff\xfe\x00", 3), std::string(100000, '['));
  const int status = GENERATE(200, 202, 204);
  const bool with_header = GENERATE(false, true);
  platform::Headers headers = {{"content-type", "text/html"}};
  if (with_header) headers.emplace_back("x-correlation-id", "cid");
  const Classification c = classify_response(http(status, body, headers), 4, kNowMs);
  INFO(body.substr(0, 80));
  CHECK(c.outcome == Outcome::kUnreadable);
  CHECK(c.rejected.empty());
  CHECK_FALSE(c.message.empty());
}

TEST_CASE("a 400 or 422 naming records by path rejects only those records", "[drain][unit]") {
  struct Row {
    const char* details;
    size_t records;
    std::vector<size_t> expected;
  };
  const Row row = GENERATE(values<Row>({
      {R"({"path":"records[3].email","value":"x"})", 10, {3}},
      {R"({"path":"records[0]"})", 10, {0}},
      {R"({"path":"records[9].a.b"})", 10, {9}},
      {R"({"path":"/records/4/email"})", 10, {4}},
      {R"({"path":"records.5.email"})", 10, {5}},
      {R"({"path":"$.records[6].email"})", 10, {6}},
      {R"({"path":"record.email"})", 1, {0}},
      {R"({"path":"record"})", 1, {0}},
      {R"({"path":"/record/email"})", 1, {0}},
      {R"({"errors":[{"path":"records[7].a"},{"path":"records[2].b"},{"path":"records[7].c"}]})",
       10,
       {2, 7}},
      {R"({"path":"records[1].x","errors":[{"path":"records[8].y"}]})", 10, {1, 8}},
      {R"([{"path":"records[4].a"},{"path":"records[3].b"}])", 10, {3, 4}},
      {R"({"errors":[{"path":"records[12].a"},{"path":"records[2].b"}]})", 10, {2}},
      // An index is read from up to 9 digits (leading zeros count).
      {R"({"path":"records[000000007].a"})", 10, {7}},
      {R"({"path":"records.000000003"})", 10, {3}},
  }));
  CAPTURE(row.details);
  const int status = GENERATE(400, 422);
  const Classification c = classify_response(
      http(status, error_body("CDP_ETL.VALIDATION.REQUEST_SCHEMA", "bad field", row.details)),
      row.records, kNowMs);
  REQUIRE(c.outcome == Outcome::kRejectRecords);
  CHECK(indexes(c) == row.expected);
  for (const auto& r : c.rejected) {
    CHECK(r.code == "CDP_ETL.VALIDATION.REQUEST_SCHEMA");
    CHECK(r.message == "bad field");
  }
}

TEST_CASE("a rejected path entry's own code and message win over the envelope's", "[drain][unit]") {
  const Classification c = classify_response(
      http(422, error_body("CDP_ETL.VALIDATION.MANY", "2 errors",
                           R"({"errors":[{"path":"records[1].a","code":"A","message":"bad a"},
                                          {"path":"records[0].b"}]})")),
      3, kNowMs);
  REQUIRE(indexes(c) == std::vector<size_t>{0, 1});
  CHECK(c.rejected[0].code == "CDP_ETL.VALIDATION.MANY");
  CHECK(c.rejected[0].message == "2 errors");
  CHECK(c.rejected[1].code == "A");
  CHECK(c.rejected[1].message == "bad a");
}

TEST_CASE("a 400 or 422 without a usable record path bisects a batch", "[drain][unit]") {
  const std::string details = GENERATE(
      std::string("null"), std::string("{}"), std::string(R"({"path":"matchKey"})"),
      std::string(R"({"path":"records[10].email"})"), std::string(R"({"path":"records[x]"})"),
      std::string(R"({"path":"records[3"})"), std::string(R"({"path":"record.email"})"),
      std::string(R"({"path":"recordsfoo[1]"})"), std::string(R"({"path":7})"),
      std::string(R"({"path":"records[99999999999999999999].a"})"),
      std::string(R"({"path":"records[0000000007].a"})"),  // 10 digits
      std::string(R"({"errors":"nope"})"), std::string(R"({"errors":[1,null,{"path":false}]})"),
      std::string(R"("records[1]")"));
  CAPTURE(details);
  const Classification c = classify_response(
      http(400, error_body("CDP_ETL.VALIDATION.REQUEST_INVALID", "request invalid", details)), 10,
      kNowMs);
  CHECK(c.outcome == Outcome::kBisect);
  CHECK(c.rejected.empty());
  CHECK(c.code == "CDP_ETL.VALIDATION.REQUEST_INVALID");
}

TEST_CASE("a message starting with a record path names the record when details do not",
          "[drain][unit]") {
  const Classification c =
      classify_response(http(400, error_body("CDP_ETL.VALIDATION.REQUEST_INVALID",
                                             "records[2].email: invalid email format")),
                        5, kNowMs);
  CHECK(c.outcome == Outcome::kRejectRecords);
  CHECK(indexes(c) == std::vector<size_t>{2});
}

TEST_CASE("a 429 carries the server's Retry-After as a delay", "[drain][unit]") {
  struct Row {
    const char* retry_after;
    int64_t expected_ms;
  };
  const Row row = GENERATE(values<Row>({
      {"", -1},
      {"5", 5000},
      {"0", 0},
      {" 120 ", 120000},
      {"1.5", 1500},
      {"0.0001", 1},
      {"2.", -1},
      {"-3", -1},
      {"3s", -1},
      {"soon", -1},
      {"99999999999999999999999", kMaxRetryAfterMs},
      {"Tue, 21 Apr 2026 15:30:30 GMT", 30000},
      {"Tuesday, 21-Apr-26 15:31:00 GMT", 60000},
      {"Tue Apr 21 15:30:02 2026", 2000},
      {"Tue, 21 Apr 2026 15:00:00 GMT", 0},
      {"Fri, 01 Jan 2100 00:00:00 GMT", kMaxRetryAfterMs},
      {"Tue, 21 Apr 2026 15:30:30 PST", -1},
  }));
  CAPTURE(row.retry_after);
  platform::Headers headers;
  if (*row.retry_after != '\0') headers.emplace_back("retry-after", row.retry_after);
  const Classification c = classify_response(
      http(429, error_body("CDP_ETL.RATE.LIMITED", "slow down"), headers), 10, kNowMs);
  CHECK(c.outcome == Outcome::kRateLimited);
  CHECK(c.retry_after_ms == row.expected_ms);
  CHECK(c.code == "CDP_ETL.RATE.LIMITED");
}

TEST_CASE("Retry-After is honoured on 503 and ignored on other retried statuses", "[drain][unit]") {
  const int status = GENERATE(500, 502, 503, 504, 409);
  const Classification c = classify_response(http(status, "", {{"retry-after", "7"}}), 10, kNowMs);
  CHECK(c.outcome == Outcome::kRetry);
  CHECK(c.retry_after_ms == (status == 503 ? 7000 : -1));
}

TEST_CASE("the Date header becomes the server time", "[drain][unit]") {
  const Classification with_date =
      classify_response(http(200, "{}", {{"date", "Tue, 21 Apr 2026 15:30:00 GMT"}}), 1, kNowMs);
  CHECK(with_date.server_date_ms == kNowMs);
  const Classification bad_date =
      classify_response(http(500, "{}", {{"date", "yesterday"}}), 1, kNowMs);
  CHECK_FALSE(bad_date.server_date_ms.has_value());
  const Classification no_date = classify_response(http(500, "{}"), 1, kNowMs);
  CHECK_FALSE(no_date.server_date_ms.has_value());
}

TEST_CASE("HTTP-dates parse in all three RFC 9110 formats and nothing else", "[drain][unit]") {
  struct Row {
    const char* text;
    int64_t ms;  // kNoParse: must not parse
  };
  const Row row = GENERATE(values<Row>({
      {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777000},
      {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777000},
      {"Sun Nov  6 08:49:37 1994", 784111777000},
      {"Sun Nov 06 08:49:37 1994", 784111777000},
      {"sun, 06 nov 1994 08:49:37 gmt", 784111777000},
      {"Sun, 06 Nov 1994 08:49:37 UTC", 784111777000},
      {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
      {"Wed, 31 Dec 1969 23:59:59 GMT", -1000},
      {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600000},
      {"Mon, 01 Jan 2001 00:00:00 GMT", 978307200000},
      {"Saturday, 01-Jan-00 00:00:00 GMT", 946684800000},
      {"Sat, 31 Dec 9999 23:59:59 GMT", 253402300799000},
      {"Tue, 30 Jun 2015 23:59:60 GMT", 1435708800000},
      {"  Sun, 06 Nov 1994 08:49:37 GMT  ", 784111777000},
      {"", kNoParse},
      {"Sun, 06 Nov 1994 08:49:37", kNoParse},
      {"\x01Sun, 06 Nov 1994 08:49:37 GMT", kNoParse},  // control bytes are no blanks
      {"Sun,\x08\x08"
       "06 Nov 1994 08:49:37 GMT",
       kNoParse},
      {"Sun, 06 Nov 1994 08:49:37 +0000", kNoParse},
      {"Sun 06 Nov 1994 08:49:37 GMT", kNoParse},
      {"Foo, 06 Nov 1994 08:49:37 GMT", kNoParse},
      {"Sun, 06 Foo 1994 08:49:37 GMT", kNoParse},
      {"Sun, 31 Nov 1994 08:49:37 GMT", kNoParse},
      {"Thu, 29 Feb 2001 08:49:37 GMT", kNoParse},
      {"Sun, 00 Nov 1994 08:49:37 GMT", kNoParse},
      {"Sun, 06 Nov 94 08:49:37 GMT", kNoParse},
      {"Sun, 06 Nov 1994 24:00:00 GMT", kNoParse},
      {"Sun, 06 Nov 1994 08:60:00 GMT", kNoParse},
      {"Sun, 06 Nov 1994 8:49:37 GMT", kNoParse},
      {"Sun, 06 Nov 1994 08:49:37 GMT extra", kNoParse},
      {"Sunday, 06-Nov-994 08:49:37 GMT", kNoParse},
      {"Sunday, 06Nov94 08:49:37 GMT", kNoParse},
      {"Sun Nov  6 08:49:37", kNoParse},
      {"2026-04-21T15:30:00Z", kNoParse},
      {",", kNoParse},
  }));
  CAPTURE(row.text);
  const auto parsed = parse_http_date_ms(row.text);
  if (row.ms == kNoParse) {
    CHECK_FALSE(parsed.has_value());
  } else {
    REQUIRE(parsed.has_value());
    CHECK(*parsed == row.ms);
  }
}

TEST_CASE("garbage bodies and headers never make the classifier throw", "[drain][unit]") {
  const std::string body =
      GENERATE(std::string(R"({"error":"flat string"})"),
               std::string(R"({"error":{"code":5,"message":[]}})"),
               std::string(R"({"error":{"details":{"path":{"deep":1},"errors":{"a":1}}}})"),
               std::string(R"({"correlationId":42,"data":{"results":[{"index":1e400}]}})"),
               std::string(R"({"data":{"results":[{"index":0,"status":5,"error":"x"}]}})"),
               std::string(R"({"error":{"details":[null,"x",[{"path":"records[0]"}]]}})"),
               std::string(200000, '{'), std::string("\0\0\0", 3));
  const int status = GENERATE(200, 400, 401, 413, 422, 429, 503);
  const size_t records = GENERATE(size_t{0}, size_t{1}, size_t{3});
  platform::Headers headers = {{"retry-after", "Sun, 06 Nov 1994 08:49:37"},
                               {"date", std::string(5000, ',')},
                               {"x-correlation-id", ""}};
  Classification c;
  REQUIRE_NOTHROW(c = classify_response(http(status, body, headers), records, kNowMs));
  for (const auto& r : c.rejected) CHECK(r.index < records);
}

}  // namespace
// The unparsed 2xx path must be invisible: every field equal to what a full parse gives.
void require_same_as_full_parse(const HttpResponse& r, size_t records) {
  const Classification fast = classify_response(r, records, kNowMs);
  const Classification full = classify_response(r, records, kNowMs, /*allow_fast_path=*/false);
  INFO("status " << r.status << " body " << r.body);
  REQUIRE(fast.outcome == full.outcome);
  REQUIRE(fast.http_status == full.http_status);
  REQUIRE(fast.code == full.code);
  REQUIRE(fast.message == full.message);
  REQUIRE(fast.correlation_id == full.correlation_id);
  REQUIRE(fast.retry_after_ms == full.retry_after_ms);
  REQUIRE(fast.server_date_ms == full.server_date_ms);
  REQUIRE(indexes(fast) == indexes(full));
  for (size_t i = 0; i < fast.rejected.size(); ++i) {
    REQUIRE(fast.rejected[i].code == full.rejected[i].code);
    REQUIRE(fast.rejected[i].message == full.rejected[i].message);
  }
}

TEST_CASE("2xx answers decided without a parse classify as a full parse does", "[drain][unit]") {
  const platform::Headers with_cid = {{"x-correlation-id", "hdr-cid"},
                                      {"date", "Tue, 21 Apr 2026 15:30:00 GMT"}};
  const std::vector<std::string> bodies = {
      R"({"success":true,"data":{"results":[{"index":0,"status":"accepted"},{"index":1,"status":"ok"}]},"correlationId":"b"})",
      R"({"success":true,"data":{"results":[{"index":0,"status":"accepted"},{"index":1,"status":"REJECTED","error":{"code":"X","message":"m"}}]}})",
      R"({"data":{"results":[{"index":1,"status":"Failed"}]}})",
      R"({"data":{"results":[{"index":1,"status":"weird","error":null}]}})",
      R"({"data":{"results":[{"index":1,"status":"weird","Error":{"code":"c"}}]}})",
      R"({"data":{"results":[{"index":1,"status":"weird","error":{"code":"c"}}]}})",
      R"({"data":{"results":[{"index":1,"status":"\u0072ejected"}]}})",
      R"({"data":{"results":[{"index":0,"status":"INVALID"}]}})",
      R"({"error":{"code":"odd","message":"a 200 with an error envelope"}})",
      R"({"data":{"jobId":"job_1","status":"queued"}})", "not json at all", "",
      R"({"data":{"results":[{"index":0,"status":"accepted"})",
      // Balanced brackets, no rejecting word, yet no JSON: each is no proof of delivery.
      "{\"success\":true,\"data\":\"\xff\xfe\"}",  // invalid UTF-8 in a string
      R"({"success" true})", R"({,})", R"({"a":[1,,2]})",
      "{\"a\":\"tab\tinside\"}",  // a raw control character in a string
  };
  for (const std::string& body : bodies) {
    for (int status : {200, 202, 204}) {
      require_same_as_full_parse(http(status, body, with_cid), 2);
      require_same_as_full_parse(http(status, body), 2);  // no header: the body's id is read
    }
  }
  // Generated result arrays: statuses from both lists in any case, unknown ones, errors or not.
  std::mt19937 rng(20261129);
  auto pick = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const char* const kStatuses[] = {"accepted", "OK",       "Success",  "created", "updated",
                                   "merged",   "inserted", "rejected", "FAILED",  "failure",
                                   "error",    "invalid",  "queued",   "done",    ""};
  for (int n = 0; n < 2000; ++n) {
    std::string body = R"({"success":true,"data":{"results":[)";
    const int count = pick(6);
    for (int i = 0; i < count; ++i) {
      if (i) body += ",";
      body +=
          R"({"index":)" + std::to_string(pick(8)) + R"(,"status":")" + kStatuses[pick(15)] + "\"";
      if (pick(4) == 0) body += R"(,"error":{"code":"C","message":"M"})";
      body += "}";
    }
    body += R"(]},"correlationId":"body-cid"})";
    require_same_as_full_parse(http(200, body, with_cid), 6);
  }
  // The common answer takes the unparsed path (and so could differ if it were wrong).
  const Classification c = classify_response(
      http(200, R"({"data":{"results":[{"index":0,"status":"accepted"}]}})", with_cid), 1, kNowMs);
  CHECK(c.outcome == Outcome::kDelivered);
  CHECK(c.correlation_id == "hdr-cid");
  CHECK(c.rejected.empty());
}

TEST_CASE("body_cannot_reject reads only the bytes of its view, not the quote after its end",
          "[drain][unit]") {
  // The body is a view: the byte after its end may be anything, a closing quote included. A
  // status word whose closing quote lies past the end is not a quoted word of this body.
  for (const char* word : {"error", "rejected", "failed"}) {
    INFO(word);
    const std::string text = std::string(R"({"s":")") + word + "\"";
    const std::string_view body(text.data(), text.size() - 1);  // ends right before the quote
    CHECK(body_cannot_reject(body));
    CHECK_FALSE(body_cannot_reject(text));  // the whole text does quote it
  }
}

TEST_CASE("a 2xx body with every record accepted is recognised without a parse", "[drain][unit]") {
  // The shape docs/api.md documents (ASSUMED A): counters named acceptedRecords/rejectedRecords.
  const std::string accepted =
      R"({"success":true,"data":{"acceptedRecords":2,"rejectedRecords":0,"results":[)"
      R"({"index":0,"status":"accepted"},{"index":1,"status":"OK"}]},"correlationId":"c"})";
  CHECK(body_cannot_reject(accepted));
  CHECK(body_cannot_reject(R"({"success":true,"data":{"jobId":"job_1","status":"queued"}})"));
  CHECK(body_cannot_reject(""));
  CHECK_FALSE(body_cannot_reject(R"({"data":{"results":[{"index":0,"status":"Rejected"}]}})"));
  CHECK_FALSE(body_cannot_reject(R"({"data":{"results":[{"index":0,"status":"FAILED"}]}})"));
  CHECK_FALSE(body_cannot_reject(R"({"data":{"results":[{"status":"failure"}]}})"));
  CHECK_FALSE(body_cannot_reject(R"({"data":{"results":[{"status":"invalid"}]}})"));
  CHECK_FALSE(body_cannot_reject(R"({"data":{"results":[{"status":"x","error":null}]}})"));
  CHECK_FALSE(body_cannot_reject(R"({"data":{"results":[{"status":"\u0072ejected"}]}})"));
  CHECK_FALSE(body_cannot_reject(R"({"note":"\\"})"));  // any escape: parse
}

TEST_CASE("a closed object is recognised by its brackets, nested or not, and nothing else is",
          "[drain][unit]") {
  // The documented answer, nested objects and arrays with numbers, literals and capitals between.
  CHECK(body_is_closed_object(
      R"({"success":true,"data":{"acceptedRecords":2,"results":[{"index":0,"status":"OK"}]}})"));
  CHECK(body_is_closed_object(" \r\n{\"a\":[1,[2,{\"B\":null}],\"]\"]}\t\n"));
  CHECK(body_is_closed_object(R"({"Z":[[[]]],"y":{"x":{}}})"));
  CHECK(body_is_closed_object("{}"));
  // Not one closed object: truncated, extra text after it, an array, a bracket inside a string
  // that would close it early, more closers than openers, empty.
  CHECK_FALSE(body_is_closed_object(R"({"data":{"results":[{"index":0})"));
  CHECK_FALSE(body_is_closed_object(R"({"a":1}{"b":2})"));
  CHECK_FALSE(body_is_closed_object(R"({"a":1} x)"));
  CHECK_FALSE(body_is_closed_object(R"([{"a":1}])"));
  CHECK_FALSE(body_is_closed_object(R"({"a":"}")"));
  CHECK_FALSE(body_is_closed_object(R"({"a":1}])"));
  CHECK_FALSE(body_is_closed_object(""));
  CHECK_FALSE(body_is_closed_object("   "));
  CHECK_FALSE(body_is_closed_object("<html>{}</html>"));
}

}  // namespace drain
}  // namespace experiture
