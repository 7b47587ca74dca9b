/* The C ABI of the Experiture SDK: the only header bindings (Java, Swift, plain C) see.
 *
 * Conventions (docs/contributing.md):
 * - Strings cross as pointer + length in UTF-8, never NUL-terminated by contract. A NULL pointer
 *   with length 0 is the empty string (or "absent" where documented); NULL with a length > 0 is
 *   EXPERITURE_INVALID_ARGUMENT.
 * - Every function returns an experiture_status_t (or documents what it returns instead) and never
 *   crashes on NULL arguments; no C++ exception ever crosses this boundary (a caught one is
 *   EXPERITURE_INTERNAL).
 * - Pointer parameters are marked BORROWED (read during the call only; the caller keeps
 *   ownership), TAKEN (the SDK owns it from the call on, also when the call fails) or
 *   RETURNED-OWNED (the caller frees it, with the function named there).
 * - After a failed call, experiture_last_error() on the same thread says why (names the field
 *   and the rule).
 * - Threads: every experiture_client_* function may be called from any thread. Only the calls
 *   named as waiting (open, persist, flush, close, dead letters) block, each bounded by a timeout
 *   or by one round trip to the client's store thread. Inside the client's own callbacks nothing
 *   waits for that thread: persist, flush and pump return EXPERITURE_WRONG_STATE at once, dead
 *   letters run in place, close returns at once (see experiture_client_close).
 * - Callback tables (HTTP client, logger, token provider, delivery listener, phone normaliser)
 *   are versioned
 *   structs: `version` first, members only ever appended, optional members may be NULL, each with
 *   `user_data` and an optional `destroy(user_data)` the SDK calls exactly once when it no longer
 *   needs the table (also when the setter or open fails). */
#ifndef EXPERITURE_H
#define EXPERITURE_H

#include <stddef.h>
#include <stdint.h>

#include "experiture/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ---------------------------------------------------------------------------------
 * Mirrors experiture::Code exactly; values are append-only. */
typedef enum experiture_status_t {
  EXPERITURE_OK = 0,
  EXPERITURE_INVALID_ARGUMENT = 1,
  EXPERITURE_INVALID_JSON = 2,
  EXPERITURE_RECORD_NOT_OBJECT = 3,
  EXPERITURE_RECORD_EMPTY = 4,
  EXPERITURE_MATCH_KEY_MISSING = 5,
  EXPERITURE_MATCH_KEY_NULL = 6,
  EXPERITURE_MATCH_KEY_NOT_STRING = 7,
  EXPERITURE_MATCH_KEY_NOT_IDENTITY = 8,
  EXPERITURE_RECORD_TOO_LARGE = 9,
  EXPERITURE_INVALID_EMAIL = 10,
  EXPERITURE_INVALID_PHONE = 11,
  EXPERITURE_TIMESTAMP_WITHOUT_ZONE = 12,
  EXPERITURE_QUEUE_FULL = 13,
  EXPERITURE_CONSENT_DENIED = 14,
  EXPERITURE_CLOSED = 15,
  EXPERITURE_TIMEOUT = 16,
  EXPERITURE_STORAGE_ERROR = 17,
  EXPERITURE_STORAGE_FULL = 18,
  EXPERITURE_STORAGE_RECOVERED = 19,
  EXPERITURE_NOT_FOUND = 20,
  EXPERITURE_INVALID_CONFIG = 21,
  EXPERITURE_NETWORK_ERROR = 22,
  EXPERITURE_UNAUTHORIZED = 23,
  EXPERITURE_FORBIDDEN = 24,
  EXPERITURE_PAUSED = 25,
  EXPERITURE_REJECTED = 26,
  EXPERITURE_WRONG_STATE = 27,
  EXPERITURE_INTERNAL = 28
} experiture_status_t;

/* Stable upper-case name of a status ("RECORD_NOT_OBJECT"); "UNKNOWN" for values this version
 * does not know. Never NULL; returns a static string. Any thread. */
EXPERITURE_API const char* experiture_status_name(experiture_status_t status);

/* The message of the last failed experiture_* call made on the calling thread, NUL-terminated,
 * "" after a call that succeeded. RETURNED BORROWED: valid until the calling thread's next
 * experiture_* call. `length` (optional, may be NULL) receives its length in bytes. Thread-safe:
 * each thread has its own. Never NULL. */
