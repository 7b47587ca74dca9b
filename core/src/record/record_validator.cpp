#include "record/record_validator.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "experiture/platform/backends.hpp"
#include "json/json.hpp"
#include "record/fast_canonicaliser.hpp"
#include "record/timestamp.hpp"
#include "record/utf8.hpp"
#include "text/ascii.hpp"

namespace experiture {
namespace record {
namespace {

using json::Value;

constexpr size_t kMaxObjectNameBytes = 64;
constexpr size_t kMaxEmailLocalBytes = 64;
constexpr size_t kMaxEmailDomainBytes = 253;
constexpr size_t kMaxEmailBytes = 254;

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "`name`" for messages. Field names come from the app's schema, not from its users; a name that
// is not valid UTF-8 is not echoed.
std::string field_label(std::string_view name) {
  if (!is_valid_utf8(name)) return "(a field name that is not valid UTF-8)";
  return "`" + std::string(name) + "`";
}

// The first invalid UTF-8 string (key or value) inside `value`, or false. Iterative, so depth
// is checked before anything recurses; `too_deep` is set when nesting passes `max_depth`.
bool find_bad_utf8(const Value& value, size_t depth, size_t max_depth, bool* too_deep) {
  std::vector<std::pair<const Value*, size_t>> stack{{&value, depth}};
  while (!stack.empty()) {
    const auto [node, level] = stack.back();
    stack.pop_back();
    if (node->is_string()) {
      if (!is_valid_utf8(node->text())) return true;
    } else if (node->is_object() || node->is_array()) {
      if (level > max_depth) {
        *too_deep = true;
        return false;
      }
      for (const Value& element : node->elements()) stack.emplace_back(&element, level + 1);
      for (const json::Member& member : node->members()) {
        if (!is_valid_utf8(member.key)) return true;
        stack.emplace_back(&member.value, level + 1);
      }
    }
  }
  return false;
}

// Bytes an address may not hold: controls, space, DEL and ( ) < > [ ] \\ , ; : "
constexpr std::array<bool, 256> make_email_forbidden() {
  std::array<bool, 256> forbidden{};
  for (size_t c = 0; c <= 0x20; ++c) forbidden[c] = true;
  forbidden[0x7F] = true;
  for (char c : std::string_view("()<>[]\\,;:\"")) forbidden[static_cast<unsigned char>(c)] = true;
  return forbidden;
}

constexpr std::array<bool, 256> kEmailForbidden = make_email_forbidden();

bool is_valid_email_domain(std::string_view domain) {
  size_t labels = 0;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty()) return false;
    for (char c : label) {
      if (!is_ascii_alnum(c) && c != '-' && static_cast<unsigned char>(c) < 0x80) return false;
    }
    ++labels;
    start = end + 1;
  }
  return labels >= 2;
}

}  // namespace

RecordValidator::RecordValidator(Rules rules,
                                 std::shared_ptr<const platform::PhoneNormalizer> phone)
    : rules_(std::move(rules)), phone_(std::move(phone)) {
  if (!phone_) phone_ = platform::make_default_phone_normalizer();
  phone_e164_only_ =
      dynamic_cast<const platform::E164OnlyPhoneNormalizer*>(phone_.get()) != nullptr;
}

Result<Value> RecordValidator::parse(std::string_view json_text) {
  // The caller gave a length; every byte of it is the record, and a NUL byte is named as such.
  const size_t nul = json_text.find('\0');
  if (nul != std::string_view::npos) {
    return Status(Code::kInvalidJson, "record text holds a NUL byte at byte " +
                                          std::to_string(nul) +
                                          " (JSON text cannot; inside a string write \\u0000)");
  }
  json::ParseOptions options;
  options.max_depth = kMaxDepth + 1;  // one level more, so check_structure() names the field
  options.refuse_duplicate_keys = true;
  Value parsed;
  json::ParseError error;
  if (json::parse(json_text, &parsed, &error, options)) return parsed;
  switch (error.kind) {
    case json::ParseError::Kind::kDuplicateKey:
      // Refused, not resolved: {"email":"a@b.co","email":"victim@evil.com"} must not send either
      // silently (a parser may keep the first, the last, or both).
      return Status(Code::kInvalidJson,
                    "record: field " + field_label(error.key) +
                        " appears twice in one object (duplicate keys are refused, not resolved)");
    case json::ParseError::Kind::kTooDeep:
      // What validate() says of such a record: not an object, or a field nested too deep.
      if (error.key.empty()) return Status(Code::kRecordNotObject, "record: must be a JSON object");
      return Status(Code::kRecordTooLarge, field_label(error.key) + ": nested deeper than " +
                                               std::to_string(kMaxDepth) + " levels");
    case json::ParseError::Kind::kNumberOutOfRange:
      return Status(Code::kInvalidJson, "record text is not JSON: a number is out of range");
    case json::ParseError::Kind::kSyntax:
      break;
  }
  // The position and the reason; never an excerpt (the text may be personal data).
  return Status(Code::kInvalidJson, "record text is not JSON: parse error at line " +
                                        std::to_string(error.line) + ", column " +
                                        std::to_string(error.column) + ": " + error.reason +
                                        " (byte " + std::to_string(error.byte) + ")");
}

