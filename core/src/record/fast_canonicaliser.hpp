// One pass from record text to its stored form, without building a DOM: the accept fast path.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace experiture {
namespace record {

// Reads JSON text whose top level is an object and writes exactly what json::parse() then
// Value::dump() would write (json/json.hpp; the same bytes nlohmann's dump() wrote): compact,
// object keys sorted bytewise at every level, UTF-8 kept, strings escaped by json::write_string,
// numbers by json::canonical_number. It gives up (returns false) whenever it cannot be sure of
// producing that, and never reports why: invalid JSON or UTF-8, a top level that is not an object
// or is empty, duplicate field names, field names with escape sequences, containers nested deeper
// than max_depth (the record object is level 1), a leading byte-order mark, or a FieldHook refusal.
// The caller then takes the DOM path, which owns every error message; so the fast path can only
// change how fast a valid record is accepted, never what is accepted or how it is stored.
//
// Pure computation; thread-safe (per-thread scratch buffers only).
class FastCanonicaliser {
 public:
  enum class Kind { kString, kNull, kOther };

  // Sees each top-level field before its value is written; may replace a string value.
  class FieldHook {
   public:
    virtual ~FieldHook() = default;
    // Whether `name` needs on_field(); the others are copied in canonical form unseen.
    virtual bool wants(std::string_view name) const = 0;
    // `value` is the decoded string for kString, empty otherwise. Return false to give up.
    // Set *replace to true and write *replacement to store another string instead of a kString.
    virtual bool on_field(std::string_view name, Kind kind, std::string_view value, bool* replace,
                          std::string* replacement) = 0;
  };

  // Appends the canonical form to *out (cleared first). On false, *out is unspecified.
  static bool canonicalise(std::string_view text, size_t max_depth, FieldHook& hook,
                           std::string* out);
};

}  // namespace record
}  // namespace experiture
