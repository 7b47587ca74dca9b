// The accept fast path must be invisible: for every input, upsert_text()/append_text() give the
// same status, message and stored bytes as parse() + upsert()/append() (the DOM path), and for
// clean records the single pass really is taken and writes nlohmann's dump() byte for byte.
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiture/platform/backends.hpp"
#include "record/fast_canonicaliser.hpp"
#include "record/record_validator.hpp"
#include "record/stored_form.hpp"

using experiture::Result;
using experiture::record::FastCanonicaliser;
using experiture::record::RecordValidator;
using experiture::record::StoredForm;
using nlohmann::json;

namespace {

RecordValidator make_validator() {
  RecordValidator::Rules rules;
  rules.max_record_bytes = 2048;
  rules.identity_keys["orders"] = {"order_id"};
  return RecordValidator(std::move(rules),
                         std::make_shared<experiture::platform::E164OnlyPhoneNormalizer>());
}

// Sees nothing: canonicalise() alone, compared with nlohmann's parse + dump.
class NoHook final : public FastCanonicaliser::FieldHook {
 public:
  bool wants(std::string_view) const override { return false; }
  bool on_field(std::string_view, FastCanonicaliser::Kind, std::string_view, bool*,
                std::string*) override {
    return false;
  }
};

// Sees the top-level fields "email" and "n" and lets every value through unchanged.
class EmailHook final : public FastCanonicaliser::FieldHook {
 public:
  bool wants(std::string_view name) const override { return name == "email" || name == "n"; }
  bool on_field(std::string_view, FastCanonicaliser::Kind, std::string_view, bool*,
                std::string*) override {
    return true;
  }
};

// Two pages: the second is made unreadable, and text is placed to end where it begins, so any
// read past the end of the text faults (on any build, not only under ASan).
class GuardedText {
 public:
  GuardedText() : page_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
    void* p = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    base_ = static_cast<char*>(p);
    REQUIRE(mprotect(base_ + page_, page_, PROT_NONE) == 0);
  }
  ~GuardedText() { munmap(base_, 2 * page_); }
  GuardedText(const GuardedText&) = delete;
  GuardedText& operator=(const GuardedText&) = delete;

  // A view of `text` whose last byte is the last readable one.
  std::string_view place(std::string_view text) {
    REQUIRE(text.size() <= page_);
    char* start = base_ + page_ - text.size();
    if (!text.empty()) std::memcpy(start, text.data(), text.size());
    return std::string_view(start, text.size());
  }

 private:
  size_t page_;
  char* base_ = nullptr;
};

// `text` quoted for a failure message, whatever bytes it holds.
std::string printable(const std::string& text) {
  return json(text).dump(-1, ' ', true, json::error_handler_t::replace);
}

std::string dom_dump(const std::string& text) {
  return json::parse(text).dump(-1, ' ', false, json::error_handler_t::strict);
}

// What the DOM path says about `text`.
Result<std::string> dom_path(const RecordValidator& v, const std::string& object,
                             const std::string& text, const std::string* match_key) {
  auto parsed = RecordValidator::parse(text);
  if (!parsed.is_ok()) return parsed.status();
  return match_key ? v.upsert(object, std::move(parsed).value(), *match_key)
                   : v.append(object, std::move(parsed).value());
}

void require_same(const RecordValidator& v, const std::string& object, const std::string& text,
                  const std::string* match_key) {
  const Result<std::string> dom = dom_path(v, object, text, match_key);
  const Result<std::string> fast =
      match_key ? v.upsert_text(object, text, *match_key) : v.append_text(object, text);
  INFO("text: " << printable(text) << " match_key: " << (match_key ? *match_key : "(append)"));
  REQUIRE(fast.status().code() == dom.status().code());
  REQUIRE(fast.status().message() == dom.status().message());
  if (dom.is_ok()) REQUIRE(fast.value() == dom.value());
}