Result<std::string> RecordValidator::upsert(std::string_view object, Value record,
                                            std::string_view match_key) const {
  return validate(object, std::move(record), &match_key);
}

Result<std::string> RecordValidator::append(std::string_view object, Value record) const {
  return validate(object, std::move(record), nullptr);
}

Result<std::string> RecordValidator::upsert_text(std::string_view object,
                                                 std::string_view record_json,
                                                 std::string_view match_key,
                                                 std::string buffer) const {
  return validate_text(object, record_json, &match_key, std::move(buffer));
}

Result<std::string> RecordValidator::append_text(std::string_view object,
                                                 std::string_view record_json,
                                                 std::string buffer) const {
  return validate_text(object, record_json, nullptr, std::move(buffer));
}

Result<std::string> RecordValidator::validate_text(std::string_view object, std::string_view text,
                                                   const std::string_view* match_key,
                                                   std::string buffer) const {
  // The length is known: text this long cannot hold a record within the cap (see the header),
  // so it is refused before any parse allocates for it.
  if (text.size() / kMaxTextBytesPerRecordByte > rules_.max_record_bytes) {
    return Status(Code::kRecordTooLarge,
                  "record: " + std::to_string(text.size()) + " bytes of text, more than " +
                      std::to_string(kMaxTextBytesPerRecordByte) + " x the cap of " +
                      std::to_string(rules_.max_record_bytes) +
                      " bytes (max_record_bytes); refused unread");
  }
  if (try_fast(object, text, match_key, &buffer)) return buffer;
  auto parsed = parse(text);
  if (!parsed.is_ok()) return parsed.status();
  return validate(object, std::move(parsed).value(), match_key);
}

// The per-field rules of normalise_fields() and check_match_key(), applied as the fast path
// meets each top-level field. Any refusal sends the record to the DOM path for its message.
namespace {

// The fields field_rule() has a rule for.
bool has_field_rule(std::string_view name) {
  return name == "email" || name == "phone" || ends_with(name, "_at");
}

}  // namespace

class RecordValidator::FastHook final : public FastCanonicaliser::FieldHook {
 public:
  FastHook(const RecordValidator& validator, const std::string_view* match_key)
      : validator_(validator), match_key_(match_key) {}

  bool wants(std::string_view name) const override {
    return has_field_rule(name) || (match_key_ && name == *match_key_);
  }

  bool on_field(std::string_view name, FastCanonicaliser::Kind kind, std::string_view value,
                bool* replace, std::string* replacement) override {
    using Kind = FastCanonicaliser::Kind;
    if (match_key_ && name == *match_key_) {
      if (kind != Kind::kString || text::trim(value).empty()) return false;
      saw_match_key_ = true;
    }
    if (kind == Kind::kNull) return true;
    const std::string_view* text = kind == Kind::kString ? &value : nullptr;
    switch (validator_.field_rule(name, text, replacement)) {  // the buffer is reused
      case FieldRule::kKeep:
        return true;
      case FieldRule::kReplace:
        *replace = true;
        return true;
      case FieldRule::kRefuse:
        return false;
    }
    return false;
  }

  bool saw_match_key() const { return saw_match_key_; }

 private:
  const RecordValidator& validator_;
  const std::string_view* match_key_;
  bool saw_match_key_ = false;
};

bool RecordValidator::try_fast(std::string_view object, std::string_view text,
                               const std::string_view* match_key, std::string* out) const {
  if (!check_object_name(object)) return false;
  if (match_key) {
    if (match_key->empty()) return false;
    const std::vector<std::string>& keys = identity_keys_of(object);
    if (std::find(keys.begin(), keys.end(), *match_key) == keys.end()) return false;
  }
  FastHook hook(*this, match_key);
  out->reserve(std::min(text.size(), rules_.max_record_bytes) + 16);
  if (!FastCanonicaliser::canonicalise(text, kMaxDepth, hook, out)) return false;
  if (match_key && !hook.saw_match_key()) return false;
  return out->size() <= rules_.max_record_bytes;
}