EXPERITURE_API const char* experiture_last_error(size_t* length);

/* The SDK version, e.g. "0.1.0". Static string. */
EXPERITURE_API const char* experiture_version(void);

/* Frees a string the SDK returned as RETURNED-OWNED. NULL is a no-op. */
EXPERITURE_API void experiture_string_free(char* string);

typedef enum experiture_consent_t {
  EXPERITURE_CONSENT_STATE_UNKNOWN = 0,
  EXPERITURE_CONSENT_STATE_GRANTED = 1,
  EXPERITURE_CONSENT_STATE_DENIED = 2
} experiture_consent_t;

/* ---- platform seams as versioned function tables -------------------------------------------- */

typedef struct experiture_http_header_t {
  const char* name; /* UTF-8 */
  size_t name_length;
  const char* value; /* UTF-8 (bytes sent as they are) */
  size_t value_length;
} experiture_http_header_t;

/* Passed BORROWED to send(): valid during the send() call only; copy what you keep. */
typedef struct experiture_http_request_t {
  const char* method;
  size_t method_length;
  const char* url;
  size_t url_length;
  const experiture_http_header_t* headers;
  size_t header_count;
  const char* body; /* may contain NUL bytes */
  size_t body_length;
  int64_t timeout_ms; /* total time for the exchange */
} experiture_http_request_t;

/* Why a request produced no HTTP status (mirrors experiture::platform::TransportError). */
typedef enum experiture_transport_error_t {
  EXPERITURE_TRANSPORT_NONE = 0,
  EXPERITURE_TRANSPORT_CONNECT = 1,
  EXPERITURE_TRANSPORT_TIMEOUT = 2,
  EXPERITURE_TRANSPORT_TLS = 3,
  EXPERITURE_TRANSPORT_PINNING = 4,
  EXPERITURE_TRANSPORT_RESET = 5,
  EXPERITURE_TRANSPORT_CANCELLED = 6,
  EXPERITURE_TRANSPORT_OTHER = 7,
  EXPERITURE_TRANSPORT_DNS = 8 /* the host name did not resolve */
} experiture_transport_error_t;

/* Passed BORROWED to experiture_http_complete(); the SDK copies it. */
typedef struct experiture_http_response_t {
  int status;                              /* 0 when error != EXPERITURE_TRANSPORT_NONE */
  const experiture_http_header_t* headers; /* names are lower-cased by the SDK */
  size_t header_count;
  const char* body;
  size_t body_length;
  int error;                 /* an experiture_transport_error_t */
  const char* error_message; /* transport detail; must never contain the Authorization header */
  size_t error_message_length;
} experiture_http_response_t;

/* One request's completion handle: opaque, owned by the implementation from send() until it
 * passes it to experiture_http_complete(), exactly once, from any thread (also from inside
 * send(), also after cancel_all() and after destroy(): a handle whose client is gone is just
 * freed). */
typedef struct experiture_http_completion_t experiture_http_completion_t;

#define EXPERITURE_HTTP_CLIENT_VERSION 1

/* An asynchronous HTTP client (the platform's own stack). Contract as in
 * experiture/platform/http_client.hpp: send() never blocks on the network and may be called from
 * any thread; each send() leads to exactly one experiture_http_complete(). */
typedef struct experiture_http_client_t {
  uint32_t version; /* EXPERITURE_HTTP_CLIENT_VERSION */
  void* user_data;
  /* Optional. Called once when the SDK drops the client, after cancel_all(). From then on the
   * SDK itself completes any request still pending with EXPERITURE_TRANSPORT_CANCELLED. */
  void (*destroy)(void* user_data);
  /* Required. `request` BORROWED; `completion` handed over (see experiture_http_completion_t). */
  void (*send)(void* user_data, const experiture_http_request_t* request,
               experiture_http_completion_t* completion);
  /* Optional. Complete every request in flight with EXPERITURE_TRANSPORT_CANCELLED. */
  void (*cancel_all)(void* user_data);
} experiture_http_client_t;

