// core/src/json: the SDK's own JSON writes what nlohmann wrote (the stored form did not change
// when nlohmann left the library), and its parser refuses what the record rules need refused.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "json/json.hpp"

using experiture::json::ParseError;
using experiture::json::Value;
namespace ej = experiture::json;

namespace {

nlohmann::json random_doc(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 3 ? 6 : 8)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng());
    case 3: {
      uint64_t bits = rng();
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      if (!std::isfinite(d)) d = 1.5;
      return rng() % 2 ? d : static_cast<double>(static_cast<int32_t>(rng())) / 1000.0;
    }
    case 4:
      return rng();
    case 5: {
      std::string s;
      const char alphabet[] = "ab\"\\\n\t\x01\x1f/\x7f";
      for (size_t i = rng() % 8; i > 0; --i) s.push_back(alphabet[rng() % (sizeof alphabet - 1)]);
      if (rng() % 3 == 0) s += "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
      return s;
    }
    case 6: {
      nlohmann::json a = nlohmann::json::array();
      for (size_t i = rng() % 4; i > 0; --i) a.push_back(random_doc(rng, depth + 1));
      return a;
    }
    default: {
      nlohmann::json o = nlohmann::json::object();
      for (size_t i = rng() % 5; i > 0; --i)
        o["k" + std::to_string(rng() % 9)] = random_doc(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace

TEST_CASE("parse then dump writes what nlohmann's parse then dump writes", "[json][unit]") {
  std::mt19937_64 rng(15);
  for (int i = 0; i < 3000; ++i) {
    const std::string text = random_doc(rng, 0).dump(2);  // indented: white space is read too
    Value v;
    REQUIRE(ej::parse(text, &v));
    CAPTURE(text);
    CHECK(v.dump() == nlohmann::json::parse(text).dump());
  }
}

TEST_CASE("numbers take nlohmann's canonical forms", "[json][unit]") {
  const char* tokens[] = {"0",
                          "-0",
                          "1.0",
                          "1e2",
                          "1E-5",
                          "0.001",
                          "123456789012345678",
                          "-9223372036854775808",
                          "18446744073709551615",
                          "18446744073709551616",
                          "-9223372036854775809",
                          "1.5e300",
                          "2.5e-300",
                          "0.1",
                          "100000000000000000000",
                          "1e15",
                          "1e16",
                          "-0.0",
                          "3.14159"};
  for (const char* token : tokens) {
    std::string out;
    REQUIRE(ej::canonical_number(token, &out));
    CAPTURE(token);
    CHECK(out == nlohmann::json::parse(token).dump());
  }
  std::string out;
  CHECK_FALSE(ej::canonical_number("1e999", &out));
}

TEST_CASE("the parser refuses duplicates, deep nesting and bad text, with a position",
          "[json][unit]") {
  Value v;
  ParseError e;
  CHECK_FALSE(ej::parse(R"({"a":1,"b":2,"a":3})", &v, &e));
  CHECK(e.kind == ParseError::Kind::kDuplicateKey);
  CHECK(e.key == "a");
  CHECK(v.is_null());

  ej::ParseOptions lenient;
  lenient.refuse_duplicate_keys = false;
  REQUIRE(ej::parse(R"({"a":1,"b":2,"a":3})", &v, &e, lenient));
  CHECK(v.dump() == R"({"a":3,"b":2})");

  ej::ParseOptions shallow;
  shallow.max_depth = 3;
  CHECK(ej::parse(R"({"x":[[1]]})", &v, &e, shallow));
  CHECK_FALSE(ej::parse(R"({"x":[[[1]]]})", &v, &e, shallow));
  CHECK(e.kind == ParseError::Kind::kTooDeep);
  CHECK(e.key == "x");

  CHECK_FALSE(ej::parse("{\"a\":\n tru}", &v, &e));
  CHECK(e.kind == ParseError::Kind::kSyntax);
  CHECK(e.line == 2);
  CHECK(e.column == 5);
  CHECK(e.byte == 11);

  CHECK_FALSE(ej::parse("\"\xC3\"", &v, &e));     // not UTF-8
  CHECK_FALSE(ej::parse("\"a\x01\"", &v, &e));    // a raw control character
  CHECK_FALSE(ej::parse(R"("\ud800")", &v, &e));  // a lone surrogate
  CHECK_FALSE(ej::parse("[1,]", &v, &e));
  CHECK_FALSE(ej::parse("01", &v, &e));
  CHECK(ej::parse("\xEF\xBB\xBF{}", &v, &e));  // a byte-order mark is skipped
}

TEST_CASE("objects stay sorted and strings that are not UTF-8 are written as U+FFFD",
          "[json][unit]") {
  Value o = Value::object({{"b", Value::integer(-1)}, {"a", true}, {"c", nullptr}});
  o.set("aa", "x");
  o.set("b", ej::number(7u));
  CHECK(o.dump() == R"({"a":true,"aa":"x","b":7,"c":null})");
  CHECK(o.find("b")->to_int64() == 7);
  CHECK_FALSE(o.find("aa")->to_int64().has_value());
  CHECK(ej::quote("a\xFF"
                  "b\n") ==
        "\"a\xEF\xBF\xBD"
        "b\\n\"");
}