Result<std::string> RecordValidator::validate(std::string_view object, Value record,
                                              const std::string_view* match_key) const {
  if (Status s = check_object_name(object); !s) return s;
  if (!record.is_object()) {
    return Status(Code::kRecordNotObject, "record: must be a JSON object");
  }
  if (record.empty()) return Status(Code::kRecordEmpty, "record: must have at least one field");
  if (Status s = check_structure(record); !s) return s;
  if (match_key) {
    if (Status s = check_match_key(object, record, *match_key); !s) return s;
  }
  if (Status s = normalise_fields(record); !s) return s;
  return serialise(record);
}

const std::vector<std::string>& RecordValidator::identity_keys_of(std::string_view object) const {
  if (rules_.identity_keys.empty()) return rules_.default_identity_keys;
  const auto per_object = rules_.identity_keys.find(std::string(object));
  return per_object != rules_.identity_keys.end() ? per_object->second
                                                  : rules_.default_identity_keys;
}

Status RecordValidator::check_object_name(std::string_view object) {
  const bool ok = !object.empty() && object.size() <= kMaxObjectNameBytes &&
                  std::all_of(object.begin(), object.end(),
                              [](char c) { return is_ascii_alnum(c) || c == '_' || c == '-'; });
  if (ok) return Status::ok();
  return Status(Code::kInvalidArgument,
                "object: must be 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'");
}

Status RecordValidator::unwritable_record(std::string_view object, bool is_object, bool is_empty,
                                          std::string_view field) {
  if (Status s = check_object_name(object); !s) return s;
  if (!is_object) return Status(Code::kRecordNotObject, "record: must be a JSON object");
  if (is_empty) return Status(Code::kRecordEmpty, "record: must have at least one field");
  if (field.empty() || !is_valid_utf8(field)) {
    return Status(Code::kInvalidJson, "record: a field name is not valid UTF-8");
  }
  return Status(Code::kInvalidJson, field_label(field) + ": holds text that is not valid UTF-8");
}

Status RecordValidator::check_structure(const Value& record) {
  for (const json::Member& member : record.members()) {
    if (!is_valid_utf8(member.key)) {
      return Status(Code::kInvalidJson, "record: a field name is not valid UTF-8");
    }
    // Flat fields (the common case) are checked in place; only containers need the walk.
    const Value& value = member.value;
    if (value.is_string()) {
      if (!is_valid_utf8(value.text())) {
        return Status(Code::kInvalidJson,
                      field_label(member.key) + ": holds text that is not valid UTF-8");
      }
      continue;
    }
    if (value.is_primitive()) continue;
    bool too_deep = false;
    if (find_bad_utf8(value, 2, kMaxDepth, &too_deep)) {
      return Status(Code::kInvalidJson,
                    field_label(member.key) + ": holds text that is not valid UTF-8");
    }
    if (too_deep) {
      return Status(Code::kRecordTooLarge, field_label(member.key) + ": nested deeper than " +
                                               std::to_string(kMaxDepth) + " levels");
    }
  }
  return Status::ok();
}

Status RecordValidator::check_match_key(std::string_view object, const Value& record,
                                        std::string_view match_key) const {
  const std::string key(match_key);
  const Value* it = record.find(key);
  if (key.empty() || it == nullptr) {
    return Status(Code::kMatchKeyMissing,
                  "match_key " + field_label(key) + ": the record has no field of that name");
  }
  if (it->is_null()) {
    return Status(Code::kMatchKeyNull, field_label(key) + ": the match key field must not be null");
  }
  // Blank values are what email/phone normalisation would turn into nothing; for other keys a
  // blank value would merge every blank-keyed write into one profile.
  if (!it->is_string() || text::trim(it->text()).empty()) {
    return Status(Code::kMatchKeyNotString,
                  field_label(key) + ": the match key field must be a non-empty string");
  }
  const std::vector<std::string>& keys = identity_keys_of(object);
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
    std::string list;
    for (const std::string& k : keys) list += (list.empty() ? "" : ", ") + k;
    return Status(Code::kMatchKeyNotIdentity,
                  "match_key " + field_label(key) + ": not an identity field of object `" +
                      std::string(object) + "` (identity fields: " + list + ")");
  }
  return Status::ok();
}

RecordValidator::FieldRule RecordValidator::field_rule(std::string_view name,
                                                       const std::string_view* value,
                                                       std::string* replacement) const {
  if (name == "email") {
    return value && normalize_email_into(*value, replacement) ? FieldRule::kReplace
                                                              : FieldRule::kRefuse;
  }
  if (name == "phone") {
    std::optional<std::string> phone;
    if (value) phone = normalize_phone(*value);
    if (!phone) return FieldRule::kRefuse;
    *replacement = std::move(*phone);
    return FieldRule::kReplace;
  }
  if (ends_with(name, "_at")) {
    return value && is_zoned_timestamp_or_date(*value) ? FieldRule::kKeep : FieldRule::kRefuse;
  }
  return FieldRule::kKeep;
}

