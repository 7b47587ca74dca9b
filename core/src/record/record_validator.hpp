// Validates a record and normalises its identifiers on the app's thread, before it is accepted.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "experiture/platform/phone_normalizer.hpp"
#include "experiture/status.hpp"
#include "json/json.hpp"

namespace experiture {
namespace record {

// The write path's steps 1 and 2 (docs/design.md "The write path"). Pure computation: no I/O,
// no locks, no shared mutable state; every method may be called from any thread at once.
// Messages name the field and the rule, never a field's value (values may be personal data).
//
// Rules applied to the record's top-level fields (nested values are not inspected, except that
// every string anywhere must be valid UTF-8):
// - `email` (a string; null allowed: it clears the field): trimmed, ASCII-lowercased, then
//   checked by normalize_email().
// - `phone` (a string or null): replaced by its E.164 form from the PhoneNormalizer.
// - every field whose name ends in `_at`: null, or a string accepted by
//   is_zoned_timestamp_or_date() (timestamp.hpp). Values are kept as sent.
class RecordValidator {
 public:
  struct Rules {
    size_t max_record_bytes = 64 * 1024;      // the normalised record, serialised compactly
    std::string default_phone_region = "US";  // ISO 3166-1 alpha-2, for numbers without '+'
    std::vector<std::string> default_identity_keys = {"email",       "customer_id",  "phone",
                                                      "external_id", "anonymous_id", "device_id"};
    // Per object: the fields usable as match_key, replacing default_identity_keys.
    std::map<std::string, std::vector<std::string>> identity_keys;
  };

  // The deepest nesting of arrays/objects a record may have (the record object is level 1);
  // deeper records are kRecordTooLarge, so that serialising them never exhausts a small stack.
  static constexpr size_t kMaxDepth = 32;
  // upsert_text()/append_text() refuse text longer than this many times max_record_bytes with
  // kRecordTooLarge before parsing it (a \u escape is at most 6 bytes of text per stored byte),
  // so an oversize record costs no memory beyond the caller's own text.
  static constexpr size_t kMaxTextBytesPerRecordByte = 6;

  // `phone` is shared and must be thread-safe; null means
  // platform::make_default_phone_normalizer().
  RecordValidator(Rules rules, std::shared_ptr<const platform::PhoneNormalizer> phone);

  // Parses record text. kInvalidJson (also for invalid UTF-8) with the line, column and byte
  // offset of the error and the parser's reason, never an excerpt of the text. Any JSON value
  // parses; upsert()/append() check what it is. Every byte of `json_text` counts: a NUL byte
  // anywhere is kInvalidJson naming its offset (never read as the end of the text), and a key
  // that appears twice in one object is kInvalidJson naming the key (never resolved). Nesting
  // deeper than kMaxDepth + 1 stops the parse with what upsert() would answer: kRecordTooLarge
  // naming the top-level field, or kRecordNotObject when the text is not an object.
  static Result<json::Value> parse(std::string_view json_text);

  // Validates and normalises an upsert; returns the normalised record serialised compactly
  // (UTF-8 kept, keys sorted). Checks in this order, each with its own code:
  //   kInvalidArgument      `object` is not 1 to 64 of [A-Za-z0-9_-]
  //   kRecordNotObject      `record` is not a JSON object
  //   kRecordEmpty          `record` is {}
  //   kRecordTooLarge       nested deeper than kMaxDepth
  //   kInvalidJson          a string or field name anywhere is not valid UTF-8
  //   kMatchKeyMissing      `match_key` is empty or not a field of the record
  //   kMatchKeyNull         the match_key field is null
  //   kMatchKeyNotString    the match_key field is not a string, or is empty or only white space
  //                         (that is: it would normalise to an empty value)
  //   kMatchKeyNotIdentity  `match_key` is not an identity field of `object` (Rules)
  //   kInvalidEmail         `email` is not a string/null or cannot be normalised
  //   kInvalidPhone         `phone` is not a string/null or is not a valid number
  //   kTimestampWithoutZone an `_at` field is not a string/null, or not ISO 8601 with a zone
  //                         (nor a plain date)
  //   kRecordTooLarge       serialised above max_record_bytes (the message states the cap)
  // The match key is checked on the normalised value: `email` " A@B.CO " matches as "a@b.co".
  Result<std::string> upsert(std::string_view object, json::Value record,
                             std::string_view match_key) const;