/* Completes one request. `completion` TAKEN (invalid after the call, whatever it returns);
 * `response` BORROWED. Any thread; never blocks on the network. A NULL `response` completes the
 * request with EXPERITURE_TRANSPORT_OTHER and returns EXPERITURE_INVALID_ARGUMENT; a NULL
 * `completion` returns EXPERITURE_INVALID_ARGUMENT. */
EXPERITURE_API experiture_status_t experiture_http_complete(
    experiture_http_completion_t* completion, const experiture_http_response_t* response);

typedef enum experiture_log_level_t {
  EXPERITURE_LOG_DEBUG = 0,
  EXPERITURE_LOG_INFO = 1,
  EXPERITURE_LOG_WARN = 2,
  EXPERITURE_LOG_ERROR = 3
} experiture_log_level_t;

#define EXPERITURE_LOGGER_VERSION 1

/* A log sink; called from SDK threads, never under an SDK lock. Messages never hold tokens or
 * record values. */
typedef struct experiture_logger_t {
  uint32_t version; /* EXPERITURE_LOGGER_VERSION */
  void* user_data;
  void (*destroy)(void* user_data); /* optional */
  /* Required. `message` BORROWED, not NUL-terminated. */
  void (*log)(void* user_data, int level, const char* message, size_t message_length);
} experiture_logger_t;

/* Where a token provider writes its answer (opaque, valid during get_token() only). */
typedef struct experiture_token_sink_t experiture_token_sink_t;

/* Stores the token for the running get_token() call. `token` BORROWED (copied). Writing again
 * replaces it. NULL `sink`, or NULL `token` with length > 0, returns EXPERITURE_INVALID_ARGUMENT.
 */
EXPERITURE_API experiture_status_t experiture_token_sink_write(experiture_token_sink_t* sink,
                                                               const char* token, size_t length);

#define EXPERITURE_TOKEN_PROVIDER_VERSION 1

/* Supplies bearer tokens (see Config::token_provider). Called on an SDK thread; may block
 * briefly. */
typedef struct experiture_token_provider_t {
  uint32_t version; /* EXPERITURE_TOKEN_PROVIDER_VERSION */
  void* user_data;
  void (*destroy)(void* user_data); /* optional */
  /* Required. `refresh` is non-zero after the server answered 401 for the previous token. Write
   * the token with experiture_token_sink_write(); writing nothing (or "") means "no token now":
   * delivery pauses and asks again on the next trigger. */
  void (*get_token)(void* user_data, int refresh, experiture_token_sink_t* sink);
} experiture_token_provider_t;

typedef enum experiture_delivery_event_type_t {
  EXPERITURE_EVENT_DELIVERED = 0,
  EXPERITURE_EVENT_DEAD_LETTERED = 1,
  EXPERITURE_EVENT_PAUSED = 2,
  EXPERITURE_EVENT_RESUMED = 3,
  EXPERITURE_EVENT_DROPPED = 4
} experiture_delivery_event_type_t;

typedef struct experiture_delivery_event_t {
  int type; /* an experiture_delivery_event_type_t */
  uint64_t count;
  const char* reason; /* UTF-8, not NUL-terminated */
  size_t reason_length;
} experiture_delivery_event_t;

#define EXPERITURE_DELIVERY_LISTENER_VERSION 1

/* Delivery progress; called on an SDK thread, never under an SDK lock; must not block for long. */
typedef struct experiture_delivery_listener_t {
  uint32_t version; /* EXPERITURE_DELIVERY_LISTENER_VERSION */
  void* user_data;
  void (*destroy)(void* user_data); /* optional */
  /* Required. `event` BORROWED. */
  void (*on_event)(void* user_data, const experiture_delivery_event_t* event);
} experiture_delivery_listener_t;

/* Where a phone normaliser writes its answer (opaque, valid during normalize() only). */
typedef struct experiture_phone_sink_t experiture_phone_sink_t;

/* Stores the E.164 form for the running normalize() call. `e164` BORROWED (copied). Writing again
 * replaces it. NULL `sink`, or NULL `e164` with length > 0, returns EXPERITURE_INVALID_ARGUMENT. */
EXPERITURE_API experiture_status_t experiture_phone_sink_write(experiture_phone_sink_t* sink,
                                                               const char* e164, size_t length);

#define EXPERITURE_PHONE_NORMALIZER_VERSION 1

