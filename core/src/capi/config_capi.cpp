// experiture_config_*: a builder over experiture::Config.
#include <cstring>

#include "capi/c_callbacks.hpp"
#include "capi/capi_guard.hpp"
#include "capi/capi_types.hpp"
#include "json/json.hpp"

namespace experiture {
namespace capi {
namespace {

template <typename F>
experiture_status_t with_config(experiture_config_t* config, F&& f) {
  return guarded([&] {
    if (config == nullptr) return Status(Code::kInvalidArgument, "config is NULL");
    return f(config->config);
  });
}

Status non_negative(int64_t value, const char* name) {
  if (value < 0) return Status(Code::kInvalidArgument, std::string(name) + " must be >= 0");
  return Status::ok();
}

// Parses a JSON array of non-empty strings.
Status parse_keys(const char* data, size_t length, std::vector<std::string>* keys) {
  std::string_view view;
  if (!to_view(data, length, &view)) return bad_string("keys_json");
  json::Value doc;
  if (!json::parse(view, &doc) || !doc.is_array()) {
    return Status(Code::kInvalidArgument, "keys_json must be a JSON array of field names");
  }
  keys->clear();
  for (const json::Value& key : doc.elements()) {
    if (!key.is_string() || key.text().empty()) {
      return Status(Code::kInvalidArgument, "keys_json must hold only non-empty strings");
    }
    keys->push_back(key.text());
  }
  return Status::ok();
}

// Versions above this are not a table this or any later library defines: uninitialised memory.
constexpr uint32_t kMaxTableVersion = 0xFFFF;

// The bytes of a table of `version` that this library knows: every member of every version up to
// the newest it was built with, never more (a newer caller's table is longer; an older one is
// shorter). Only version 1 exists; when a version 2 appends members, version 1 maps to the
// offset of the first appended member.
template <typename Table>
size_t known_table_size(uint32_t version) {
  return version >= 1 ? sizeof(Table) : 0;
}

// Installs a callback table: user_data is taken even when this fails. The table is copied by
// version (never the caller's whole struct) before anything else reads it.
template <typename Table, typename Apply>
experiture_status_t set_table(experiture_config_t* config, const Table* table, Apply apply) {
  if (table == nullptr) {
    return with_config(config, [&](Config& c) {
      apply(c, nullptr);
      return Status::ok();
    });
  }
  uint32_t version = 0;
  std::memcpy(&version, table, sizeof version);  // `version` is the first member of every table
  Table copy{};
  // destroy and user_data belong to version 1, so a refused table is still released.
  std::memcpy(static_cast<void*>(&copy), table,
              version >= 1 ? known_table_size<Table>(version) : sizeof(Table));
  const char* problem = nullptr;
  if (config == nullptr) {
    problem = "config is NULL";
  } else if (version == 0) {
    problem = "callback table: version 0 (set version to the EXPERITURE_*_VERSION of the header)";
  } else if (version > kMaxTableVersion) {
    problem = "callback table: version is not a table version (an uninitialised struct?)";
  } else if (!is_valid(copy)) {
    problem = "callback table: a required member is NULL";
  }
  if (problem != nullptr) {
    if (copy.destroy != nullptr) copy.destroy(copy.user_data);
    return fail(EXPERITURE_INVALID_ARGUMENT, problem);
  }
  return with_config(config, [&](Config& c) {
    apply(c, &copy);
    return Status::ok();
  });
}

}  // namespace
}  // namespace capi
}  // namespace experiture

using experiture::Code;
using experiture::Config;
using experiture::Status;
namespace capi = experiture::capi;

extern "C" {

EXPERITURE_API experiture_status_t experiture_config_new(experiture_config_t** config_out) {
  return capi::guarded([&] {
    if (config_out == nullptr) return Status(Code::kInvalidArgument, "config_out is NULL");
    *config_out = new experiture_config_t();
    return Status::ok();
  });
}

EXPERITURE_API void experiture_config_free(experiture_config_t* config) {
  capi::guarded([&] {
    delete config;
    return Status::ok();
  });
}

// The setters of the STRING, BYTES, SIZE, MS and FLAG rows of config_options.inc, made from the
// table; the other kinds are written out below.
#define EXPERITURE_CONFIG_OPTION(name, kind, member, default_text, java, swift, doc) \
  EXPERITURE_CAPI_SETTER_##kind(name, member)
#define EXPERITURE_CAPI_SETTER_STRING(name, member)                             \
  EXPERITURE_API experiture_status_t experiture_config_set_##name(              \
      experiture_config_t* config, const char* value, size_t length) {          \
    return capi::with_config(config, [&](Config& c) {                           \
      std::string_view view;                                                    \
      if (!capi::to_view(value, length, &view)) return capi::bad_string(#name); \
      c.member = std::string(view);                                             \
      return Status::ok();                                                      \
    });                                                                         \
  }
#define EXPERITURE_CAPI_SETTER_BYTES(name, member)                        \
  EXPERITURE_API experiture_status_t experiture_config_set_##name(        \
      experiture_config_t* config, const void* value, size_t length) {    \
    return capi::with_config(config, [&](Config& c) {                     \
      if (value == nullptr && length > 0) return capi::bad_string(#name); \
      c.member.assign(static_cast<const char*>(value), length);           \
      return Status::ok();                                                \
    });                                                                   \
  }
#define EXPERITURE_CAPI_SETTER_SIZE(name, member)                                              \
  EXPERITURE_API experiture_status_t experiture_config_set_##name(experiture_config_t* config, \
                                                                  size_t value) {              \
    return capi::with_config(config, [&](Config& c) {                                          \
      c.member = value;                                                                        \
      return Status::ok();                                                                     \
    });                                                                                        \
  }
