#include "schema.hpp"

#include <algorithm>

#include "emulated_clock.hpp"

namespace experiture {
namespace emulator {

namespace {

const std::pair<const char*, FieldType> kTypeNames[] = {
    {"string", FieldType::kString},   {"email", FieldType::kEmail},
    {"phone", FieldType::kPhone},     {"datetime", FieldType::kDatetime},
    {"number", FieldType::kNumber},   {"integer", FieldType::kInteger},
    {"boolean", FieldType::kBoolean}, {"object", FieldType::kObject},
    {"array", FieldType::kArray},     {"any", FieldType::kAny}};

bool parse_type(const std::string& name, FieldType* out) {
  for (const auto& entry : kTypeNames) {
    if (name == entry.first) {
      *out = entry.second;
      return true;
    }
  }
  return false;
}

// local@domain.tld: no spaces, one '@', a dot-separated domain without empty labels.
// Hand-written rather than std::regex: validation runs for every record of every batch.
bool valid_email(const std::string& text) {
  size_t at = text.find('@');
  if (text.size() > 320 || at == 0 || at == std::string::npos) return false;
  if (text.find('@', at + 1) != std::string::npos) return false;
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ') return false;
  }
  std::string domain = text.substr(at + 1);
  if (domain.empty() || domain.front() == '.' || domain.back() == '.') return false;
  if (domain.find("..") != std::string::npos) return false;
  return domain.find('.') != std::string::npos;
}

// E.164: '+', a non-zero digit, 7 to 15 digits in all.
bool valid_phone(const std::string& text) {
  if (text.size() < 8 || text.size() > 16 || text[0] != '+' || text[1] < '1' || text[1] > '9') {
    return false;
  }
  for (size_t i = 2; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

FieldError make_error(int status, const char* code, const std::string& path,
                      const std::string& rule, const nlohmann::json& value) {
  FieldError error;
  error.status = status;
  error.code = code;
  error.path = path;
  error.message = path + ": " + rule;
  error.value = value;
  return error;
}

}  // namespace

const char* field_type_name(FieldType type) {
  for (const auto& entry : kTypeNames) {
    if (entry.second == type) return entry.first;
  }
  return "any";
}

bool ObjectSchema::is_identity_key(const std::string& field) const {
  return std::find(identity_keys.begin(), identity_keys.end(), field) != identity_keys.end();
}

Schema Schema::default_schema() {
  Schema schema;
  ObjectSchema profiles;
  profiles.identity_keys = {"email",     "customer_id",  "phone",
                            "device_id", "anonymous_id", "external_id"};
  const std::pair<const char*, FieldType> profile_fields[] = {
      {"email", FieldType::kEmail},
      {"customer_id", FieldType::kString},
      {"phone", FieldType::kPhone},
      {"device_id", FieldType::kString},
      {"anonymous_id", FieldType::kString},
      {"external_id", FieldType::kString},
      {"push_token", FieldType::kString},
      {"first_name", FieldType::kString},
      {"last_name", FieldType::kString},
      {"tier", FieldType::kString},
      {"platform", FieldType::kString},
      {"sdk_version", FieldType::kString},
      {"app_version", FieldType::kString},
      {"os_version", FieldType::kString},
      {"device_model", FieldType::kString},
      {"locale", FieldType::kString},
      {"timezone", FieldType::kString},
      {"country", FieldType::kString},
      {"city", FieldType::kString},
      {"last_seen_at", FieldType::kDatetime},
      {"last_login_at", FieldType::kDatetime},
      {"last_order_at", FieldType::kDatetime},
      {"created_at", FieldType::kDatetime},
      {"updated_at", FieldType::kDatetime},
      {"email_opt_in", FieldType::kBoolean},
      {"push_opt_in", FieldType::kBoolean},
      {"sms_opt_in", FieldType::kBoolean},
      {"lifetime_value", FieldType::kNumber},
      {"order_count", FieldType::kInteger},
      {"attributes", FieldType::kObject},
      {"tags", FieldType::kArray}};
  for (const auto& field : profile_fields) profiles.fields[field.first] = field.second;
  schema.objects_["profiles"] = profiles;

  ObjectSchema events;
  const std::pair<const char*, FieldType> event_fields[] = {
      {"event", FieldType::kString},         {"event_name", FieldType::kString},
      {"event_id", FieldType::kString},      {"event_type", FieldType::kString},
      {"occurred_at", FieldType::kDatetime}, {"timestamp", FieldType::kDatetime},
      {"sent_at", FieldType::kDatetime},     {"properties", FieldType::kObject},
      {"context", FieldType::kObject},       {"email", FieldType::kEmail},
      {"customer_id", FieldType::kString},   {"phone", FieldType::kPhone},
      {"device_id", FieldType::kString},     {"anonymous_id", FieldType::kString},
      {"external_id", FieldType::kString},   {"session_id", FieldType::kString},
      {"platform", FieldType::kString},      {"sdk_version", FieldType::kString},
      {"app_version", FieldType::kString},   {"value", FieldType::kNumber},
      {"currency", FieldType::kString},      {"sequence", FieldType::kInteger}};
  for (const auto& field : event_fields) events.fields[field.first] = field.second;
  schema.objects_["events"] = events;
  return schema;
}

bool Schema::from_json(const nlohmann::json& doc, Schema* out, std::string* error) {
  if (!doc.is_object() || !doc.contains("objects") || !doc["objects"].is_object()) {
    *error = "schema must be {\"objects\":{...}}";
    return false;
  }
  Schema schema;
  for (const auto& item : doc["objects"].items()) {
    const nlohmann::json& spec = item.value();
    if (!spec.is_object() || !spec.contains("fields") || !spec["fields"].is_object()) {
      *error = "objects." + item.key() + ".fields must be an object";
      return false;
    }
    ObjectSchema object;
    for (const auto& field : spec["fields"].items()) {
      FieldType type;
      if (!field.value().is_string() || !parse_type(field.value().get<std::string>(), &type)) {
        *error = "objects." + item.key() + ".fields." + field.key() + ": unknown type";
        return false;
      }
      object.fields[field.key()] = type;
    }
    if (spec.contains("identityKeys")) {
      if (!spec["identityKeys"].is_array()) {
        *error = "objects." + item.key() + ".identityKeys must be an array";
        return false;
      }
      for (const auto& key : spec["identityKeys"]) {
        if (!key.is_string() || object.fields.count(key.get<std::string>()) == 0) {
          *error = "objects." + item.key() + ".identityKeys: each must name a field";
          return false;
        }
        object.identity_keys.push_back(key.get<std::string>());
      }
    }
    schema.objects_[item.key()] = object;
  }
  *out = schema;
  return true;
}

nlohmann::json Schema::to_json() const {
  nlohmann::json objects = nlohmann::json::object();
  for (const auto& item : objects_) {
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& field : item.second.fields)
      fields[field.first] = field_type_name(field.second);
    objects[item.first] = {{"identityKeys", item.second.identity_keys}, {"fields", fields}};
  }
  return {{"objects", objects}};
}

nlohmann::json Schema::object_metadata(const std::string& object) const {
  const ObjectSchema* spec = find(object);
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& field : spec->fields) {
    fields.push_back({{"name", field.first},
                      {"type", field_type_name(field.second)},
                      {"identity", spec->is_identity_key(field.first)}});
  }
  return {{"objectName", object}, {"fields", fields}, {"identityKeys", spec->identity_keys}};
}

const ObjectSchema* Schema::find(const std::string& object) const {
  auto it = objects_.find(object);
  return it == objects_.end() ? nullptr : &it->second;
}

bool Schema::check_record(const ObjectSchema& object, const nlohmann::json& record,
                          const std::string& path_prefix, FieldError* error) const {
  static const char* const kInvalid = "CDP_ETL.VALIDATION.REQUEST_INVALID";
  if (!record.is_object()) {
    *error = make_error(400, kInvalid, path_prefix, "record must be a JSON object", nullptr);
    return false;
  }
  if (record.empty()) {
    *error = make_error(400, kInvalid, path_prefix, "record must not be empty", record);
    return false;
  }
  for (const auto& item : record.items()) {
    const std::string path = path_prefix + "." + item.key();
    auto field = object.fields.find(item.key());
    if (field == object.fields.end()) {
      *error = make_error(422, "CDP_ETL.VALIDATION.REQUEST_SCHEMA", path,
                          "unknown field '" + item.key() + "'", item.value());
      return false;
    }
    const nlohmann::json& value = item.value();
    if (value.is_null()) continue;
    bool ok = true;
    std::string rule;
    switch (field->second) {
      case FieldType::kString:
        ok = value.is_string();
        rule = "must be a string";
        break;
      case FieldType::kEmail:
        ok = value.is_string() && valid_email(value.get<std::string>());
        rule = "invalid email format";
        break;
      case FieldType::kPhone:
        ok = value.is_string() && valid_phone(value.get<std::string>());
        rule = "invalid phone format (E.164 required)";
        break;
      case FieldType::kDatetime:
        ok = value.is_string() && EmulatedClock::parse_iso8601(value.get<std::string>(), nullptr);
        rule = "invalid datetime (ISO 8601 with a zone required)";
        break;
      case FieldType::kNumber:
        ok = value.is_number();
        rule = "must be a number";
        break;
      case FieldType::kInteger:
        ok = value.is_number_integer();
        rule = "must be an integer";
        break;
      case FieldType::kBoolean:
        ok = value.is_boolean();
        rule = "must be a boolean";
        break;
      case FieldType::kObject:
        ok = value.is_object();
        rule = "must be an object";
        break;
      case FieldType::kArray:
        ok = value.is_array();
        rule = "must be an array";
        break;
      case FieldType::kAny:
        break;
    }
    if (!ok) {
      *error = make_error(400, kInvalid, path, rule, value);
      return false;
    }
  }
  return true;
}

}  // namespace emulator
}  // namespace experiture
