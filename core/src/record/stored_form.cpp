#include "record/stored_form.hpp"

#include "record/json_text.hpp"

namespace experiture {
namespace record {
namespace {

// Walks JSON text the SDK wrote: skips values without decoding them.
class Walker {
 public:
  explicit Walker(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  StoredForm::Lookup find(std::string_view name, std::string* value) {
    using Lookup = StoredForm::Lookup;
    skip_ws();
    if (p_ == end_ || *p_ != '{') return Lookup::kUnreadable;
    ++p_;
    skip_ws();
    if (p_ < end_ && *p_ == '}') return Lookup::kNotString;
    for (;;) {
      skip_ws();
      std::string_view key;
      bool escaped = false;
      if (!string(&key, &escaped)) return Lookup::kUnreadable;
      if (escaped) {
        if (!decode_escapes(key, &decoded_key_)) return Lookup::kUnreadable;
        key = decoded_key_;
      }
      skip_ws();
      if (p_ == end_ || *p_ != ':') return Lookup::kUnreadable;
      ++p_;
      skip_ws();
      if (key == name) {
        if (p_ == end_ || *p_ != '"')
          return skip_value(0) ? Lookup::kNotString : Lookup::kUnreadable;
        std::string_view raw;
        if (!string(&raw, &escaped)) return Lookup::kUnreadable;
        if (!escaped) {
          value->assign(raw.data(), raw.size());
        } else if (!decode_escapes(raw, value)) {
          return Lookup::kUnreadable;
        }
        return Lookup::kString;
      }
      if (!skip_value(0)) return Lookup::kUnreadable;
      skip_ws();
      if (p_ == end_) return Lookup::kUnreadable;
      if (*p_ == '}') return Lookup::kNotString;
      if (*p_ != ',') return Lookup::kUnreadable;
      ++p_;
    }
  }

 private:
  static constexpr int kMaxDepth = 64;

  void skip_ws() { p_ = skip_json_ws(p_, end_); }

  // At '"': the raw bytes between the quotes.
  bool string(std::string_view* raw, bool* escaped) {
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = ++p_;
    bool esc = false;
    const char* q = p_;
    for (;;) {
      while (q < end_ && *q != '"' && *q != '\\') ++q;
      if (q == end_) return false;
      if (*q == '"') break;
      if (end_ - q < 2) return false;
      esc = true;
      q += 2;
    }
    *raw = std::string_view(start, static_cast<size_t>(q - start));
    *escaped = esc;
    p_ = q + 1;
    return true;
  }

  bool skip_value(int depth) {
    if (p_ == end_) return false;
    const char c = *p_;
    if (c == '"') {
      std::string_view raw;
      bool escaped = false;
      return string(&raw, &escaped);
    }
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) return false;
      const char close = c == '{' ? '}' : ']';
      ++p_;
      skip_ws();
      if (p_ < end_ && *p_ == close) {
        ++p_;
        return true;
      }
      for (;;) {
        skip_ws();
        if (c == '{') {
          std::string_view raw;
          bool escaped = false;
          if (!string(&raw, &escaped)) return false;
          skip_ws();
          if (p_ == end_ || *p_ != ':') return false;
          ++p_;
          skip_ws();
        }
        if (!skip_value(depth + 1)) return false;
        skip_ws();
        if (p_ == end_) return false;
        if (*p_ == close) {
          ++p_;
          return true;
        }
        if (*p_ != ',') return false;
        ++p_;
      }
    }
    // A number or literal: up to the next delimiter.
    const char* q = p_;
    while (q < end_ && *q != ',' && *q != '}' && *q != ']' && *q != ' ' && *q != '\n' &&
           *q != '\t' && *q != '\r') {
      ++q;
    }
    if (q == p_) return false;
    p_ = q;
    return true;
  }

  const char* p_;
  const char* end_;
  std::string decoded_key_;
};

}  // namespace

StoredForm::Lookup StoredForm::top_level_string(std::string_view text, std::string_view name,
                                                std::string* value) {
  return Walker(text).find(name, value);
}

}  // namespace record
}  // namespace experiture
