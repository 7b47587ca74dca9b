// The SDK's own JSON: a small document type, a parser that reports where and why text is not
// JSON, and a compact writer whose output is the SDK's stored form (object keys sorted bytewise,
// UTF-8 kept, numbers in one canonical form). It replaced nlohmann::json inside the shipped
// library (issue 15: nlohmann's instantiations were about a fifth of the library's bytes); tests
// and tools still use nlohmann, and tests/unit/json checks this writer against it byte for byte.
// Pure computation: no I/O, no shared state; distinct Values may be used from any threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace experiture {
namespace json {

struct Member;

class Value {
 public:
  enum class Type : unsigned char { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;        // null
  Value(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): null, as in JSON
  Value(bool b) : type_(Type::kBool), bool_(b) {}           // NOLINT(google-explicit-constructor)
  Value(const char* s) : type_(Type::kString), text_(s) {}  // NOLINT(google-explicit-constructor)
  Value(std::string s)                                      // NOLINT(google-explicit-constructor)
      : type_(Type::kString), text_(std::move(s)) {}
  Value(std::string_view s)  // NOLINT(google-explicit-constructor)
      : type_(Type::kString), text_(s) {}

  static Value integer(int64_t n);
  static Value unsigned_integer(uint64_t n);
  static Value array();
  static Value object();
  // An object of these members (set() in turn: sorted, a repeated key keeps the last value).
  static Value object(std::initializer_list<Member> members);
  // A number from its canonical text (canonical_number()); the text is not checked.
  static Value number_text(std::string canonical);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // A JSON scalar: not an array or object.
  bool is_primitive() const { return type_ != Type::kArray && type_ != Type::kObject; }

  bool boolean() const { return type_ == Type::kBool && bool_; }
  // A string's value, or a number's canonical text; empty for the other types.
  const std::string& text() const { return text_; }
  std::string& text() { return text_; }
  // A number written as an integer that fits; nullopt otherwise (also for 1.0).
  std::optional<int64_t> to_int64() const;
  std::optional<uint64_t> to_uint64() const;

  // Arrays (empty for the other types).
  const std::vector<Value>& elements() const { return elements_; }
  std::vector<Value>& elements() { return elements_; }
  void push_back(Value v);  // makes a null an array first

  // Objects: members sorted bytewise by key, each key once (empty for the other types).
  const std::vector<Member>& members() const { return members_; }
  std::vector<Member>& members() { return members_; }
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Inserts or replaces `key` (makes a null an object first); returns the stored value.
  Value& set(std::string_view key, Value v);
  // The string value of `key`, or `fallback` when it is absent or not a string.
  std::string string_or(std::string_view key, std::string fallback) const;

  // Elements of an array, members of an object, 0 otherwise.
  size_t size() const;
  bool empty() const { return size() == 0; }

  // Compact JSON text appended to *out: no white space, keys in bytewise order, strings as
  // write_string() writes them. Recursive: the parser bounds the depth of what it builds.
  void dump(std::string* out) const;
  std::string dump() const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<Value> elements_;
  std::vector<Member> members_;
};

struct Member {
  std::string key;
  Value value;
};

// Any integer type as a JSON number (bool is not one: Value(bool) is true/false).
template <typename T>
Value number(T n) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "an integer type");
  if constexpr (std::is_signed_v<T>) {
    return Value::integer(static_cast<int64_t>(n));
  } else {
    return Value::unsigned_integer(static_cast<uint64_t>(n));
  }
}

struct ParseError {
  enum class Kind { kSyntax, kDuplicateKey, kTooDeep, kNumberOutOfRange };
  Kind kind = Kind::kSyntax;
  // Where the parser stopped, 1-based, counting the byte it could not take (the end of the text
  // counts as one more byte): the same figures nlohmann reported, so messages did not change.
  size_t byte = 0;
  size_t line = 0;
  size_t column = 0;
  // What was expected or wrong, never an excerpt of the text (it may be personal data).
  std::string reason;
  // kDuplicateKey: the key that appears twice. kTooDeep: the top-level member being read ("" at
  // the top level itself).
  std::string key;
};

struct ParseOptions {
  // Containers nested deeper than this are kTooDeep (the top-level value is level 1).
  size_t max_depth = 64;
  // A key twice in one object: kDuplicateKey (true), or the last one wins (false).
  bool refuse_duplicate_keys = true;
};

// RFC 8259 JSON text, in full (a leading UTF-8 byte-order mark is skipped, as nlohmann did):
// strings must be valid UTF-8 after their escapes are decoded, a NUL byte is only a syntax error
// where it stands, numbers beyond double's range are kNumberOutOfRange. On false *out is null.
bool parse(std::string_view text, Value* out, ParseError* error = nullptr,
           const ParseOptions& options = ParseOptions());
// parse() into a Value that is thrown away.
bool accept(std::string_view text);

// `s` as a JSON string, quoted: '"', '\\' and the C0 controls escaped (\b \t \n \f \r, else
// \u00xx), everything else kept; bytes that are not valid UTF-8 become U+FFFD.
void write_string(std::string_view s, std::string* out);
std::string quote(std::string_view s);

// The canonical form of a JSON number token (grammar already checked): integers that fit in
// int64 (negative) or uint64 are kept as written ("-0" becomes "0"); any other number is read as
// a double and written back in its shortest round-trip form, as nlohmann wrote doubles
// ("1.0", "0.001", "1e-05", "1.5e+300"). False when it is beyond double's range.
bool canonical_number(std::string_view token, std::string* out);

}  // namespace json
}  // namespace experiture
