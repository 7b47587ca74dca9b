#include "drain/request_builder.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace experiture {
namespace drain {
namespace {

std::string header(const platform::HttpRequest& request, const std::string& name) {
  for (const auto& h : request.headers) {
    if (h.first == name) return h.second;
  }
  return "<absent>";
}

TEST_CASE("the endpoint joins base URL, escaped object and operation", "[drain][unit]") {
  struct Row {
    const char* base;
    const char* object;
    BatchKind kind;
    size_t records;
    const char* url;
  };
  const Row row = GENERATE(values<Row>({
      {"https://api.experiture.ai/public/v1", "profiles", BatchKind::kUpsert, 2,
       "https://api.experiture.ai/public/v1/records/profiles/upsert-batch"},
      {"https://api.experiture.ai/public/v1/", "profiles", BatchKind::kUpsert, 500,
       "https://api.experiture.ai/public/v1/records/profiles/upsert-batch"},
      {"https://api.experiture.ai/public/v1//", "profiles", BatchKind::kUpsert, 1,
       "https://api.experiture.ai/public/v1/records/profiles/upsert"},
      {"http://127.0.0.1:8080", "events", BatchKind::kAppend, 1,
       "http://127.0.0.1:8080/records/events/append-batch"},
      {"http://127.0.0.1:8080/", "events", BatchKind::kAppend, 7,
       "http://127.0.0.1:8080/records/events/append-batch"},
      {"http://h", "a b/c?d#e%", BatchKind::kUpsert, 3,
       "http://h/records/a%20b%2Fc%3Fd%23e%25/upsert-batch"},
      {"http://h", "Obj_1-x.y~z", BatchKind::kUpsert, 1, "http://h/records/Obj_1-x.y~z/upsert"},
      {"http://h", "\xc3\xa9", BatchKind::kAppend, 2, "http://h/records/%C3%A9/append-batch"},
  }));
  CHECK(batch_url(row.base, row.object, row.kind, row.records) == row.url);
}

TEST_CASE("bodies are the record texts joined verbatim in the batch envelope", "[drain][unit]") {
  struct Row {
    BatchKind kind;
    std::vector<std::string> records;
    const char* match_key;
    const char* body;
  };
  const Row row = GENERATE(values<Row>({
      {BatchKind::kUpsert,
       {R"({"email":"a@x.io","n":1})"},
       "email",
       R"({"record":{"email":"a@x.io","n":1},"matchKey":"email"})"},
      {BatchKind::kUpsert,
       {R"({"email":"a@x.io"})", R"({"email":"b@x.io","z":null})"},
       "email",
       R"({"records":[{"email":"a@x.io"},{"email":"b@x.io","z":null}],"matchKey":"email"})"},
      {BatchKind::kAppend, {R"({"e":1})"}, "ignored", R"({"records":[{"e":1}]})"},
      {BatchKind::kAppend,
       {R"({"e":1})", R"({"e":2})", R"({"e":3})"},
       "",
       R"({"records":[{"e":1},{"e":2},{"e":3}]})"},
      {BatchKind::kUpsert,
       {R"({"k\"ey":"v"})", R"({"k\"ey":"w"})"},
       "k\"ey",
       R"({"records":[{"k\"ey":"v"},{"k\"ey":"w"}],"matchKey":"k\"ey"})"},
      // Not re-serialised: key order, spacing and number spelling are kept exactly.
      {BatchKind::kUpsert,
       {R"({"z":1.50, "a":"\u00e9"})"},
       "a",
       R"({"record":{"z":1.50, "a":"\u00e9"},"matchKey":"a"})"},
  }));
  const std::string body = build_body(row.kind, row.records, row.match_key);
  CHECK(body == row.body);
  CHECK(body_size_for(row.kind, row.records, row.match_key) == body.size());
  CHECK(nlohmann::json::accept(body));
  CHECK(build_body(row.kind, row.records, row.match_key) == body);  // byte-stable
}

