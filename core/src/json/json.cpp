#include "json/json.hpp"

#include <algorithm>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "record/json_text.hpp"
#include "record/utf8.hpp"

namespace experiture {
namespace json {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// strtod() with the '.' of JSON text read in any C locale (the app may have set one).
double read_double(std::string_view token) {
  std::string copy(token);
  const lconv* conv = std::localeconv();
  const char point = conv != nullptr && conv->decimal_point != nullptr && *conv->decimal_point
                         ? *conv->decimal_point
                         : '.';
  if (point != '.') std::replace(copy.begin(), copy.end(), '.', point);
  return std::strtod(copy.c_str(), nullptr);
}

// `d` (finite, > 0) in the fewest significant digits that read back as `d`: *digits holds them
// ("15"), and the value is 0.digits x 10^point_at, that is the decimal point sits `point_at`
// digits after the first (1.5 -> "15", 1; 0.001 -> "1", -2).
void shortest_digits(double d, std::string* digits, int* point_at) {
  char buf[40];
  for (int precision = 0; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision, d);
    if (std::strtod(buf, nullptr) == d) break;  // both in the current locale
  }
  // buf: "d[<point>ddd]e[+-]XX"; the decimal point may be any locale's.
  const char* e = std::strchr(buf, 'e');
  digits->clear();
  for (const char* p = buf; p < e; ++p) {
    if (is_digit(*p)) digits->push_back(*p);
  }
  *point_at = std::atoi(e + 1) + 1;
}

// nlohmann's format_buffer(): plain decimal notation while the exponent is within [-4, 15),
// else d.ddde+XX (at least two exponent digits).
void write_double(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  if (d == 0) {
    out->append(std::signbit(d) ? "-0.0" : "0.0");
    return;
  }
  if (d < 0) {
    out->push_back('-');
    d = -d;
  }
  std::string digits;
  int n = 0;
  shortest_digits(d, &digits, &n);
  const int k = static_cast<int>(digits.size());
  constexpr int kMinExp = -4;
  constexpr int kMaxExp = 15;
  if (k <= n && n <= kMaxExp) {
    out->append(digits);
    out->append(static_cast<size_t>(n - k), '0');
    out->append(".0");
  } else if (0 < n && n <= kMaxExp) {
    out->append(digits, 0, static_cast<size_t>(n));
    out->push_back('.');
    out->append(digits, static_cast<size_t>(n), std::string::npos);
  } else if (kMinExp < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(digits);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits, 1, std::string::npos);
    }
    const int exponent = n - 1;
    out->push_back('e');
    out->push_back(exponent < 0 ? '-' : '+');
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out->push_back('0');
    out->append(std::to_string(magnitude));
  }
}