  // As upsert() without the match key checks.
  Result<std::string> append(std::string_view object, json::Value record) const;

  // parse() then upsert()/append(), with the same result for every input, but a valid record
  // normally takes a single pass from text to stored form without a DOM (FastCanonicaliser);
  // anything the fast path does not accept, errors included, is decided by the DOM path.
  // `buffer`: storage for the result (its capacity is reused; its content is ignored).
  Result<std::string> upsert_text(std::string_view object, std::string_view record_json,
                                  std::string_view match_key, std::string buffer = {}) const;
  Result<std::string> append_text(std::string_view object, std::string_view record_json,
                                  std::string buffer = {}) const;

  // The status for a JSON document that could not be written as text (Client's template
  // overloads): the checks of upsert()/append() in their order, for what is known of it, then
  // kInvalidJson naming `field` (its name or value is not valid UTF-8; "" for a field name).
  static Status unwritable_record(std::string_view object, bool is_object, bool is_empty,
                                  std::string_view field);

  // Trims ASCII white space and lowercases ASCII letters (non-ASCII is kept as is: unicode local
  // parts are allowed), then requires: valid UTF-8; exactly one '@'; a local part of 1 to 64 bytes
  // and a domain of 1 to 253 bytes, at most 254 in all; no spaces, control characters or any of
  // ( ) < > [ ] \ , ; : " ; a domain of dot-separated non-empty labels (at least two) of letters,
  // digits, '-' or non-ASCII. nullopt when any of that fails.
  static std::optional<std::string> normalize_email(std::string_view raw);
  // The same into *out (its capacity reused); false where normalize_email() gives nullopt.
  static bool normalize_email_into(std::string_view raw, std::string* out);

  // E.164 through the PhoneNormalizer with Rules::default_phone_region; nullopt when invalid,
  // also when the normaliser (an app's hook) answers something that is not E.164.
  std::optional<std::string> normalize_phone(std::string_view raw) const;

  // What a phone must look like, for INVALID_PHONE messages. With the built-in E.164-only rule
  // (no libphonenumber, no app normaliser) it says that a national number needs a normaliser.
  std::string phone_rule() const;

 private:
  class FastHook;
  // What the rule of one top-level field says about its value: keep it, store *replacement
  // instead, or refuse the record (INVALID_EMAIL, INVALID_PHONE, TIMESTAMP_WITHOUT_ZONE).
  enum class FieldRule { kKeep, kReplace, kRefuse };
  // The one home of the per-field rules (email, phone, `*_at`; other fields: kKeep), applied by
  // normalise_fields() on the DOM and by FastHook in the single pass. `value` is the field's
  // string, null when the value is not a string (a null value is never passed: always kept).
  FieldRule field_rule(std::string_view name, const std::string_view* value,
                       std::string* replacement) const;

  static Status check_object_name(std::string_view object);
  static Status check_structure(const json::Value& record);
  Status check_match_key(std::string_view object, const json::Value& record,
                         std::string_view match_key) const;
  Status normalise_fields(json::Value& record) const;
  Result<std::string> serialise(const json::Value& record) const;
  Result<std::string> validate(std::string_view object, json::Value record,
                               const std::string_view* match_key) const;
  const std::vector<std::string>& identity_keys_of(std::string_view object) const;
  bool try_fast(std::string_view object, std::string_view text, const std::string_view* match_key,
                std::string* out) const;
  Result<std::string> validate_text(std::string_view object, std::string_view text,
                                    const std::string_view* match_key, std::string buffer) const;

  Rules rules_;
  std::shared_ptr<const platform::PhoneNormalizer> phone_;
  bool phone_e164_only_ = false;  // phone_ is the built-in E164OnlyPhoneNormalizer
};

}  // namespace record
}  // namespace experiture
