#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiture/platform/backends.hpp"
#include "experiture/status.hpp"
#include "record/record_validator.hpp"

using experiture::Code;
using experiture::code_name;
using experiture::Result;
using experiture::record::RecordValidator;
using nlohmann::json;

namespace {

// nlohmann documents (the tests' notation) as the SDK's own JSON values, member by member (not
// through text, so strings that are not UTF-8 reach the validator as they are).
experiture::json::Value value_of(const json& doc) {
  using experiture::json::Value;
  switch (doc.type()) {
    case json::value_t::object: {
      Value v = Value::object();
      for (auto it = doc.begin(); it != doc.end(); ++it) v.set(it.key(), value_of(it.value()));
      return v;
    }
    case json::value_t::array: {
      Value v = Value::array();
      for (const auto& e : doc) v.push_back(value_of(e));
      return v;
    }
    case json::value_t::string:
      return Value(doc.get<std::string>());
    case json::value_t::boolean:
      return Value(doc.get<bool>());
    case json::value_t::number_integer:
      return Value::integer(doc.get<int64_t>());
    case json::value_t::number_unsigned:
      return Value::unsigned_integer(doc.get<uint64_t>());
    case json::value_t::number_float:
      return Value::number_text(doc.dump());
    default:
      return Value();
  }
}

Result<std::string> upsert_doc(const RecordValidator& v, std::string_view object, const json& doc,
                               std::string_view match_key) {
  return v.upsert(object, value_of(doc), match_key);
}

Result<std::string> append_doc(const RecordValidator& v, std::string_view object, const json& doc) {
  return v.append(object, value_of(doc));
}

RecordValidator::Rules test_rules() {
  RecordValidator::Rules rules;
  rules.max_record_bytes = 1024;
  rules.default_phone_region = "US";
  rules.identity_keys["orders"] = {"order_id"};
  return rules;
}

// The E.164-only normaliser keeps these tests independent of libphonenumber's metadata.
RecordValidator make_validator(RecordValidator::Rules rules = test_rules()) {
  return RecordValidator(std::move(rules),
                         std::make_shared<experiture::platform::E164OnlyPhoneNormalizer>());
}

std::string invalid_utf8() {
  return std::string("caf\xC3", 4);
}

}  // namespace

TEST_CASE("every invalid upsert gets its own status naming the field", "[record][unit]") {
  std::string object;
  std::string record_text;
  std::string match_key;
  Code expected = Code::kOk;
  std::string field;
  std::tie(object, record_text, match_key, expected, field) =
      // clang-format off
      GENERATE(table<std::string, std::string, std::string, Code, std::string>({
          {"", R"({"email":"a@b.co"})", "email", Code::kInvalidArgument, "object"},
          {"pro files", R"({"email":"a@b.co"})", "email", Code::kInvalidArgument, "object"},
          {std::string(65, 'p'), R"({"email":"a@b.co"})", "email", Code::kInvalidArgument,
           "object"},
          {"profiles", R"([{"email":"a@b.co"}])", "email", Code::kRecordNotObject, "record"},
          {"profiles", R"("a@b.co")", "email", Code::kRecordNotObject, "record"},
          {"profiles", "null", "email", Code::kRecordNotObject, "record"},
          {"profiles", "{}", "email", Code::kRecordEmpty, "record"},
          {"profiles", R"({"customer_id":"c1"})", "email", Code::kMatchKeyMissing, "email"},
          {"profiles", R"({"customer_id":"c1"})", "", Code::kMatchKeyMissing, "match_key"},
          {"profiles", R"({"email":null})", "email", Code::kMatchKeyNull, "email"},
          {"profiles", R"({"customer_id":42})", "customer_id", Code::kMatchKeyNotString,
           "customer_id"},
          {"profiles", R"({"customer_id":""})", "customer_id", Code::kMatchKeyNotString,
           "customer_id"},
          {"profiles", R"({"email":"   "})", "email", Code::kMatchKeyNotString, "email"},
          {"profiles", R"({"customer_id":["c1"]})", "customer_id", Code::kMatchKeyNotString,
           "customer_id"},
          {"profiles", R"({"first_name":"Ann"})", "first_name", Code::kMatchKeyNotIdentity,
           "first_name"},
          {"orders", R"({"email":"a@b.co"})", "email", Code::kMatchKeyNotIdentity, "email"},
          {"profiles", R"({"email":"secret-at-b.co"})", "email", Code::kInvalidEmail, "email"},
          {"profiles", R"({"customer_id":"c1","email":17})", "customer_id", Code::kInvalidEmail,
           "email"},
          {"profiles", R"({"customer_id":"c1","phone":"2125550123"})", "customer_id",
           Code::kInvalidPhone, "phone"},
          {"profiles", R"({"phone":"212 555 0123"})", "phone", Code::kInvalidPhone, "phone"},
          {"profiles", R"({"customer_id":"c1","phone":12125550123})", "customer_id",
           Code::kInvalidPhone, "phone"},
          {"profiles", R"({"customer_id":"c1","seen_at":"2026-04-21T15:30:00"})", "customer_id",
           Code::kTimestampWithoutZone, "seen_at"},
          {"profiles", R"({"customer_id":"c1","seen_at":"yesterday"})", "customer_id",
           Code::kTimestampWithoutZone, "seen_at"},
          {"profiles", R"({"customer_id":"c1","seen_at":1776785400})", "customer_id",
           Code::kTimestampWithoutZone, "seen_at"},
          {"profiles", R"({"customer_id":"c1","bio":")" + std::string(1100, 'x') + "\"}",
           "customer_id", Code::kRecordTooLarge, "1024 bytes"},
      }));
  // clang-format on
  CAPTURE(object, record_text, match_key);
  const RecordValidator validator = make_validator();
  const Result<std::string> result =
      upsert_doc(validator, object, json::parse(record_text), match_key);
  REQUIRE_FALSE(result.is_ok());
  CHECK(std::string(code_name(result.status().code())) == code_name(expected));
  CHECK_THAT(result.status().message(), Catch::Contains(field));
}