// The length of the valid UTF-8 sequence at s[i], or 0 when none starts there.
size_t utf8_sequence_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  return record::is_valid_utf8(s.substr(i, n)) ? n : 0;
}

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options, ParseError* error)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        options_(options),
        error_(error) {}

  bool run(Value* out) {
    if (end_ - p_ >= 3 && static_cast<unsigned char>(p_[0]) == 0xEF &&
        static_cast<unsigned char>(p_[1]) == 0xBB && static_cast<unsigned char>(p_[2]) == 0xBF) {
      p_ += 3;
    }
    skip_ws();
    if (!parse_value(out, 1)) return false;
    skip_ws();
    if (p_ != end_) return fail(p_, "syntax error: expected the end of the text");
    return true;
  }

 private:
  void skip_ws() { p_ = record::skip_json_ws(p_, end_); }

  bool fail(const char* at, const char* reason, ParseError::Kind kind = ParseError::Kind::kSyntax) {
    if (error_ == nullptr) return false;
    error_->kind = kind;
    error_->byte = static_cast<size_t>(at - begin_) + 1;
    error_->line = 1;
    const char* line_start = begin_;
    for (const char* q = begin_; q < at; ++q) {
      if (*q == '\n') {
        ++error_->line;
        line_start = q + 1;
      }
    }
    error_->column = static_cast<size_t>(at - line_start) + 1;
    error_->reason = reason;
    if (kind == ParseError::Kind::kTooDeep) error_->key = top_key_;
    return false;
  }

  bool parse_value(Value* out, size_t level) {
    if (p_ == end_) return fail(p_, "syntax error: unexpected end of text, expected a value");
    switch (*p_) {
      case '{':
        return parse_object(out, level);
      case '[':
        return parse_array(out, level);
      case '"': {
        std::string s;
        if (!parse_string(&s)) return false;
        *out = Value(std::move(s));
        return true;
      }
      case 't':
        return literal("true", Value(true), out);
      case 'f':
        return literal("false", Value(false), out);
      case 'n':
        return literal("null", Value(), out);
      default:
        if (*p_ == '-' || is_digit(*p_)) return parse_number(out);
        return fail(p_, "syntax error: expected a value");
    }
  }

  bool literal(std::string_view word, Value value, Value* out) {
    for (char c : word) {
      if (p_ == end_ || *p_ != c) return fail(p_, "syntax error: invalid literal");
      ++p_;
    }
    *out = std::move(value);
    return true;
  }

  bool parse_number(Value* out) {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_ || !is_digit(*p_)) return fail(p_, "syntax error: invalid number");
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) return fail(p_, "syntax error: invalid number");
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !is_digit(*p_)) return fail(p_, "syntax error: invalid number");
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    std::string canonical;
    if (!canonical_number(std::string_view(start, static_cast<size_t>(p_ - start)), &canonical)) {
      return fail(start, "a number is out of range", ParseError::Kind::kNumberOutOfRange);
    }
    *out = Value::number_text(std::move(canonical));
    return true;
  }

  // At '"': the decoded string into *out.
  bool parse_string(std::string* out) {
    ++p_;
    const char* start = p_;
    bool escaped = false;
    while (p_ < end_ && *p_ != '"') {
      const auto c = static_cast<unsigned char>(*p_);
      if (c < 0x20) return fail(p_, "syntax error: a control character must be escaped");
      if (c == '\\') {
        escaped = true;
        if (end_ - p_ < 2) break;
        ++p_;
      }
      ++p_;
    }
    if (p_ >= end_) return fail(end_, "syntax error: unterminated string");
    const std::string_view raw(start, static_cast<size_t>(p_ - start));
    if (escaped) {
      if (!record::decode_escapes(raw, out)) {
        return fail(start, "syntax error: invalid escape sequence in a string");
      }
    } else {
      out->assign(raw);
    }
    if (!record::is_valid_utf8(*out)) return fail(start, "invalid string: ill-formed UTF-8");
    ++p_;
    return true;
  }

  bool parse_array(Value* out, size_t level) {
    if (level > options_.max_depth) return fail(p_, "nested too deep", ParseError::Kind::kTooDeep);
    ++p_;
    *out = Value::array();
    skip_ws();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_ws();
      out->elements().emplace_back();
      if (!parse_value(&out->elements().back(), level + 1)) return false;
      skip_ws();
      if (p_ == end_) return fail(p_, "syntax error: unexpected end of text, expected ',' or ']'");
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return fail(p_, "syntax error: expected ',' or ']'");
      ++p_;
    }
  }

  bool parse_object(Value* out, size_t level) {
    if (level > options_.max_depth) return fail(p_, "nested too deep", ParseError::Kind::kTooDeep);
    ++p_;
    *out = Value::object();
    skip_ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    std::vector<Member>& members = out->members();
    bool sorted = true;  // members arrive in order (a stored form): no sort needed
    for (;;) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') return fail(p_, "syntax error: expected a string as a key");
      Member member;
      if (!parse_string(&member.key)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return fail(p_, "syntax error: expected ':'");
      ++p_;
      skip_ws();
      if (level == 1) top_key_ = member.key;
      if (!parse_value(&member.value, level + 1)) return false;
      if (!members.empty() && !(members.back().key < member.key)) sorted = false;
      members.push_back(std::move(member));
      skip_ws();
      if (p_ == end_) return fail(p_, "syntax error: unexpected end of text, expected ',' or '}'");
      if (*p_ == '}') {
        ++p_;
        break;
      }
      if (*p_ != ',') return fail(p_, "syntax error: expected ',' or '}'");
      ++p_;
    }
    if (level == 1) top_key_.clear();
    if (!sorted) return sort_members(members);
    return true;
  }

  // Bytewise order; a key twice is refused or, if allowed, the last one kept.
  bool sort_members(std::vector<Member>& members) {
    std::stable_sort(members.begin(), members.end(),
                     [](const Member& a, const Member& b) { return a.key < b.key; });
    size_t kept = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      if (kept > 0 && members[kept - 1].key == members[i].key) {
        if (options_.refuse_duplicate_keys) {
          if (error_ != nullptr) {
            error_->kind = ParseError::Kind::kDuplicateKey;
            error_->key = members[i].key;
            error_->reason = "a key appears twice in one object";
            error_->byte = static_cast<size_t>(p_ - begin_);
            error_->line = 0;
            error_->column = 0;
          }
          return false;
        }
        members[kept - 1].value = std::move(members[i].value);  // stable: the later one
        continue;
      }
      if (kept != i) members[kept] = std::move(members[i]);
      ++kept;
    }
    members.resize(kept);
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const ParseOptions& options_;
  ParseError* error_;
  std::string top_key_;
};

}  // namespace

Value Value::integer(int64_t n) {
  return number_text(std::to_string(n));
}

