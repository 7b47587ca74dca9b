// experiture_client_*: the C face of experiture::Client.

#include "capi/capi_guard.hpp"
#include "capi/capi_types.hpp"
#include "json/json.hpp"
#include "record/utf8.hpp"

namespace experiture {
namespace capi {
namespace {

// Runs f(Client&) unless the handle is NULL or closed.
template <typename F>
experiture_status_t with_client(experiture_client_t* client, F&& f) {
  return guarded([&] {
    if (client == nullptr) return Status(Code::kInvalidArgument, "client is NULL");
    if (client->closed.load()) return Status(Code::kClosed, "the client is closed");
    return f(*client->client);
  });
}

// A pointer + length text argument: NULL with a length, or bytes that are not UTF-8, name the
// argument in an INVALID_ARGUMENT status.
Status text_arg(const char* data, size_t length, std::string_view* out, const char* name) {
  if (!to_view(data, length, out)) return bad_string(name);
  if (!record::is_valid_utf8(*out)) {
    return Status(Code::kInvalidArgument, std::string(name) + ": not valid UTF-8");
  }
  return Status::ok();
}

const char* consent_name(Consent consent) {
  switch (consent) {
    case Consent::kGranted:
      return "granted";
    case Consent::kDenied:
      return "denied";
    case Consent::kUnknown:
      return "unknown";
  }
  return "unknown";
}

json::Value stats_json(const Stats& s) {
  using json::number;
  return json::Value::object(
      {{"accepted", number(s.accepted)},
       {"pending_durable", number(s.pending_durable)},
       {"queued_records", number(s.queued_records)},
       {"queued_bytes", number(s.queued_bytes)},
       {"oldest_queued_age_ms", number(s.oldest_queued_age_ms)},
       {"in_flight", number(s.in_flight)},
       {"delivered", number(s.delivered)},
       {"dead_letters", number(s.dead_letters)},
       {"dropped_queue_full", number(s.dropped_queue_full)},
       {"dropped_evicted", number(s.dropped_evicted)},
       {"dropped_consent", number(s.dropped_consent)},
       {"dropped_dead_letter_overflow", number(s.dropped_dead_letter_overflow)},
       {"pause_reason", s.pause_reason},
       {"last_error", s.last_error},
       {"last_delivery_error", s.last_delivery_error},
       {"last_delivery_error_at_ms", number(s.last_delivery_error_at_ms)},
       {"last_storage_error", s.last_storage_error},
       {"last_storage_error_at_ms", number(s.last_storage_error_at_ms)},
       {"last_pause_reason", s.last_pause_reason},
       {"consecutive_failures", number(s.consecutive_failures)},
       {"next_attempt_at_ms", number(s.next_attempt_at_ms)},
       {"last_success_at_ms", number(s.last_success_at_ms)},
       {"consent", consent_name(s.consent)},
       {"device_id", s.device_id},
       {"delivery_owner_pid", number(s.delivery_owner_pid)},
       {"damage_salvaged", number(s.damage_salvaged)},
       {"damage_lost", number(s.damage_lost)},
       {"last_damage", s.last_damage}});
}

json::Value dead_letter_json(const DeadLetter& d) {
  json::Value record;
  if (!json::parse(d.record, &record))
    record = d.record;  // stored text that is not JSON stays visible
  return json::Value::object({{"id", json::number(d.id)},
                              {"object", d.object},
                              {"match_key", d.match_key},
                              {"record", std::move(record)},
                              {"http_status", json::number(d.http_status)},
                              {"code", d.code},
                              {"message", d.message},
                              {"correlation_id", d.correlation_id},
                              {"failed_at_ms", json::number(d.failed_at_ms)}});
}

// Record texts from apps may hold invalid UTF-8 in error messages: dump() writes U+FFFD for it.
std::string dump(const json::Value& doc) {
  return doc.dump();
}

}  // namespace
}  // namespace capi
}  // namespace experiture

using experiture::Client;
using experiture::Code;
using experiture::Status;
namespace capi = experiture::capi;