/* Turns phone numbers as users type them into E.164 (see Config::phone_normalizer): the app's
 * platform normaliser (libphonenumber-java on Android, a Swift library on iOS). Without one, the
 * SDK uses libphonenumber when built in, else its strict E.164-only rule (separators removed,
 * national numbers rejected with EXPERITURE_INVALID_PHONE). */
typedef struct experiture_phone_normalizer_t {
  uint32_t version; /* EXPERITURE_PHONE_NORMALIZER_VERSION */
  void* user_data;
  void (*destroy)(void* user_data); /* optional */
  /* Required. Called on the thread that calls upsert/append/login (several at once when the app
   * writes from several threads): must be thread-safe, quick and must not call the client.
   * `raw` BORROWED, the `phone` value as given (UTF-8, not NUL-terminated); `region` BORROWED,
   * the default region (ISO 3166-1 alpha-2, e.g. "US") for numbers without a country code.
   * Write "+<digits>" with experiture_phone_sink_write(); writing nothing means "not a valid
   * number" (EXPERITURE_INVALID_PHONE). An answer that is not E.164 ('+' then 8 to 15 digits, no
   * leading 0) is rejected the same way, never stored. A number already in E.164 must come back
   * unchanged: the SDK passes its own results through again (login's identity write). */
  void (*normalize)(void* user_data, const char* raw, size_t raw_length, const char* region,
                    size_t region_length, experiture_phone_sink_t* sink);
} experiture_phone_normalizer_t;

/* ---- configuration (a builder; defaults as in experiture/config.hpp) ------------------------
 * The options, their types, defaults and names in Java and Swift are listed once in
 * experiture/config_options.inc (a test keeps this header, the bindings and that list equal).
 * Setters copy their arguments; a config may open several clients and is freed independently.
 * Every setter returns EXPERITURE_INVALID_ARGUMENT for a NULL config or bad value (e.g. a
 * malformed JSON list), leaving the config unchanged. Not thread-safe per config object. */
typedef struct experiture_config_t experiture_config_t;

/* RETURNED-OWNED via `config_out` (free with experiture_config_free). */
EXPERITURE_API experiture_status_t experiture_config_new(experiture_config_t** config_out);
/* NULL is a no-op. Releases the callback tables it holds unless an open client still uses them. */
EXPERITURE_API void experiture_config_free(experiture_config_t* config);

/* Required: the outbox SQLite file. */
EXPERITURE_API experiture_status_t experiture_config_set_storage_path(experiture_config_t* config,
                                                                      const char* path,
                                                                      size_t length);
/* API base URL, default "https://api.experiture.ai/public/v1". */
EXPERITURE_API experiture_status_t experiture_config_set_endpoint(experiture_config_t* config,
                                                                  const char* url, size_t length);
/* DANGER, test rigs only: non-zero allows http:// to any host, sending the bearer token and every
 * record unencrypted (default 0: http:// only to 127.0.0.0/8, ::1 and localhost, for a local
 * emulator). Never set it in an app. */
EXPERITURE_API experiture_status_t
experiture_config_set_allow_insecure_http_for_testing(experiture_config_t* config, int allow);
/* A fixed bearer token (a token provider wins when both are set). */
EXPERITURE_API experiture_status_t experiture_config_set_token(experiture_config_t* config,
                                                               const char* token, size_t length);
EXPERITURE_API experiture_status_t experiture_config_set_batch_size(experiture_config_t* config,
                                                                    size_t records);
EXPERITURE_API experiture_status_t
experiture_config_set_flush_interval_ms(experiture_config_t* config, int64_t interval_ms);
EXPERITURE_API experiture_status_t
experiture_config_set_max_outbox_bytes(experiture_config_t* config, int64_t bytes);
EXPERITURE_API experiture_status_t
experiture_config_set_max_record_bytes(experiture_config_t* config, size_t bytes);
EXPERITURE_API experiture_status_t
experiture_config_set_ingress_capacity(experiture_config_t* config, size_t writes);
EXPERITURE_API experiture_status_t
experiture_config_set_ingress_max_bytes(experiture_config_t* config, size_t bytes);
EXPERITURE_API experiture_status_t
experiture_config_set_commit_window_ms(experiture_config_t* config, int64_t window_ms);
/* ISO 3166-1 alpha-2, default "US". */
EXPERITURE_API experiture_status_t experiture_config_set_default_phone_region(
    experiture_config_t* config, const char* region, size_t length);