// Random JSON text in the shapes apps send, and in shapes they should not.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  // A record whose top level has distinct field names without escapes; nested objects too.
  std::string record(bool clean) {
    clean_ = clean;
    std::string out = ws() + "{";
    const int fields = pick(0, 9);
    std::vector<std::string> used;
    for (int i = 0; i < fields; ++i) {
      std::string key = top_key();
      if (clean && std::find(used.begin(), used.end(), key) != used.end()) continue;
      used.push_back(key);
      if (!used.empty() && used.size() > 1) out += ",";
      out += ws() + "\"" + key + "\"" + ws() + ":" + ws() + value(2, key) + ws();
    }
    out += "}" + ws();
    return out;
  }

  // Flips, inserts or deletes a few bytes.
  std::string mutate(std::string text) {
    const int edits = pick(1, 3);
    for (int i = 0; i < edits && !text.empty(); ++i) {
      const size_t at = static_cast<size_t>(pick(0, static_cast<int>(text.size()) - 1));
      static const char kBytes[] = "\"\\{}[],:0-9eE.+ tnuxa\x01\x7f\xc3\xa9\xed\xa0\x80\xff";
      const char b = kBytes[pick(0, sizeof kBytes - 2)];
      switch (pick(0, 2)) {
        case 0:
          text[at] = b;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), b);
          break;
        default:
          text.erase(at, 1);
      }
    }
    return text;
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  std::string ws() {
    static const char* const kWs[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
    return kWs[pick(0, 6)];
  }

  std::string top_key() {
    static const char* const kKeys[] = {"email",
                                        "phone",
                                        "customer_id",
                                        "first_name",
                                        "signup_at",
                                        "birthday_at",
                                        "tier",
                                        "device_id",
                                        "order_id",
                                        "a",
                                        "B",
                                        "\xc3\xa9t\xc3\xa9",
                                        "zz_top",
                                        "tags",
                                        "",
                                        "_at",
                                        "email2",
                                        "last_seen_at",
                                        "Z",
                                        "nested_object"};
    std::string key = kKeys[pick(0, 19)];
    if (!clean_ && pick(0, 20) == 0) key = "esc\\u0061ped";
    return key;
  }

  std::string value(int level, const std::string& key) {
    if (key == "email" && pick(0, 3) > 0) {
      static const char* const kEmails[] = {"\" User.One@Example.COM \"",
                                            "\"a@b.co\"",
                                            "\"no-at-sign\"",
                                            "\"a@b@c.d\"",
                                            "\"x@localhost\"",
                                            "null",
                                            "\"caf\xc3\xa9@exemple.fr\"",
                                            "\"q\\u0040r.st\"",
                                            "\"\\t tab@x.io\"",
                                            "\"   \""};
      return kEmails[pick(0, 9)];
    }
    if (key == "phone" && pick(0, 3) > 0) {
      static const char* const kPhones[] = {
          "\"+14155550123\"", "\"+44 20 7946 0958\"", "\"555\"", "null", "\"+1415555012x\"", "12"};
      return kPhones[pick(0, 5)];
    }
    if (key.size() >= 3 && key.compare(key.size() - 3, 3, "_at") == 0 && pick(0, 3) > 0) {
      static const char* const kTimes[] = {"\"2026-04-21T15:30:00Z\"",
                                           "\"2026-04-21T17:30:00.250+02:00\"",
                                           "\"2026-04-21\"",
                                           "\"2026-04-21T15:30:00\"",
                                           "null",
                                           "1713713400",
                                           "\"2026-04-21T15:30:00\\u005a\""};
      return kTimes[pick(0, 6)];
    }
    const int kind = level > 34 ? pick(0, 5) : pick(0, 8);
    switch (kind) {
      case 0:
      case 1:
        return string_value();
      case 2:
        return number();
      case 3:
        return pick(0, 1) ? "true" : "false";
      case 4:
        return "null";
      case 5:
        return string_value();
      case 6:
      case 7: {
        std::string out = "[" + ws();
        const int n = pick(0, 3);
        for (int i = 0; i < n; ++i) out += (i ? "," : "") + ws() + value(level + 1, "") + ws();
        return out + "]";
      }
      default: {
        std::string out = "{" + ws();
        const int n = pick(0, 4);
        std::vector<std::string> used;
        for (int i = 0; i < n; ++i) {
          std::string k = nested_key();
          if (clean_ && std::find(used.begin(), used.end(), k) != used.end()) continue;
          out += std::string(used.empty() ? "" : ",") + "\"" + k + "\":" + value(level + 1, "");
          used.push_back(k);
        }
        return out + ws() + "}";
      }
    }
  }

  std::string nested_key() {
    static const char* const kKeys[] = {"b", "a", "c", "aa", "A", "\xe2\x82\xac", "email", "1", ""};
    return kKeys[pick(0, 8)];
  }

  std::string string_value() {
    static const char* const kParts[] = {"plain",
                                         " ",
                                         "\\\"",
                                         "\\\\",
                                         "\\/",
                                         "\\b",
                                         "\\f",
                                         "\\n",
                                         "\\r",
                                         "\\t",
                                         "\\u0000",
                                         "\\u001f",
                                         "\\u007F",
                                         "\\u00e9",
                                         "\\u20AC",
                                         "\\ud83d\\ude00",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\x7f",
                                         "'",
                                         "<tag>",
                                         "\\uD800x",
                                         "\\uDC00",
                                         "\\x",
                                         "\xc3",
                                         "\xed\xa0\x80"};
    const int bad_from = clean_ ? 22 : 27;  // the last five are invalid JSON or UTF-8
    std::string out = "\"";
    const int parts = pick(0, 4);
    for (int i = 0; i < parts; ++i) out += kParts[pick(0, bad_from - 1)];
    return out + "\"";
  }

  std::string number() {
    static const char* const kNumbers[] = {"0",
                                           "-0",
                                           "7",
                                           "-42",
                                           "1.5",
                                           "-0.0",
                                           "1e2",
                                           "1E+2",
                                           "2.50e-3",
                                           "9223372036854775807",
                                           "-9223372036854775808",
                                           "-9223372036854775809",
                                           "18446744073709551615",
                                           "18446744073709551616",
                                           "123456789012345678901234567890",
                                           "0.1",
                                           "1e308",
                                           "1e400",
                                           "-1e-400",
                                           "3.141592653589793238"};
    return kNumbers[pick(0, 19)];
  }

  std::mt19937 rng_;
  bool clean_ = true;
};

}  // namespace