extern "C" {

EXPERITURE_API const char* experiture_version(void) {
  return experiture::sdk_version();
}

EXPERITURE_API experiture_status_t experiture_client_open(const experiture_config_t* config,
                                                          experiture_client_t** client_out) {
  return capi::guarded([&] {
    if (client_out == nullptr) return Status(Code::kInvalidArgument, "client_out is NULL");
    *client_out = nullptr;
    if (config == nullptr) return Status(Code::kInvalidArgument, "config is NULL");
    auto opened = Client::open(config->config);
    if (!opened.is_ok()) return opened.status();
    auto handle = std::make_unique<experiture_client_t>();
    handle->client = std::move(opened).value();
    *client_out = handle.release();
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_close(experiture_client_t* client,
                                                           int64_t timeout_ms) {
  return capi::guarded([&] {
    if (client == nullptr) return Status::ok();
    client->closed.store(true);
    return client->client->close(timeout_ms);
  });
}

EXPERITURE_API void experiture_client_free(experiture_client_t* client) {
  capi::guarded([&] {
    delete client;  // ~Client closes with the default timeout when still open
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_upsert(
    experiture_client_t* client, const char* object, size_t object_length, const char* record_json,
    size_t record_length, const char* match_key, size_t match_key_length) {
  return capi::with_client(client, [&](Client& c) {
    std::string_view o, r, k;
    Status status = capi::text_arg(object, object_length, &o, "object");
    if (status.is_ok()) status = capi::text_arg(match_key, match_key_length, &k, "match_key");
    if (!status.is_ok()) return status;
    if (!capi::to_view(record_json, record_length, &r)) return capi::bad_string("record_json");
    return c.upsert(o, r, k);
  });
}

EXPERITURE_API experiture_status_t experiture_client_append(experiture_client_t* client,
                                                            const char* object,
                                                            size_t object_length,
                                                            const char* record_json,
                                                            size_t record_length) {
  return capi::with_client(client, [&](Client& c) {
    std::string_view o, r;
    Status status = capi::text_arg(object, object_length, &o, "object");
    if (!status.is_ok()) return status;
    if (!capi::to_view(record_json, record_length, &r)) return capi::bad_string("record_json");
    return c.append(o, r);
  });
}

EXPERITURE_API experiture_status_t experiture_client_login(experiture_client_t* client,
                                                           const char* email, size_t email_length,
                                                           const char* customer_id,
                                                           size_t customer_id_length,
                                                           const char* phone, size_t phone_length) {
  return capi::with_client(client, [&](Client& c) {
    std::string_view e, id, p;
    Status status = capi::text_arg(email, email_length, &e, "email");
    if (status.is_ok())
      status = capi::text_arg(customer_id, customer_id_length, &id, "customer_id");
    if (status.is_ok()) status = capi::text_arg(phone, phone_length, &p, "phone");
    if (!status.is_ok()) return status;
    experiture::LoginInfo info;
    info.email = std::string(e);
    info.customer_id = std::string(id);
    info.phone = std::string(p);
    return c.login(info);
  });
}

EXPERITURE_API experiture_status_t experiture_client_logout(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) { return c.logout(); });
}

EXPERITURE_API experiture_status_t experiture_client_set_push_token(experiture_client_t* client,
                                                                    const char* token,
                                                                    size_t length) {
  return capi::with_client(client, [&](Client& c) {
    std::string_view t;
    Status status = capi::text_arg(token, length, &t, "token");
    if (!status.is_ok()) return status;
    return c.set_push_token(t);
  });
}

EXPERITURE_API experiture_status_t experiture_client_device_id(experiture_client_t* client,
                                                               char** id_out, size_t* length_out) {
  if (id_out != nullptr) *id_out = nullptr;
  return capi::with_client(
      client, [&](Client& c) { return capi::copy_out(c.device_id(), id_out, length_out); });
}

EXPERITURE_API experiture_status_t experiture_client_set_consent(experiture_client_t* client,
                                                                 experiture_consent_t consent) {
  const auto value = capi::enum_as_integer(consent);
  return capi::with_client(client, [&](Client& c) {
    if (value < EXPERITURE_CONSENT_STATE_UNKNOWN || value > EXPERITURE_CONSENT_STATE_DENIED) {
      return Status(Code::kInvalidArgument, "consent: unknown value");
    }
    return c.set_consent(static_cast<experiture::Consent>(value));
  });
}

EXPERITURE_API experiture_status_t experiture_client_consent(experiture_client_t* client,
                                                             experiture_consent_t* consent_out) {
  return capi::with_client(client, [&](Client& c) {
    if (consent_out == nullptr) return Status(Code::kInvalidArgument, "consent_out is NULL");
    *consent_out = static_cast<experiture_consent_t>(c.consent());
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_persist(experiture_client_t* client,
                                                             int64_t timeout_ms) {
  return capi::with_client(client, [&](Client& c) { return c.persist(timeout_ms); });
}

EXPERITURE_API experiture_status_t experiture_client_flush(experiture_client_t* client,
                                                           int64_t timeout_ms) {
  return capi::with_client(client, [&](Client& c) { return c.flush(timeout_ms); });
}

EXPERITURE_API experiture_status_t experiture_client_pump(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) { return c.pump(); });
}

EXPERITURE_API experiture_status_t experiture_client_on_background(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) {
    c.on_background();
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_on_foreground(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) {
    c.on_foreground();
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_set_online(experiture_client_t* client,
                                                                int online) {
  return capi::with_client(client, [&](Client& c) {
    c.set_online(online != 0);
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_pause(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) {
    c.pause();
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_resume(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) {
    c.resume();
    return Status::ok();
  });
}

EXPERITURE_API experiture_status_t experiture_client_stats(experiture_client_t* client,
                                                           char** json_out, size_t* length_out) {
  if (json_out != nullptr) *json_out = nullptr;
  return capi::with_client(client, [&](Client& c) {
    return capi::copy_out(capi::dump(capi::stats_json(c.stats())), json_out, length_out);
  });
}

EXPERITURE_API experiture_status_t experiture_client_dead_letters(experiture_client_t* client,
                                                                  size_t limit, char** json_out,
                                                                  size_t* length_out) {
  if (json_out != nullptr) *json_out = nullptr;
  return capi::with_client(client, [&](Client& c) {
    if (json_out == nullptr) return Status(Code::kInvalidArgument, "json_out is NULL");
    auto letters = c.dead_letters(limit);
    if (!letters.is_ok()) return letters.status();
    experiture::json::Value list = experiture::json::Value::array();
    for (const auto& letter : letters.value()) list.push_back(capi::dead_letter_json(letter));
    return capi::copy_out(capi::dump(list), json_out, length_out);
  });
}

EXPERITURE_API experiture_status_t
experiture_client_retry_dead_letters(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) { return c.retry_dead_letters(); });
}

EXPERITURE_API experiture_status_t
experiture_client_purge_dead_letters(experiture_client_t* client) {
  return capi::with_client(client, [&](Client& c) { return c.purge_dead_letters(); });
}

}  // extern "C"
