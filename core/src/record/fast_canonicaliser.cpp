#include "record/fast_canonicaliser.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "json/json.hpp"
#include "record/json_text.hpp"
#include "record/utf8.hpp"

namespace experiture {
namespace record {
namespace {

// Scratch buffers above this are released after the call, so one huge record does not pin
// memory in an app thread for the app's lifetime.
constexpr size_t kKeepScratchBytes = 64 * 1024;

// One field of an object being written: its name and where `"name":value` sits in the output.
struct Member {
  std::string_view key;  // points into the input text (names with escapes are refused)
  size_t begin;
  size_t end;
};

struct Scratch {
  std::vector<Member> members;  // a stack: each object uses the entries above its base
  std::string decoded;          // a string value with escape sequences, decoded
  std::string region;           // an object's members while they are reordered
  std::string replacement;      // a hooked field's new value
};

// How scan_string() treats each byte inside a string.
enum ByteClass : unsigned char { kPlain, kQuote, kBackslash, kControl, kHigh };

constexpr std::array<ByteClass, 256> make_byte_classes() {
  std::array<ByteClass, 256> classes{};
  for (size_t c = 0; c < 256; ++c) {
    classes[c] = c < 0x20 ? kControl : c >= 0x80 ? kHigh : kPlain;
  }
  classes['"'] = kQuote;
  classes['\\'] = kBackslash;
  return classes;
}

constexpr std::array<ByteClass, 256> kByteClass = make_byte_classes();

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

class Parser {
 public:
  Parser(std::string_view text, size_t max_depth, FastCanonicaliser::FieldHook& hook,
         Scratch& scratch, std::string* out)
      : p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(max_depth),
        hook_(hook),
        scratch_(scratch),
        out_(*out) {}

  bool run() {
    if (end_ - p_ >= 3 && static_cast<unsigned char>(p_[0]) == 0xEF &&
        static_cast<unsigned char>(p_[1]) == 0xBB && static_cast<unsigned char>(p_[2]) == 0xBF) {
      return false;  // nlohmann skips a BOM; the DOM path keeps that case
    }
    skip_ws();
    if (p_ == end_ || *p_ != '{') return false;
    if (!parse_object(1)) return false;
    if (out_.size() == 2) return false;  // {}: the DOM path reports kRecordEmpty
    skip_ws();
    return p_ == end_;
  }

 private:
  void skip_ws() { p_ = skip_json_ws(p_, end_); }

  // At '"': the raw bytes between the quotes and whether they hold escape sequences. Raw control
  // characters and (in strings without escapes) invalid UTF-8 are refused here.
  bool scan_string(std::string_view* raw, bool* escaped) {
    ++p_;
    const char* start = p_;
    bool high = false;
    bool esc = false;
    for (;;) {
      const char* q = p_;  // a local, so the loop keeps it in a register
      while (q < end_ && kByteClass[static_cast<unsigned char>(*q)] == kPlain) ++q;
      p_ = q;
      if (p_ == end_) return false;
      switch (kByteClass[static_cast<unsigned char>(*p_)]) {
        case kQuote:
          *raw = std::string_view(start, static_cast<size_t>(p_ - start));
          ++p_;
          *escaped = esc;
          return esc || !high || is_valid_utf8(*raw);
        case kBackslash:
          if (end_ - p_ < 2) return false;
          esc = true;
          p_ += 2;  // the escaped character is checked by decode_escapes()
          break;
        case kHigh:
          high = true;
          ++p_;
          break;
        default:
          return false;  // a raw control character
      }
    }
  }

  // At '"': the decoded value of a string (a view of the input, or of scratch_.decoded).
  bool read_string(std::string_view* value) {
    std::string_view raw;
    bool escaped = false;
    if (!scan_string(&raw, &escaped)) return false;
    if (!escaped) {
      *value = raw;
      return true;
    }
    if (!decode_escapes(raw, &scratch_.decoded) || !is_valid_utf8(scratch_.decoded)) return false;
    *value = scratch_.decoded;
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    out_.append(word);
    return true;
  }