TEST_CASE("the single pass writes what nlohmann's parse + dump writes", "[record][unit]") {
  const std::vector<std::string> cases = {
      R"({"b":1,"a":2})",
      R"({ "z" : [ 1 , { "y" : null , "x" : true } ] , "a" : "s" })",
      R"({"s":"\u00e9\u20ac\ud83d\ude00 \" \\ \/ \b\f\n\r\t \u0000 \u001F \u007f"})",
      R"({"n":[0,-0,-0.0,1.5,1e2,1E-2,18446744073709551615,18446744073709551616,-9223372036854775809]})",
      R"({"deep":[[[[{"b":[{"d":1,"c":2}],"a":{}}]]]]})",
      "{\"\xc3\xa9\":1,\"e\":2,\"\xe2\x82\xac\":3,\"E\":4}",
      "\n\t{\"a\":\"caf\xc3\xa9\"}\r\n",
  };
  for (const std::string& text : cases) {
    INFO(text);
    NoHook hook;
    std::string out;
    REQUIRE(FastCanonicaliser::canonicalise(text, 32, hook, &out));
    REQUIRE(out == dom_dump(text));
  }
}

TEST_CASE("the single pass gives up on what it cannot be sure of", "[record][unit]") {
  const std::vector<std::string> cases = {
      "",
      "[]",
      "{}",
      " { } ",
      R"({"a":1,"a":2})",        // duplicates: the DOM keeps the last one
      R"({"b":{"x":1,"x":2}})",  // nested duplicates too
      R"({"\u0061":1})",         // escaped field names
      "\xEF\xBB\xBF{\"a\":1}",   // a byte-order mark
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":+1})",
      R"({"a":1e})",
      R"({"a":1e400})",
      R"({"a":tru})",
      R"({"a":nulll})",
      R"({"a":"\x"})",
      R"({"a":"\uD800"})",
      R"({"a":"\uDC00\uD800"})",
      R"({"a":"\u12"})",
      "{\"a\":\"\x01\"}",
      "{\"a\":\"caf\xc3\"}",
      "{\"caf\xc3\":1}",
      "{\"a\":\"\\u00e9\xc3\"}",
      R"({"a":1,})",
      R"({"a":[1,]})",
      R"({"a":1} x)",
      R"({"a":1}{)",
      R"({"a" 1})",
      R"({"a":"unterminated)",
      "{\"a\":\"\\",
  };
  for (const std::string& text : cases) {
    INFO(printable(text));
    NoHook hook;
    std::string out;
    REQUIRE_FALSE(FastCanonicaliser::canonicalise(text, 32, hook, &out));
  }
  // Containers nested past max_depth (the record object is level 1).
  NoHook hook;
  std::string out;
  REQUIRE(FastCanonicaliser::canonicalise(R"({"a":[[1]]})", 3, hook, &out));
  REQUIRE_FALSE(FastCanonicaliser::canonicalise(R"({"a":[[[1]]]})", 3, hook, &out));
  REQUIRE_FALSE(FastCanonicaliser::canonicalise(R"({"a":{"b":{"c":{}}}})", 3, hook, &out));
}

