// Reading the stored form of a record (the compact JSON the SDK wrote to the outbox) without a
// DOM: the drain loop's look at match-key values before it coalesces.
#pragma once

#include <string>
#include <string_view>

namespace experiture {
namespace record {

class StoredForm {
 public:
  enum class Lookup { kString, kNotString, kUnreadable };
  // The decoded value of top-level field `name` of a JSON object the SDK wrote (a stored form),
  // read without a DOM and without allocating beyond *value: kString with *value set; kNotString
  // when the field is absent or not a string; kUnreadable when the text is not an object this
  // reader can walk (then use a real parser). Only the bytes up to the field are checked, and
  // loosely (it is not a validator): the text must come from FastCanonicaliser::canonicalise()
  // or nlohmann's dump(). Pure; thread-safe.
  static Lookup top_level_string(std::string_view text, std::string_view name, std::string* value);
};

}  // namespace record
}  // namespace experiture