#define EXPERITURE_CAPI_SETTER_MS(name, member)                                                \
  EXPERITURE_API experiture_status_t experiture_config_set_##name(experiture_config_t* config, \
                                                                  int64_t value) {             \
    return capi::with_config(config, [&](Config& c) {                                          \
      Status s = capi::non_negative(value, #name);                                             \
      if (s.is_ok()) c.member = value;                                                         \
      return s;                                                                                \
    });                                                                                        \
  }
#define EXPERITURE_CAPI_SETTER_FLAG(name, member)                                              \
  EXPERITURE_API experiture_status_t experiture_config_set_##name(experiture_config_t* config, \
                                                                  int value) {                 \
    return capi::with_config(config, [&](Config& c) {                                          \
      c.member = value != 0;                                                                   \
      return Status::ok();                                                                     \
    });                                                                                        \
  }
#define EXPERITURE_CAPI_SETTER_CONSENT(name, member)
#define EXPERITURE_CAPI_SETTER_KEYS(name, member)
#define EXPERITURE_CAPI_SETTER_OBJECT_KEYS(name, member)
#define EXPERITURE_CAPI_SETTER_RETRY(name, member)
#define EXPERITURE_CAPI_SETTER_TABLE(name, member)
#include "experiture/config_options.inc"
#undef EXPERITURE_CONFIG_OPTION

EXPERITURE_API experiture_status_t
experiture_config_set_initial_consent(experiture_config_t* config, experiture_consent_t consent) {
  const auto value = capi::enum_as_integer(consent);
  return capi::with_config(config, [&](Config& c) {
    if (value < EXPERITURE_CONSENT_STATE_UNKNOWN || value > EXPERITURE_CONSENT_STATE_DENIED) {
      return Status(Code::kInvalidArgument, "consent: unknown value");
    }
    c.initial_consent = static_cast<experiture::Consent>(value);
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_default_identity_keys(
    experiture_config_t* config, const char* keys_json, size_t length) {
  return capi::with_config(config, [&](Config& c) {
    std::vector<std::string> keys;
    Status s = capi::parse_keys(keys_json, length, &keys);
    if (s.is_ok()) c.default_identity_keys = std::move(keys);
    return s;
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_identity_keys(experiture_config_t* config,
                                                                       const char* object,
                                                                       size_t object_length,
                                                                       const char* keys_json,
                                                                       size_t keys_length) {
  return capi::with_config(config, [&](Config& c) {
    std::string_view name;
    if (!capi::to_view(object, object_length, &name)) return capi::bad_string("object");
    if (name.empty()) return Status(Code::kInvalidArgument, "object must not be empty");
    std::vector<std::string> keys;
    Status s = capi::parse_keys(keys_json, keys_length, &keys);
    if (s.is_ok()) c.identity_keys[std::string(name)] = std::move(keys);
    return s;
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_retry_policy(experiture_config_t* config,
                                                                      int64_t base_ms,
                                                                      double factor,
                                                                      int64_t cap_ms) {
  return capi::with_config(config, [&](Config& c) {
    if (base_ms < 0 || cap_ms < 0 || !(factor >= 1.0)) {
      return Status(Code::kInvalidArgument,
                    "retry policy: base_ms and cap_ms must be >= 0 and factor >= 1");
    }
    c.retry.base_ms = base_ms;
    c.retry.factor = factor;
    c.retry.cap_ms = cap_ms;
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_http_client(
    experiture_config_t* config, const experiture_http_client_t* table) {
  return capi::set_table(config, table, [](Config& c, const experiture_http_client_t* t) {
    c.http = t != nullptr ? capi::make_http_client(*t) : nullptr;
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_logger(experiture_config_t* config,
                                                                const experiture_logger_t* table) {
  return capi::set_table(config, table, [](Config& c, const experiture_logger_t* t) {
    c.logger = t != nullptr ? capi::make_logger(*t) : nullptr;
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_token_provider(
    experiture_config_t* config, const experiture_token_provider_t* table) {
  return capi::set_table(config, table, [](Config& c, const experiture_token_provider_t* t) {
    c.token_provider = t != nullptr ? capi::make_token_provider(*t) : nullptr;
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_phone_normalizer(
    experiture_config_t* config, const experiture_phone_normalizer_t* table) {
  return capi::set_table(config, table, [](Config& c, const experiture_phone_normalizer_t* t) {
    c.phone_normalizer = t != nullptr ? capi::make_phone_normalizer(*t) : nullptr;
  });
}

EXPERITURE_API experiture_status_t experiture_config_set_delivery_listener(
    experiture_config_t* config, const experiture_delivery_listener_t* table) {
  return capi::set_table(config, table, [](Config& c, const experiture_delivery_listener_t* t) {
    c.listener = t != nullptr ? capi::make_delivery_listener(*t) : nullptr;
  });
}

}  // extern "C"