TEST_CASE("upsert_text and append_text agree with the DOM path on every input", "[record][unit]") {
  const RecordValidator v = make_validator();
  const std::string email = "email";
  const std::string customer = "customer_id";
  const std::string order = "order_id";
  const std::string tier = "tier";
  const std::string none;
  std::vector<std::string> fixed = {
      R"({"email":" A.B@Example.COM ","first_name":"Ann"})",
      R"({"email":"   ","customer_id":"c1"})",
      R"({"email":null,"customer_id":"c1"})",
      R"({"email":"x@y","customer_id":"c1"})",
      R"({"email":7})",
      R"({"phone":"+1 415 555 0123","customer_id":" "})",
      R"({"phone":"555","customer_id":"c"})",
      R"({"signup_at":"2026-04-21T15:30:00","customer_id":"c"})",
      R"({"signup_at":1,"customer_id":"c"})",
      R"({"customer_id":null})",
      R"({"customer_id":5})",
      R"({"order_id":"o-1"})",
      R"({"big":")" + std::string(4000, 'x') + R"(","customer_id":"c"})",
      "[1]",
      "{}",
      "not json",
  };
  // Nesting around kMaxDepth (the record object is level 1), in arrays and in objects.
  for (size_t levels = RecordValidator::kMaxDepth - 2; levels <= RecordValidator::kMaxDepth + 1;
       ++levels) {
    std::string arrays = R"({"customer_id":"c","a":)";
    std::string objects = arrays;
    for (size_t l = 1; l < levels; ++l) {
      arrays += "[";
      objects += R"({"k":)";
    }
    arrays += "1";
    objects += "1";
    for (size_t l = 1; l < levels; ++l) {
      arrays += "]";
      objects += "}";
    }
    fixed.push_back(arrays + "}");
    fixed.push_back(objects + "}");
  }
  for (const std::string& text : fixed) {
    require_same(v, "profiles", text, &email);
    require_same(v, "profiles", text, &customer);
    require_same(v, "profiles", text, &tier);
    require_same(v, "profiles", text, &none);
    require_same(v, "orders", text, &order);
    require_same(v, "bad object!", text, &email);
    require_same(v, "events", text, nullptr);
  }

  Generator gen(20261129);
  const std::vector<const std::string*> keys = {&email, &customer, &order, &tier, nullptr};
  size_t fast_taken = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = gen.record(true);
    if (i % 2 == 1) text = gen.mutate(std::move(text));
    const std::string* key = keys[static_cast<size_t>(gen.pick(0, 4))];
    require_same(v, key == &order ? "orders" : "profiles", text, key);
    if (i % 2 == 0) {
      NoHook hook;
      std::string out;
      const bool took =
          FastCanonicaliser::canonicalise(text, RecordValidator::kMaxDepth, hook, &out);
      const bool dom_ok =
          json::accept(text) && json::parse(text).is_object() && !json::parse(text).empty();
      if (dom_ok && took) REQUIRE(out == dom_dump(text));
      if (took) ++fast_taken;
    }
  }
  // Unmutated records are valid JSON objects without duplicates or escaped names, so nearly all
  // take the single pass (the exceptions: {} and numbers beyond double's range).
  CHECK(fast_taken > 8000);
}

