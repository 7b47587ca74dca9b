// The workspace schema the emulator validates against: objects, their typed fields and the
// identity keys usable as matchKey. Loaded from JSON (--schema, POST /_emulator/schema) or the
// built-in default (profiles + events).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace experiture {
namespace emulator {

enum class FieldType {
  kString,
  kEmail,
  kPhone,
  kDatetime,
  kNumber,
  kInteger,
  kBoolean,
  kObject,
  kArray,
  kAny
};

struct ObjectSchema {
  std::map<std::string, FieldType> fields;
  std::vector<std::string> identity_keys;  // in priority order
  bool is_identity_key(const std::string& field) const;
};

// A problem with one field of one record: HTTP status (400 or 422), CDP code, message, path.
struct FieldError {
  int status = 400;
  std::string code;
  std::string message;
  std::string path;
  nlohmann::json value;
};

class Schema {
 public:
  // The default schema: `profiles` (identity keys email, customer_id, phone, device_id,
  // anonymous_id, external_id) and `events` (append-only, no identity keys).
  static Schema default_schema();
  // Parses {"objects":{"<name>":{"identityKeys":[...],"fields":{"<field>":"<type>"}}}}.
  // Types: string, email, phone, datetime, number, integer, boolean, object, array, any.
  // Returns false and sets *error when malformed.
  static bool from_json(const nlohmann::json& doc, Schema* out, std::string* error);
  nlohmann::json to_json() const;
  // The /metadata/objects/{object} payload.
  nlohmann::json object_metadata(const std::string& object) const;

  const ObjectSchema* find(const std::string& object) const;

  // Checks one record (an object) of `object`; path_prefix is "record" or "records[i]".
  // Returns true when valid, else fills *error with the first problem found.
  bool check_record(const ObjectSchema& object, const nlohmann::json& record,
                    const std::string& path_prefix, FieldError* error) const;

 private:
  std::map<std::string, ObjectSchema> objects_;
};

const char* field_type_name(FieldType type);

}  // namespace emulator
}  // namespace experiture