/* Non-zero: no SDK threads; the app calls experiture_client_pump(). */
EXPERITURE_API experiture_status_t experiture_config_set_manual_mode(experiture_config_t* config,
                                                                     int manual);
EXPERITURE_API experiture_status_t
experiture_config_set_initial_consent(experiture_config_t* config, experiture_consent_t consent);
EXPERITURE_API experiture_status_t experiture_config_set_profile_object(experiture_config_t* config,
                                                                        const char* object,
                                                                        size_t length);
/* `keys_json`: a JSON array of field names, e.g. ["email","customer_id"]. */
EXPERITURE_API experiture_status_t experiture_config_set_default_identity_keys(
    experiture_config_t* config, const char* keys_json, size_t length);
/* Identity keys of one object (overrides the default list for it); `keys_json` as above. */
EXPERITURE_API experiture_status_t experiture_config_set_identity_keys(experiture_config_t* config,
                                                                       const char* object,
                                                                       size_t object_length,
                                                                       const char* keys_json,
                                                                       size_t keys_length);
/* Written to the anonymous profile's `platform`, default "linux". */
EXPERITURE_API experiture_status_t experiture_config_set_platform_name(experiture_config_t* config,
                                                                       const char* name,
                                                                       size_t length);
EXPERITURE_API experiture_status_t
experiture_config_set_logout_clears_push_token(experiture_config_t* config, int enabled);
EXPERITURE_API experiture_status_t
experiture_config_set_logout_new_device_id(experiture_config_t* config, int enabled);
EXPERITURE_API experiture_status_t experiture_config_set_retry_policy(experiture_config_t* config,
                                                                      int64_t base_ms,
                                                                      double factor,
                                                                      int64_t cap_ms);
EXPERITURE_API experiture_status_t
experiture_config_set_http_timeout_ms(experiture_config_t* config, int64_t timeout_ms);
EXPERITURE_API experiture_status_t
experiture_config_set_clock_skew_threshold_ms(experiture_config_t* config, int64_t threshold_ms);
EXPERITURE_API experiture_status_t
experiture_config_set_max_dead_letters(experiture_config_t* config, size_t count);
/* 32 raw bytes from the platform keystore; length 0 turns sealing off. */
EXPERITURE_API experiture_status_t experiture_config_set_encryption_key(experiture_config_t* config,
                                                                        const void* key,
                                                                        size_t length);
/* Key rotation: the key rows were sealed with before encryption_key (32 bytes; 0 = none). Rows
 * sealed with either key open; new rows use encryption_key. Keep it until the outbox drained. */
EXPERITURE_API experiture_status_t experiture_config_set_previous_encryption_key(
    experiture_config_t* config, const void* key, size_t length);
/* Built-in curl transport only (ignored with a custom HTTP client). */
EXPERITURE_API experiture_status_t experiture_config_set_tls_ca_bundle_path(
    experiture_config_t* config, const char* path, size_t length);
EXPERITURE_API experiture_status_t experiture_config_set_tls_pinned_public_keys(
    experiture_config_t* config, const char* pins, size_t length);
EXPERITURE_API experiture_status_t experiture_config_set_tls_proxy(experiture_config_t* config,
                                                                   const char* proxy,
                                                                   size_t length);

/* The default logger's level when no logger table is set: "off", "error", "warn", "info" or
 * "debug"; "" (the default) reads the EXPERITURE_LOG environment variable, else "warn". The
 * default logger writes to stderr; the Java binding's goes to logcat on Android, the Swift
 * binding's to os_log on Apple platforms. Checked at open (INVALID_CONFIG naming log_level). */
EXPERITURE_API experiture_status_t experiture_config_set_log_level(experiture_config_t* config,
                                                                   const char* level,
                                                                   size_t length);

/* Callback tables: `table` BORROWED (the struct is copied), its `user_data` TAKEN: the SDK calls
 * table->destroy(user_data) once when neither the config nor any client opened from it needs it,
 * also when this call fails (except for a NULL table). A NULL table restores the default (built-in
 * HTTP, no logger, fixed token, no listener). A table whose version is 0 or whose required member
 * is NULL is EXPERITURE_INVALID_ARGUMENT. */