Value Value::unsigned_integer(uint64_t n) {
  return number_text(std::to_string(n));
}

Value Value::array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}

Value Value::object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

Value Value::object(std::initializer_list<Member> members) {
  Value v = object();
  for (const Member& m : members) v.set(m.key, m.value);
  return v;
}

Value Value::number_text(std::string canonical) {
  Value v;
  v.type_ = Type::kNumber;
  v.text_ = std::move(canonical);
  return v;
}

std::optional<int64_t> Value::to_int64() const {
  if (type_ != Type::kNumber || text_.empty()) return std::nullopt;
  const bool negative = text_[0] == '-';
  uint64_t magnitude = 0;
  for (size_t i = negative ? 1 : 0; i < text_.size(); ++i) {
    if (!is_digit(text_[i])) return std::nullopt;
    const auto digit = static_cast<uint64_t>(text_[i] - '0');
    if (magnitude > (UINT64_MAX - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  if (negative) {
    if (magnitude > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return magnitude == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN
                                                             : -static_cast<int64_t>(magnitude);
  }
  if (magnitude > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

std::optional<uint64_t> Value::to_uint64() const {
  if (type_ != Type::kNumber || text_.empty() || text_[0] == '-') return std::nullopt;
  uint64_t n = 0;
  for (char c : text_) {
    if (!is_digit(c)) return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

void Value::push_back(Value v) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  elements_.push_back(std::move(v));
}

namespace {

template <typename Members>
auto lower_bound_key(Members& members, std::string_view key) {
  return std::lower_bound(members.begin(), members.end(), key,
                          [](const Member& m, std::string_view k) { return m.key < k; });
}

}  // namespace

const Value* Value::find(std::string_view key) const {
  const auto it = lower_bound_key(members_, key);
  return it != members_.end() && it->key == key ? &it->value : nullptr;
}

Value* Value::find(std::string_view key) {
  const auto it = lower_bound_key(members_, key);
  return it != members_.end() && it->key == key ? &it->value : nullptr;
}

Value& Value::set(std::string_view key, Value v) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  auto it = lower_bound_key(members_, key);
  if (it != members_.end() && it->key == key) {
    it->value = std::move(v);
    return it->value;
  }
  return members_.insert(it, Member{std::string(key), std::move(v)})->value;
}

std::string Value::string_or(std::string_view key, std::string fallback) const {
  const Value* v = find(key);
  return v != nullptr && v->is_string() ? v->text_ : std::move(fallback);
}

size_t Value::size() const {
  if (type_ == Type::kArray) return elements_.size();
  if (type_ == Type::kObject) return members_.size();
  return 0;
}

void Value::dump(std::string* out) const {
  switch (type_) {
    case Type::kNull:
      out->append("null");
      return;
    case Type::kBool:
      out->append(bool_ ? "true" : "false");
      return;
    case Type::kNumber:
      out->append(text_);
      return;
    case Type::kString:
      write_string(text_, out);
      return;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < elements_.size(); ++i) {
        if (i > 0) out->push_back(',');
        elements_[i].dump(out);
      }
      out->push_back(']');
      return;
    case Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) out->push_back(',');
        write_string(members_[i].key, out);
        out->push_back(':');
        members_[i].value.dump(out);
      }
      out->push_back('}');
      return;
  }
}

std::string Value::dump() const {
  std::string out;
  dump(&out);
  return out;
}

bool parse(std::string_view text, Value* out, ParseError* error, const ParseOptions& options) {
  Parser parser(text, options, error);
  if (parser.run(out)) return true;
  *out = Value();
  return false;
}

bool accept(std::string_view text) {
  Value ignored;
  return parse(text, &ignored);
}

void write_string(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_sequence_at(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
      out->append(s.data() + run, i - run);
      out->append("\xEF\xBF\xBD");  // U+FFFD
      run = ++i;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out->append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\r':
        out->append("\\r");
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(escape, sizeof escape);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

std::string quote(std::string_view s) {
  std::string out;
  write_string(s, &out);
  return out;
}

bool canonical_number(std::string_view token, std::string* out) {
  const bool negative = !token.empty() && token[0] == '-';
  const std::string_view digits = negative ? token.substr(1) : token;
  const bool integer = digits.find_first_not_of("0123456789") == std::string_view::npos;
  if (integer) {
    // JSON has no leading zeros, so an integer token is canonical as read, except "-0".
    if (negative && digits == "0") {
      out->push_back('0');
      return true;
    }
    const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
    if (digits.size() < limit.size() || (digits.size() == limit.size() && digits <= limit)) {
      out->append(token);
      return true;
    }
  }
  const double d = read_double(token);
  if (!std::isfinite(d)) return false;
  write_double(d, out);
  return true;
}

}  // namespace json
}  // namespace experiture