TEST_CASE("status messages never contain the values of the record", "[record][unit]") {
  std::string record_text;
  std::string match_key;
  std::string secret;
  // clang-format off
  std::tie(record_text, match_key, secret) = GENERATE(table<std::string, std::string, std::string>({
      {R"({"email":"secret.person@nowhere"})", "email", "secret"},
      {R"({"phone":"555-SECRET"})", "phone", "SECRET"},
      {R"({"customer_id":"c1","birth_at":"1990-01-01T00:00:00"})", "customer_id", "1990"},
      {R"({"first_name":"Secret","customer_id":"c1"})", "first_name", "Secret"},
  }));
  // clang-format on
  const Result<std::string> result =
      upsert_doc(make_validator(), "profiles", json::parse(record_text), match_key);
  REQUIRE_FALSE(result.is_ok());
  CHECK_THAT(result.status().message(), !Catch::Contains(secret));
}

TEST_CASE("an append gets the same checks except those on the match key", "[record][unit]") {
  std::string object;
  std::string record_text;
  Code expected = Code::kOk;
  // clang-format off
  std::tie(object, record_text, expected) = GENERATE(table<std::string, std::string, Code>({
      {"page/views", R"({"url":"/"})", Code::kInvalidArgument},
      {"page_views", R"([1])", Code::kRecordNotObject},
      {"page_views", R"({})", Code::kRecordEmpty},
      {"page_views", R"({"url":"/"})", Code::kOk},
      {"page_views", R"({"email":null,"phone":null,"viewed_at":null})", Code::kOk},
      {"page_views", R"({"email":"x@"})", Code::kInvalidEmail},
      {"page_views", R"({"phone":"n/a"})", Code::kInvalidPhone},
      {"page_views", R"({"viewed_at":"2026-04-21 15:30:00"})", Code::kTimestampWithoutZone},
      {"page_views", R"({"viewed_at":true})", Code::kTimestampWithoutZone},
      {"page_views", R"({"viewed_at":"2026-04-21"})", Code::kOk},
      {"page_views", R"({"viewed_at":"2026-04-21T17:30:00+02:00"})", Code::kOk},
  }));
  // clang-format on
  CAPTURE(object, record_text);
  const Result<std::string> result = append_doc(make_validator(), object, json::parse(record_text));
  CHECK(std::string(code_name(result.is_ok() ? Code::kOk : result.status().code())) ==
        code_name(expected));
}