EXPERITURE_API experiture_status_t experiture_config_set_http_client(
    experiture_config_t* config, const experiture_http_client_t* table);
EXPERITURE_API experiture_status_t experiture_config_set_logger(experiture_config_t* config,
                                                                const experiture_logger_t* table);
EXPERITURE_API experiture_status_t experiture_config_set_token_provider(
    experiture_config_t* config, const experiture_token_provider_t* table);
EXPERITURE_API experiture_status_t experiture_config_set_delivery_listener(
    experiture_config_t* config, const experiture_delivery_listener_t* table);
/* The phone normaliser hook (same ownership rules as above). A NULL table restores the default
 * (libphonenumber when built in, else the E.164-only rule). */
EXPERITURE_API experiture_status_t experiture_config_set_phone_normalizer(
    experiture_config_t* config, const experiture_phone_normalizer_t* table);

/* ---- client --------------------------------------------------------------------------------- */
typedef struct experiture_client_t experiture_client_t;

/* Opens (creates, migrates) the outbox and starts the store thread unless manual mode. Waits for
 * the disk. `config` BORROWED; the client RETURNED-OWNED via `client_out` (NULL on failure), to
 * be released with experiture_client_free. EXPERITURE_INVALID_CONFIG names the field;
 * EXPERITURE_STORAGE_ERROR. */
EXPERITURE_API experiture_status_t experiture_client_open(const experiture_config_t* config,
                                                          experiture_client_t** client_out);
/* Persists (waiting at most timeout_ms), stops sending and the store thread. Every later call
 * except close/free returns EXPERITURE_CLOSED. Idempotent (a second close returns EXPERITURE_OK);
 * NULL is a no-op returning EXPERITURE_OK. EXPERITURE_TIMEOUT when not all writes became durable
 * in time (they stay in memory until free).
 * Inside one of this client's callbacks (delivery listener, token provider, the HTTP client's
 * send): returns EXPERITURE_OK at once without waiting: every later call is EXPERITURE_CLOSED,
 * and when the callback returns the SDK commits what it accepted and stops its thread; a later
 * close or free from an app thread waits for that. Concurrent closes from app threads: one
 * tears down, the others wait for it. */
EXPERITURE_API experiture_status_t experiture_client_close(experiture_client_t* client,
                                                           int64_t timeout_ms);
/* Closes (5 s) if needed and releases the client. NULL is a no-op. No other call on this client
 * may run concurrently or follow. Also allowed inside one of this client's callbacks (as the
 * last thing the callback does with it): the client is then closed and released by the SDK's
 * thread once the callback returns. */
EXPERITURE_API void experiture_client_free(experiture_client_t* client);

/* Accepts an upsert of `record_json` (a JSON object, UTF-8) keyed by its field `match_key`.
 * Validates and normalises on the caller's thread, queues in memory, returns at once. All strings
 * BORROWED. Statuses: OK, each validation status, QUEUE_FULL, CONSENT_DENIED, CLOSED.
 * QUEUE_FULL: the writes accepted but not yet committed reached ingress_capacity or
 * ingress_max_bytes; nothing was accepted and nothing waited. Call it again after
 * experiture_client_persist() returns (off the UI thread), or later, or drop the write. */
EXPERITURE_API experiture_status_t experiture_client_upsert(
    experiture_client_t* client, const char* object, size_t object_length, const char* record_json,
    size_t record_length, const char* match_key, size_t match_key_length);
/* Accepts an event row (never merged). As upsert. */
EXPERITURE_API experiture_status_t experiture_client_append(experiture_client_t* client,
                                                            const char* object,
                                                            size_t object_length,
                                                            const char* record_json,
                                                            size_t record_length);

/* Links the device to a user: each identifier optional (NULL/0 = absent), all BORROWED.
 * Non-blocking like upsert. INVALID_EMAIL, INVALID_PHONE, INVALID_ARGUMENT (none given). */
EXPERITURE_API experiture_status_t experiture_client_login(experiture_client_t* client,
                                                           const char* email, size_t email_length,
                                                           const char* customer_id,
                                                           size_t customer_id_length,
                                                           const char* phone, size_t phone_length);