  bool parse_number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && is_digit(*p_)) ++p_;
    } else {
      return false;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) return false;
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !is_digit(*p_)) return false;
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    // The one canonical form of numbers (json::canonical_number): integers within 64 bits as
    // read, others in the shortest form of their double; false beyond double's range.
    return json::canonical_number(std::string_view(start, static_cast<size_t>(p_ - start)), &out_);
  }

  // A value whose containers (if any) are at nesting `level`.
  bool parse_value(size_t level) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': {
        const char* quote = p_;
        std::string_view raw;
        bool escaped = false;
        if (!scan_string(&raw, &escaped)) return false;
        if (!escaped) {
          // Nothing in it needs escaping (no quote, backslash or control): copied as read.
          out_.append(quote, static_cast<size_t>(p_ - quote));
          return true;
        }
        if (!decode_escapes(raw, &scratch_.decoded) || !is_valid_utf8(scratch_.decoded)) {
          return false;
        }
        json::write_string(scratch_.decoded, &out_);
        return true;
      }
      case '{':
        return level <= max_depth_ && parse_object(level);
      case '[':
        return level <= max_depth_ && parse_array(level);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return *p_ == '-' || is_digit(*p_) ? parse_number() : false;
    }
  }

  bool parse_array(size_t level) {
    ++p_;
    out_.push_back('[');
    skip_ws();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      out_.push_back(']');
      return true;
    }
    for (;;) {
      skip_ws();
      if (!parse_value(level + 1)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        out_.push_back(']');
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      out_.push_back(',');
    }
  }

  // A top-level field the hook asked to see: its value is read, shown, then written.
  bool parse_hooked_value(std::string_view name) {
    if (p_ == end_) return false;
    FastCanonicaliser::Kind kind = FastCanonicaliser::Kind::kOther;
    std::string_view value;
    if (*p_ == '"') {
      if (!read_string(&value)) return false;
      kind = FastCanonicaliser::Kind::kString;
    } else if (static_cast<size_t>(end_ - p_) >= 4 && std::string_view(p_, 4) == "null") {
      kind = FastCanonicaliser::Kind::kNull;
    }
    bool replace = false;
    if (!hook_.on_field(name, kind, value, &replace, &scratch_.replacement)) return false;
    switch (kind) {
      case FastCanonicaliser::Kind::kString:
        json::write_string(replace ? std::string_view(scratch_.replacement) : value, &out_);
        return true;
      case FastCanonicaliser::Kind::kNull:
        return literal("null");
      case FastCanonicaliser::Kind::kOther:
        return parse_value(2);
    }
    return false;
  }

  // At '{' of an object at nesting `level`: its fields, sorted by name, without duplicates.
  bool parse_object(size_t level) {
    ++p_;
    out_.push_back('{');
    const size_t region = out_.size();
    const size_t base = scratch_.members.size();
    skip_ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      out_.push_back('}');
      return true;
    }
    bool sorted = true;
    for (;;) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') return false;
      const char* quote = p_;
      std::string_view key;
      bool escaped = false;
      if (!scan_string(&key, &escaped) || escaped) return false;
      const std::string_view quoted_key(quote, static_cast<size_t>(p_ - quote));
      skip_ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_ws();
      if (scratch_.members.size() > base) {
        out_.push_back(',');
        if (!(scratch_.members.back().key < key)) sorted = false;
      }
      const size_t begin = out_.size();
      out_.append(quoted_key);  // no escapes, so nothing in it to escape
      out_.push_back(':');
      const bool ok =
          level == 1 && hook_.wants(key) ? parse_hooked_value(key) : parse_value(level + 1);
      if (!ok) return false;
      scratch_.members.push_back(Member{key, begin, out_.size()});
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        break;
      }
      if (*p_ != ',') return false;
      ++p_;
    }
    if (!sorted && !reorder(region, base)) return false;
    scratch_.members.resize(base);
    out_.push_back('}');
    return true;
  }

  // Rewrites the members written since `region` in name order; false on a duplicate name (the
  // DOM keeps the last one; that rare case is left to it).
  bool reorder(size_t region, size_t base) {
    const auto first = scratch_.members.begin() + static_cast<std::ptrdiff_t>(base);
    std::sort(first, scratch_.members.end(),
              [](const Member& a, const Member& b) { return a.key < b.key; });
    for (auto it = first + 1; it < scratch_.members.end(); ++it) {
      if (it->key == (it - 1)->key) return false;
    }
    scratch_.region.assign(out_, region, std::string::npos);
    out_.resize(region);
    for (auto it = first; it != scratch_.members.end(); ++it) {
      if (it != first) out_.push_back(',');
      out_.append(scratch_.region, it->begin - region, it->end - it->begin);
    }
    return true;
  }

  const char* p_;
  const char* end_;
  size_t max_depth_;
  FastCanonicaliser::FieldHook& hook_;
  Scratch& scratch_;
  std::string& out_;
};

void release_if_large(std::string& s) {
  if (s.capacity() > kKeepScratchBytes) std::string().swap(s);
}

}  // namespace

bool FastCanonicaliser::canonicalise(std::string_view text, size_t max_depth, FieldHook& hook,
                                     std::string* out) {
  thread_local Scratch scratch;
  scratch.members.clear();
  out->clear();
  Parser parser(text, max_depth, hook, scratch, out);
  const bool ok = parser.run();
  release_if_large(scratch.decoded);
  release_if_large(scratch.region);
  release_if_large(scratch.replacement);
  if (scratch.members.capacity() > kKeepScratchBytes / sizeof(Member)) {
    std::vector<Member>().swap(scratch.members);
  }
  return ok;
}

}  // namespace record
}  // namespace experiture