TEST_CASE("the body size is exact and grows with every record", "[drain][unit]") {
  const BatchKind kind = GENERATE(BatchKind::kUpsert, BatchKind::kAppend);
  std::vector<std::string> records;
  size_t previous = body_size_for(kind, records, "customer_id");
  for (int i = 0; i < 50; ++i) {
    records.push_back(R"({"customer_id":"c)" + std::to_string(i) + R"(","v":)" +
                      std::string(static_cast<size_t>(i), '7') + "}");
    const size_t size = body_size_for(kind, records, "customer_id");
    REQUIRE(size == build_body(kind, records, "customer_id").size());
    REQUIRE(size > previous);
    previous = size;
  }
}

TEST_CASE("the batch caps are the server's stricter reading", "[drain][unit]") {
  CHECK(kMaxBatchRecords == 10000);
  CHECK(kMaxBatchBodyBytes == 10000000);
  // A batch builder's check: 10,000 records of 998 bytes fit, the envelope included.
  CHECK(body_size_for(BatchKind::kUpsert, 10000, 10000 * 998, "email") <= kMaxBatchBodyBytes);
  CHECK(body_size_for(BatchKind::kUpsert, 10000, 10000 * 1000, "email") > kMaxBatchBodyBytes);
  // The overhead bound covers the longest match key, even fully escaped.
  const std::string worst_key(kMaxMatchKeyBytes, '\x01');
  CHECK(body_size_for(BatchKind::kUpsert, 1, 0, worst_key) <= kBodyOverheadBytes);
  CHECK(body_size_for(BatchKind::kUpsert, 2, 0, worst_key) - 1 <= kBodyOverheadBytes);
  CHECK(body_size_for(BatchKind::kAppend, 1, 0, worst_key) <= kBodyOverheadBytes);
}

TEST_CASE("an attempt's request carries the body and the headers, token fresh each time",
          "[drain][unit]") {
  const std::string body = build_body(BatchKind::kUpsert, {R"({"email":"a@x.io"})"}, "email");
  const std::string key = "3b241101-e2bb-4255-8caf-4136c566a962";
  auto first =
      build_request("http://127.0.0.1:1/", "profiles", BatchKind::kUpsert, 1, body, "tok-1", key);
  REQUIRE(first.is_ok());
  CHECK(first->method == "POST");
  CHECK(first->url == "http://127.0.0.1:1/records/profiles/upsert");
  CHECK(first->body == body);
  CHECK(header(first.value(), "Content-Type") == "application/json");
  CHECK(header(first.value(), "Accept") == "application/json");
  CHECK(header(first.value(), "Authorization") == "Bearer tok-1");
  CHECK(header(first.value(), "Idempotency-Key") == key);
  CHECK(header(first.value(), "User-Agent") == user_agent());
  CHECK(user_agent().rfind("experiture-sdk/", 0) == 0);
  CHECK(user_agent().size() > std::string("experiture-sdk/").size());

  auto second = build_request("http://127.0.0.1:1/", "profiles", BatchKind::kUpsert, 1, body,
                              " tok-2\n", key);
  REQUIRE(second.is_ok());
  CHECK(header(second.value(), "Authorization") == "Bearer tok-2");
  CHECK(second->body == first->body);
  CHECK(header(second.value(), "Idempotency-Key") == key);
}

TEST_CASE("tokens and keys that could forge headers are refused", "[drain][unit]") {
  struct Row {
    const char* token;
    const char* key;
    Code code;
  };
  const Row row = GENERATE(values<Row>({
      {"", "k", Code::kUnauthorized},
      {" \n", "k", Code::kUnauthorized},
      {"a\r\nX-Evil: 1", "k", Code::kUnauthorized},
      {"a b", "k", Code::kUnauthorized},
      {"a\x7f", "k", Code::kUnauthorized},
      {"tok", "", Code::kInvalidArgument},
      {"tok", "k\nX: y", Code::kInvalidArgument},
      {"tok", " k", Code::kInvalidArgument},
  }));
  const auto request =
      build_request("http://h", "profiles", BatchKind::kAppend, 1, "{}", row.token, row.key);
  REQUIRE_FALSE(request.is_ok());
  CHECK(request.status().code() == row.code);
  if (*row.token != '\0') {
    CHECK(request.status().message().find(row.token) == std::string::npos);
  }
}

}  // namespace
}  // namespace drain
}  // namespace experiture