EXPERITURE_API experiture_status_t experiture_client_logout(experiture_client_t* client);
EXPERITURE_API experiture_status_t experiture_client_set_push_token(experiture_client_t* client,
                                                                    const char* token,
                                                                    size_t length);
/* The current device_id: RETURNED-OWNED NUL-terminated UTF-8 via `id_out` (free with
 * experiture_string_free); `length_out` optional. */
EXPERITURE_API experiture_status_t experiture_client_device_id(experiture_client_t* client,
                                                               char** id_out, size_t* length_out);

EXPERITURE_API experiture_status_t experiture_client_set_consent(experiture_client_t* client,
                                                                 experiture_consent_t consent);
EXPERITURE_API experiture_status_t experiture_client_consent(experiture_client_t* client,
                                                             experiture_consent_t* consent_out);

/* Waits until every write accepted before the call is durable. OK or TIMEOUT. */
EXPERITURE_API experiture_status_t experiture_client_persist(experiture_client_t* client,
                                                             int64_t timeout_ms);
/* Waits until every write accepted before the call is delivered or dead-lettered. OK, TIMEOUT, or
 * PAUSED (the message says why) when delivery cannot progress. */
EXPERITURE_API experiture_status_t experiture_client_flush(experiture_client_t* client,
                                                           int64_t timeout_ms);
/* Manual mode only (else WRONG_STATE): does all due work on the caller's thread. */
EXPERITURE_API experiture_status_t experiture_client_pump(experiture_client_t* client);

/* Lifecycle and connectivity hints; never block. OK, or CLOSED. */
EXPERITURE_API experiture_status_t experiture_client_on_background(experiture_client_t* client);
EXPERITURE_API experiture_status_t experiture_client_on_foreground(experiture_client_t* client);
EXPERITURE_API experiture_status_t experiture_client_set_online(experiture_client_t* client,
                                                                int online);
EXPERITURE_API experiture_status_t experiture_client_pause(experiture_client_t* client);
EXPERITURE_API experiture_status_t experiture_client_resume(experiture_client_t* client);

/* A health snapshot as a JSON object with the fields of experiture::Stats (accepted,
 * pending_durable, queued_records, queued_bytes, oldest_queued_age_ms, in_flight, delivered,
 * dead_letters, dropped_queue_full, dropped_evicted, dropped_consent,
 * dropped_dead_letter_overflow, pause_reason, last_error, consent ("granted"|"denied"|"unknown"),
 * device_id), including the delivery diagnostics kept in the outbox file, so that a new process
 * sees why records are stuck: last_delivery_error and last_delivery_error_at_ms,
 * last_storage_error and last_storage_error_at_ms, last_pause_reason, consecutive_failures,
 * next_attempt_at_ms, last_success_at_ms (times in ms since the Unix epoch, 0 = never) and
 * delivery_owner_pid (another process delivering from the same file, else 0), and what damaged
 * outbox files cost: damage_salvaged and damage_lost (queued writes recovered from, and lost with,
 * files moved aside as damaged, totals kept in the outbox) and last_damage (the reason and where
 * the damaged file was moved, "" when none). Never values or tokens. RETURNED-OWNED via `json_out`
 * (NUL-terminated; free with experiture_string_free); `length_out` optional. Does not touch disk.
 */
EXPERITURE_API experiture_status_t experiture_client_stats(experiture_client_t* client,
                                                           char** json_out, size_t* length_out);
/* At most `limit` dead letters, oldest first, as a JSON array of objects {id, object, match_key,
 * record (the record as JSON), http_status, code, message, correlation_id, failed_at_ms}.
 * RETURNED-OWNED as for stats. Waits for the store thread. */
EXPERITURE_API experiture_status_t experiture_client_dead_letters(experiture_client_t* client,
                                                                  size_t limit, char** json_out,
                                                                  size_t* length_out);
/* Re-queues every dead letter at the end of the outbox / deletes them. Wait for the store thread.
 */
EXPERITURE_API experiture_status_t
experiture_client_retry_dead_letters(experiture_client_t* client);
EXPERITURE_API experiture_status_t
experiture_client_purge_dead_letters(experiture_client_t* client);

#ifdef __cplusplus
}
#endif

#endif
