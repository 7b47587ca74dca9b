// The two normalisation paths, fuzzed on records dense in the fields that have rules (email,
// phone, `*_at`, the match key): the single pass with its field hook (upsert_text/append_text)
// and the DOM path's normalise_fields (parse, then upsert/append) give the same stored form,
// or the same status and message.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiture/platform/backends.hpp"
#include "record/record_validator.hpp"

using experiture::Result;
using experiture::record::RecordValidator;
using nlohmann::json;

namespace {

class FieldFuzzer {
 public:
  explicit FieldFuzzer(uint32_t seed) : rng_(seed) {}

  std::string record() {
    static const char* const kKeys[] = {"email", "phone",       "signup_at", "x_at", "_at",
                                        "tier",  "customer_id", "email_at",  "Email"};
    std::string out = "{";
    std::vector<std::string> used;
    const int fields = pick(1, 6);
    for (int i = 0; i < fields; ++i) {
      const std::string key = kKeys[pick(0, 8)];
      if (std::find(used.begin(), used.end(), key) != used.end()) continue;
      out += std::string(used.empty() ? "" : ",") + "\"" + key + "\":" + value(key);
      used.push_back(key);
    }
    return out + "}";
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  std::string value(const std::string& key) {
    switch (pick(0, 5)) {
      case 0:
        return "null";
      case 1:
        return pick(0, 1) ? "17" : "[\"a@b.co\"]";
      default:
        break;
    }
    if (key == "email" || key == "Email" || key == "customer_id") return quoted(email_text());
    if (key == "phone") return quoted(phone_text());
    return quoted(pick(0, 1) ? time_text() : email_text());
  }

  std::string email_text() {
    static const char* const kParts[] = {"a",   "B",       "@", ".",       "co",  " ",
                                         "\\t", "\\u0040", "-", "é",       "x.y", "..",
                                         ",",   "\\\"",    "0", "EXAMPLE", "\\n"};
    std::string out;
    const int n = pick(0, 8);
    for (int i = 0; i < n; ++i) out += kParts[pick(0, 16)];
    return out;
  }

  std::string phone_text() {
    static const char* const kParts[] = {"+", "1", "4", "5", "0",      " ",
                                         "-", "(", ")", "x", "\\u002b"};
    std::string out;
    const int n = pick(0, 14);
    for (int i = 0; i < n; ++i) out += kParts[pick(0, 10)];
    return out;
  }

  std::string time_text() {
    static const char* const kTimes[] = {"2026-04-21T15:30:00Z", "2026-04-21T17:30:00.250+02:00",
                                         "2026-04-21",           "2026-04-21T15:30:00",
                                         "2026-02-30",           "2026-04-21T15:30:00\\u005a",
                                         "2026-04-21t15:30:00z", " 2026-04-21T15:30:00Z",
                                         "2024-02-29T23:59:60Z", "2026-04-21T15:30:00+2400"};
    return kTimes[pick(0, 9)];
  }

  static std::string quoted(const std::string& text) { return "\"" + text + "\""; }

  std::mt19937 rng_;
};

Result<std::string> dom_path(const RecordValidator& v, const std::string& text,
                             const std::string* match_key) {
  auto parsed = RecordValidator::parse(text);
  if (!parsed.is_ok()) return parsed.status();
  return match_key ? v.upsert("profiles", std::move(parsed).value(), *match_key)
                   : v.append("events", std::move(parsed).value());
}

}  // namespace

TEST_CASE("the field hook of the single pass and normalise_fields agree on fuzzed records",
          "[record][unit]") {
  RecordValidator::Rules rules;
  rules.default_identity_keys = {"email", "customer_id", "phone"};
  const RecordValidator v(std::move(rules),
                          std::make_shared<experiture::platform::E164OnlyPhoneNormalizer>());
  const std::string email = "email";
  const std::string customer = "customer_id";
  const std::string phone = "phone";
  const std::vector<const std::string*> keys = {&email, &customer, &phone, nullptr};
  FieldFuzzer fuzz(20261202);
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = fuzz.record();
    const std::string* key = keys[static_cast<size_t>(fuzz.pick(0, 3))];
    const Result<std::string> dom = dom_path(v, text, key);
    const Result<std::string> fast =
        key ? v.upsert_text("profiles", text, *key) : v.append_text("events", text);
    INFO("text: " << text << " match_key: " << (key ? *key : "(append)"));
    REQUIRE(fast.status().code() == dom.status().code());
    REQUIRE(fast.status().message() == dom.status().message());
    if (dom.is_ok()) {
      REQUIRE(fast.value() == dom.value());
      ++accepted;
    }
  }
  // Both outcomes are well represented: the rules accept and refuse.
  CHECK(accepted > 1000);
  CHECK(accepted < 18000);
}