namespace {

// The string behind a DOM value, or null when it is not a string.
std::optional<std::string_view> string_of(const Value& value) {
  if (!value.is_string()) return std::nullopt;
  return std::string_view(value.text());
}

}  // namespace

Status RecordValidator::normalise_fields(Value& record) const {
  // Each field's rule is field_rule(), as in the fast path; here in a fixed order (email, phone,
  // then the `_at` fields by name), so the first error reported does not depend on the text.
  std::string replacement;
  auto apply = [&](Value& value, std::string_view name) {
    const std::optional<std::string_view> text = string_of(value);
    const FieldRule rule = field_rule(name, text ? &*text : nullptr, &replacement);
    if (rule == FieldRule::kReplace) value = replacement;
    return rule != FieldRule::kRefuse;
  };
  if (Value* it = record.find("email"); it != nullptr && !it->is_null()) {
    if (!apply(*it, "email")) {
      return Status(Code::kInvalidEmail,
                    "`email`: must be null or one address local@domain.tld (at most 254 bytes; "
                    "no spaces, control characters or ()<>[]\\,;:\")");
    }
  }
  if (Value* it = record.find("phone"); it != nullptr && !it->is_null()) {
    if (!apply(*it, "phone")) {
      return Status(Code::kInvalidPhone, "`phone`: must be null or " + phone_rule());
    }
  }
  for (json::Member& member : record.members()) {
    if (!ends_with(member.key, "_at") || member.value.is_null()) continue;
    if (!member.value.is_string()) {
      return Status(Code::kTimestampWithoutZone,
                    field_label(member.key) + ": must be a string (ISO 8601 with a zone) or null");
    }
    if (!apply(member.value, member.key)) {
      return Status(Code::kTimestampWithoutZone,
                    field_label(member.key) +
                        ": must be ISO 8601 with a zone (2026-04-21T15:30:00Z, "
                        "2026-04-21T17:30:00.250+02:00) or a plain date (2026-04-21)");
    }
  }
  return Status::ok();
}

Result<std::string> RecordValidator::serialise(const Value& record) const {
  // check_structure() rejected invalid UTF-8, so dump() writes every string as it is.
  std::string text = record.dump();
  if (text.size() > rules_.max_record_bytes) {
    return Status(Code::kRecordTooLarge, "record: " + std::to_string(text.size()) +
                                             " bytes serialised, above the cap of " +
                                             std::to_string(rules_.max_record_bytes) +
                                             " bytes (max_record_bytes)");
  }
  return text;
}

std::optional<std::string> RecordValidator::normalize_email(std::string_view raw) {
  std::string out;
  if (!normalize_email_into(raw, &out)) return std::nullopt;
  return out;
}

bool RecordValidator::normalize_email_into(std::string_view raw, std::string* out) {
  const std::string_view v = text::trim(raw);
  if (v.empty() || v.size() > kMaxEmailBytes) return false;
  const size_t at = v.find('@');
  if (at == std::string_view::npos || v.find('@', at + 1) != std::string_view::npos) return false;
  const std::string_view local = v.substr(0, at);
  const std::string_view domain = v.substr(at + 1);
  if (local.empty() || local.size() > kMaxEmailLocalBytes || domain.empty() ||
      domain.size() > kMaxEmailDomainBytes) {
    return false;
  }
  out->assign(v.data(), v.size());
  bool high = false;
  for (char& c : *out) {
    const auto u = static_cast<unsigned char>(c);
    if (kEmailForbidden[u]) return false;
    if (u >= 'A' && u <= 'Z') c = static_cast<char>(u - 'A' + 'a');
    high = high || u >= 0x80;
  }
  if (high && !is_valid_utf8(v)) return false;
  return is_valid_email_domain(domain);
}

std::optional<std::string> RecordValidator::normalize_phone(std::string_view raw) const {
  std::optional<std::string> e164 = phone_->to_e164(raw, rules_.default_phone_region);
  // An app's normaliser is trusted for parsing, not for the stored form: the CDP keys on it.
  if (e164 && !platform::is_e164(*e164)) return std::nullopt;
  return e164;
}

std::string RecordValidator::phone_rule() const {
  if (phone_e164_only_) {
    return "a phone number in E.164 form: '+', the country code and the number, 8 to 15 digits, "
           "no 0 after the '+' (spaces, dashes, dots and brackets are ignored); a national number "
           "needs a phone normaliser (libphonenumber, or the app's own: "
           "Config::phone_normalizer, experiture_config_set_phone_normalizer)";
  }
  return "a valid phone number (with a '+' country code, or national to default region \"" +
         rules_.default_phone_region + "\"), without extension; stored as E.164";
}

}  // namespace record
}  // namespace experiture