TEST_CASE("an accepted record comes back normalised and compact", "[record][unit]") {
  const RecordValidator validator = make_validator();
  const Result<std::string> result = upsert_doc(
      validator, "profiles",
      json::parse(R"({"phone":" +12125550123 ","email":"  Ann.Lee@Example.COM ","name":"Ann Lée",
                      "n":{"b":1,"a":[true,null]},"last_seen_at":"2026-04-21T15:30:00.123Z",
                      "consent_at":null})"),
      "email");
  REQUIRE(result.is_ok());
  CHECK(result.value() ==
        R"({"consent_at":null,"email":"ann.lee@example.com","last_seen_at":)"
        R"("2026-04-21T15:30:00.123Z","n":{"a":[true,null],"b":1},"name":"Ann Lée",)"
        R"("phone":"+12125550123"})");
}

TEST_CASE("the match key is checked on the normalised identifier", "[record][unit]") {
  const Result<std::string> result =
      upsert_doc(make_validator(), "profiles", json{{"email", " MiXeD@Case.Org\t"}}, "email");
  REQUIRE(result.is_ok());
  CHECK(json::parse(result.value()).at("email") == "mixed@case.org");
}

TEST_CASE("identity fields are per object, with a default list", "[record][unit]") {
  const RecordValidator validator = make_validator();
  CHECK(upsert_doc(validator, "orders", json{{"order_id", "o-1"}}, "order_id").is_ok());
  CHECK(upsert_doc(validator, "profiles", json{{"device_id", "d-1"}}, "device_id").is_ok());
  const Result<std::string> wrong =
      upsert_doc(validator, "profiles", json{{"order_id", "o-1"}}, "order_id");
  REQUIRE_FALSE(wrong.is_ok());
  CHECK(wrong.status().code() == Code::kMatchKeyNotIdentity);
  CHECK_THAT(wrong.status().message(), Catch::Contains("customer_id"));
}

TEST_CASE("the size cap counts the serialised normalised record and is inclusive",
          "[record][unit]") {
  RecordValidator::Rules rules = test_rules();
  const json base = {{"customer_id", "c1"}, {"bio", ""}};
  rules.max_record_bytes = base.dump().size() + 10;
  const RecordValidator validator = make_validator(rules);
  json at_cap = base;
  at_cap["bio"] = std::string(10, 'x');
  CHECK(upsert_doc(validator, "profiles", at_cap, "customer_id").is_ok());
  json over_cap = base;
  over_cap["bio"] = std::string(11, 'x');
  const Result<std::string> result = upsert_doc(validator, "profiles", over_cap, "customer_id");
  REQUIRE_FALSE(result.is_ok());
  CHECK(result.status().code() == Code::kRecordTooLarge);
  CHECK_THAT(result.status().message(),
             Catch::Contains(std::to_string(rules.max_record_bytes) + " bytes"));
}

TEST_CASE("text that is not valid UTF-8 is rejected naming the field", "[record][unit]") {
  const RecordValidator validator = make_validator();
  json nested = {{"customer_id", "c1"}, {"tags", json::array({"ok", invalid_utf8()})}};
  const Result<std::string> in_value = upsert_doc(validator, "profiles", nested, "customer_id");
  REQUIRE_FALSE(in_value.is_ok());
  CHECK(in_value.status().code() == Code::kInvalidJson);
  CHECK_THAT(in_value.status().message(), Catch::Contains("tags"));

  json bad_key = {{"customer_id", "c1"}, {invalid_utf8(), 1}};
  const Result<std::string> in_key = upsert_doc(validator, "profiles", bad_key, "customer_id");
  REQUIRE_FALSE(in_key.is_ok());
  CHECK(in_key.status().code() == Code::kInvalidJson);
  CHECK_THAT(in_key.status().message(), Catch::Contains("field name"));
}

TEST_CASE("records nested deeper than the cap are rejected before serialising", "[record][unit]") {
  json deep = 1;
  for (size_t i = 0; i < RecordValidator::kMaxDepth; ++i) deep = json::array({deep});
  const Result<std::string> result =
      append_doc(make_validator(), "events", json{{"payload", deep}});
  REQUIRE_FALSE(result.is_ok());
  CHECK(result.status().code() == Code::kRecordTooLarge);
  CHECK_THAT(result.status().message(), Catch::Contains("payload"));

  json at_cap = 1;
  for (size_t i = 0; i + 1 < RecordValidator::kMaxDepth; ++i) at_cap = json::array({at_cap});
  CHECK(append_doc(make_validator(), "events", json{{"payload", at_cap}}).is_ok());
}