TEST_CASE("unclean records (duplicates, escaped names) still agree with the DOM path",
          "[record][unit]") {
  const RecordValidator v = make_validator();
  const std::string email = "email";
  Generator gen(7);
  for (int i = 0; i < 5000; ++i) {
    std::string text = gen.record(false);
    if (i % 3 == 2) text = gen.mutate(std::move(text));
    require_same(v, "profiles", text, i % 2 ? &email : nullptr);
  }
}

TEST_CASE("top_level_string reads a field of a stored form as a parser would", "[record][unit]") {
  using Lookup = StoredForm::Lookup;
  Generator gen(42);
  const std::vector<std::string> names = {"email",         "customer_id",      "tier", "a", "",
                                          "nested_object", "\xc3\xa9t\xc3\xa9"};
  size_t strings = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string text = gen.record(true);
    if (!json::accept(text)) continue;
    const json dom = json::parse(text);
    if (!dom.is_object()) continue;
    // Both the text as sent and its canonical (stored) form.
    for (const std::string& form : {text, dom.dump()}) {
      for (const std::string& name : names) {
        INFO(printable(form) << " name " << name);
        std::string value = "stale";
        const Lookup found = StoredForm::top_level_string(form, name, &value);
        const auto it = dom.find(name);
        if (it != dom.end() && it->is_string()) {
          REQUIRE(found == Lookup::kString);
          REQUIRE(value == it->get<std::string>());
          ++strings;
        } else {
          REQUIRE(found == Lookup::kNotString);
        }
      }
    }
  }
  CHECK(strings > 3000);
  std::string value;
  for (const char* bad : {"", "[]", "{", "{\"a\"", "{\"a\":", "{\"a\":[1,", "{\"a\":1 \"b\":2}",
                          "{\"a\":\"unterminated"}) {
    INFO(bad);
    REQUIRE(StoredForm::top_level_string(bad, "b", &value) == Lookup::kUnreadable);
  }
  REQUIRE(StoredForm::top_level_string("{}", "b", &value) == Lookup::kNotString);
  REQUIRE(StoredForm::top_level_string(R"({"b":{"x":"y"}})", "b", &value) == Lookup::kNotString);
  REQUIRE(StoredForm::top_level_string(R"({"a":{"b":"no"},"b":"yes"})", "b", &value) ==
          Lookup::kString);
  REQUIRE(value == "yes");
  REQUIRE(StoredForm::top_level_string(R"({"\u0062":"esc\"aped"})", "b", &value) ==
          Lookup::kString);
  REQUIRE(value == "esc\"aped");
}

TEST_CASE("input that ends right after any token is refused without reading past its end",
          "[record][unit]") {
  // Every proper prefix of these records ends inside the object, right after a token or in the
  // middle of one; each is placed against an unreadable page, so a check of the end that lets
  // the parser look one byte further crashes the test instead of reading what follows.
  const std::vector<std::string> records = {
      R"({"a":-12.50e+3,"b":[true,false,null,0,-0,7],"c":{"d":"x\u00e9y","e":[]},"f":{}})",
      R"({"n":-1,"email":"a@b.co","z":[1E5,"s",{"k":null}]})",
      R"({"email":null,"n":{"x":1}})",
      "{ \"a\" : [ 1 , 2 ] , \"b\" : \"caf\xc3\xa9\" }",
  };
  GuardedText guarded;
  NoHook no_hook;
  EmailHook email_hook;
  std::string out;
  CHECK_FALSE(FastCanonicaliser::canonicalise(guarded.place(""), 32, no_hook, &out));
  for (const std::string& record : records) {
    for (FastCanonicaliser::FieldHook* hook :
         std::vector<FastCanonicaliser::FieldHook*>{&no_hook, &email_hook}) {
      for (size_t length = 0; length < record.size(); ++length) {
        INFO(printable(record.substr(0, length)));
        CHECK_FALSE(FastCanonicaliser::canonicalise(guarded.place(record.substr(0, length)), 32,
                                                    *hook, &out));
      }
      INFO(printable(record));
      REQUIRE(FastCanonicaliser::canonicalise(guarded.place(record), 32, *hook, &out));
      CHECK(out == dom_dump(record));
    }
  }
}