TEST_CASE("record text parses, or fails with its position and no excerpt", "[record][unit]") {
  const Result<experiture::json::Value> ok =
      RecordValidator::parse(R"({"email":"a@b.co","n":[1,2]})");
  REQUIRE(ok.is_ok());
  CHECK(ok.value().find("n")->size() == 2);

  std::string text;
  std::string position;
  // clang-format off
  std::tie(text, position) = GENERATE(table<std::string, std::string>({
      {R"({"email":"a@b.co",})", "byte 19"},
      {R"({"email":secret})", "byte 10"},
      {"", "byte 1"},
      {"{\"email\":\"secr\xC3\"}", "byte"},
      {R"({"a":1} trailing)", "byte 9"},  // where the text should have ended
      {R"({"secret":1e999})", "out of range"},
  }));
  // clang-format on
  CAPTURE(text);
  const Result<experiture::json::Value> bad = RecordValidator::parse(text);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == Code::kInvalidJson);
  CHECK_THAT(bad.status().message(), Catch::Contains(position));
  CHECK_THAT(bad.status().message(), !Catch::Contains("secr"));
  CHECK_THAT(bad.status().message(), !Catch::Contains("999"));
  CHECK_THAT(bad.status().message(), !Catch::Contains("trailing"));
}

TEST_CASE("emails are trimmed and lowercased, and invalid ones rejected", "[record][unit]") {
  std::string raw;
  std::string expected;
  // clang-format off
  std::tie(raw, expected) = GENERATE(table<std::string, std::string>({
      {"ann@example.com", "ann@example.com"},
      {"  Ann@Example.COM  ", "ann@example.com"},
      {"\tANN.LEE+news@Mail.Example.co.uk\r\n", "ann.lee+news@mail.example.co.uk"},
      {"o'brien@example.ie", "o'brien@example.ie"},
      {"José@Example.com", "josé@example.com"},
      {"ÄNN@Example.DE", "Änn@example.de"},  // only ASCII letters are lowercased
      {"用户@例子.中国", "用户@例子.中国"},
      {"a@b.co", "a@b.co"},
      {"first_last-99@sub-domain.example.org", "first_last-99@sub-domain.example.org"},
      {"", ""},
      {"   ", ""},
      {"ann", ""},
      {"ann@", ""},
      {"@example.com", ""},
      {"ann@@example.com", ""},
      {"ann@bob@example.com", ""},
      {"ann@localhost", ""},
      {"ann@example.", ""},
      {"ann@.example.com", ""},
      {"ann@example..com", ""},
      {"ann lee@example.com", ""},
      {"ann@exa mple.com", ""},
      {"ann\t@example.com", ""},
      {"ann\x01@example.com", ""},
      {"Ann <ann@example.com>", ""},
      {"ann@example.com,bob@example.com", ""},
      {"ann;@example.com", ""},
      {"\"ann\"@example.com", ""},
      {"ann@exa_mple.com", ""},
      {"ann@[127.0.0.1]", ""},
      {std::string(65, 'a') + "@example.com", ""},
      {std::string(64, 'a') + "@example.com", std::string(64, 'a') + "@example.com"},
      {"ann@" + std::string(250, 'e') + ".com", ""},
      {std::string("caf\xC3@example.com"), ""},
  }));
  // clang-format on
  CAPTURE(raw);
  const std::optional<std::string> normalised = RecordValidator::normalize_email(raw);
  if (expected.empty()) {
    CHECK_FALSE(normalised.has_value());
  } else {
    REQUIRE(normalised.has_value());
    CHECK(*normalised == expected);
  }
}

TEST_CASE("one validator can be used from many threads at once", "[record][unit]") {
  const RecordValidator validator = make_validator();
  std::vector<std::thread> threads;
  std::vector<int> accepted(4, 0);
  for (size_t t = 0; t < accepted.size(); ++t) {
    threads.emplace_back([&validator, &accepted, t] {
      for (int i = 0; i < 500; ++i) {
        const json record = {{"email", " User" + std::to_string(i) + "@Example.com"},
                             {"phone", "+12125550123"},
                             {"seen_at", "2026-04-21T15:30:00Z"}};
        if (upsert_doc(validator, "profiles", record, "email").is_ok()) ++accepted[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int count : accepted) CHECK(count == 500);
}
