/* The C ABI driven from C99 (this file is compiled as C): open / login / upsert / flush / close
 * against the real experiture-emulator, a C HTTP client table, NULL arguments and calls in the
 * wrong order. Usage: capi_test <path to experiture-emulator>. Exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capi_test_support.h"
#include "experiture/experiture.h"

/* A blocking libcurl HTTP client table for a library built without curl
 * (EXPERITURE_WITH_CURL=OFF, as on phones: the app supplies the HTTP stack). Test code: send()
 * performs the exchange on the calling (store) thread and completes it before returning. */
static void curl_table_send(void* user_data, const experiture_http_request_t* request,
                            experiture_http_completion_t* completion) {
  char url[1024];
  char method[16];
  char line[1024];
  struct buffer body = {NULL, 0};
  struct curl_slist* headers = NULL;
  experiture_http_response_t response;
  long status = 0;
  size_t i;
  CURLcode rc;
  CURL* curl = curl_easy_init();
  (void)user_data;
  memset(&response, 0, sizeof response);
  snprintf(url, sizeof url, "%.*s", (int)request->url_length, request->url);
  snprintf(method, sizeof method, "%.*s", (int)request->method_length, request->method);
  for (i = 0; i < request->header_count; ++i) {
    const experiture_http_header_t* h = &request->headers[i];
    snprintf(line, sizeof line, "%.*s: %.*s", (int)h->name_length, h->name, (int)h->value_length,
             h->value);
    headers = curl_slist_append(headers, line);
  }
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (request->body_length > 0 || strcmp(method, "POST") == 0) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)request->timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_bytes);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = (int)status;
    response.body = body.data;
    response.body_length = body.size;
  } else {
    response.error = rc == CURLE_OPERATION_TIMEDOUT ? EXPERITURE_TRANSPORT_TIMEOUT
                                                    : EXPERITURE_TRANSPORT_CONNECT;
    response.error_message = curl_easy_strerror(rc);
    response.error_message_length = strlen(response.error_message);
  }
  experiture_http_complete(completion, &response);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  free(body.data);
}

/* Plugs the table in when the library has no HTTP client of its own. */
static void use_curl_table_if_needed(experiture_config_t* config) {
#ifdef CAPI_TEST_LIBRARY_WITHOUT_HTTP
  experiture_http_client_t table;
  memset(&table, 0, sizeof table);
  table.version = EXPERITURE_HTTP_CLIENT_VERSION;
  table.send = curl_table_send;
  CHECK_STATUS(experiture_config_set_http_client(config, &table), EXPERITURE_OK);
#else
  (void)config;
  (void)curl_table_send;
#endif
}

/* ---- callback tables ---- */

struct counters {
  int token_calls;
  int delivered_events;
  unsigned long long delivered_records;
  int log_lines;
  int destroyed;
};

static void count_destroy(void* user_data) {
  ((struct counters*)user_data)->destroyed++;
}

static void give_token(void* user_data, int refresh, experiture_token_sink_t* sink) {
  (void)refresh;
  ((struct counters*)user_data)->token_calls++;
  experiture_token_sink_write(sink, S("c-api-test-token"));
}

static void on_event(void* user_data, const experiture_delivery_event_t* event) {
  struct counters* c = (struct counters*)user_data;
  if (event->type == EXPERITURE_EVENT_DELIVERED) {
    c->delivered_events++;
    c->delivered_records += event->count;
  }
}

static void on_log(void* user_data, int level, const char* message, size_t length) {
  (void)level;
  (void)message;
  (void)length;
  ((struct counters*)user_data)->log_lines++;
}

/* An HTTP client that answers every request at once, from inside send(), with 503. */
struct fake_http {
  int sends;
  int cancels;
  int destroyed;
};

static void fake_send(void* user_data, const experiture_http_request_t* request,
                      experiture_http_completion_t* completion) {
  struct fake_http* fake = (struct fake_http*)user_data;
  experiture_http_header_t header = {S("X-Correlation-Id"), S("c-test")};
  experiture_http_response_t response;
  memset(&response, 0, sizeof response);
  fake->sends++;
  CHECK(request->url_length > 0 && strncmp(request->url, "http://127.0.0.1:9/", 19) == 0);
  CHECK(request->body_length > 0);
  response.status = 503;
  response.headers = &header;
  response.header_count = 1;
  response.body = "{}";
  response.body_length = 2;
  CHECK_STATUS(experiture_http_complete(completion, &response), EXPERITURE_OK);
}

static void fake_cancel_all(void* user_data) {
  ((struct fake_http*)user_data)->cancels++;
}

static void fake_destroy(void* user_data) {
  ((struct fake_http*)user_data)->destroyed++;
}

/* ---- tests ---- */

static void test_null_arguments(void) {
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;
  char* text = NULL;
  size_t length = 0;
  struct counters counters;
  experiture_logger_t bad_logger;

  CHECK(strcmp(experiture_status_name(EXPERITURE_OK), "OK") == 0);
  CHECK(strcmp(experiture_status_name(EXPERITURE_MATCH_KEY_NOT_IDENTITY),
               "MATCH_KEY_NOT_IDENTITY") == 0);
  CHECK(strcmp(experiture_status_name(EXPERITURE_INTERNAL), "INTERNAL") == 0);
  CHECK(strcmp(experiture_status_name((experiture_status_t)9999), "UNKNOWN") == 0);
  CHECK(strlen(experiture_version()) > 0);

  CHECK_STATUS(experiture_config_new(NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK(strlen(experiture_last_error(&length)) > 0 && length > 0);
  CHECK_STATUS(experiture_config_set_storage_path(NULL, S("x")), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_config_set_batch_size(NULL, 1), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_open(NULL, &client), EXPERITURE_INVALID_ARGUMENT);
  CHECK(client == NULL);
  CHECK_STATUS(experiture_client_open(NULL, NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_upsert(NULL, S("profiles"), S("{}"), S("email")),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_append(NULL, S("events"), S("{}")), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_login(NULL, S("a@b.co"), NULL, 0, NULL, 0),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_logout(NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_flush(NULL, 10), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_persist(NULL, 10), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_pump(NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_set_online(NULL, 1), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_stats(NULL, &text, &length), EXPERITURE_INVALID_ARGUMENT);
  CHECK(text == NULL);
  CHECK_STATUS(experiture_client_dead_letters(NULL, 10, &text, NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_device_id(NULL, &text, NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_close(NULL, 10), EXPERITURE_OK);
  experiture_client_free(NULL);
  experiture_config_free(NULL);
  experiture_string_free(NULL);
  CHECK_STATUS(experiture_http_complete(NULL, NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_token_sink_write(NULL, S("t")), EXPERITURE_INVALID_ARGUMENT);

  /* NULL with a length, a table without its required member (user_data still released). */
  CHECK_STATUS(experiture_config_new(&config), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_storage_path(config, NULL, 3), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_config_set_initial_consent(config, (experiture_consent_t)7),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_config_set_initial_consent(config, (experiture_consent_t)-1),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK(strcmp(experiture_status_name((experiture_status_t)-5), "UNKNOWN") == 0);
  CHECK_STATUS(experiture_config_set_default_identity_keys(config, S("{\"not\":\"a list\"}")),
               EXPERITURE_INVALID_ARGUMENT);
  memset(&counters, 0, sizeof counters);
  memset(&bad_logger, 0, sizeof bad_logger);
  bad_logger.version = EXPERITURE_LOGGER_VERSION;
  bad_logger.user_data = &counters;
  bad_logger.destroy = count_destroy;
  CHECK_STATUS(experiture_config_set_logger(config, &bad_logger), EXPERITURE_INVALID_ARGUMENT);
  CHECK(counters.destroyed == 1);
  bad_logger.log = on_log;
  CHECK_STATUS(experiture_config_set_logger(NULL, &bad_logger), EXPERITURE_INVALID_ARGUMENT);
  CHECK(counters.destroyed == 2);
  /* Opening without a storage path names the field. */
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_INVALID_CONFIG);
  CHECK(client == NULL);
  CHECK(strstr(experiture_last_error(NULL), "storage_path") != NULL);
  experiture_config_free(config);
}

static void test_end_to_end(const char* dir, int port) {
  char path[512];
  char endpoint[128];
  char query[256];
  char* device_id = NULL;
  char* stats = NULL;
  char* letters = NULL;
  char* profile = NULL;
  char* closed_stats = NULL;
  long http_status = 0;
  struct counters counters;
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;
  experiture_token_provider_t provider;
  experiture_delivery_listener_t listener;
  experiture_logger_t logger;
  const char* record =
      "{\"email\":\"Ada@Example.com\",\"first_name\":\"Ada \xF0\x9F\x98\x80\",\"tier\":\"gold\"}";

  memset(&counters, 0, sizeof counters);
  snprintf(path, sizeof path, "%s/outbox.db", dir);
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/public/v1", port);
  CHECK_STATUS(experiture_config_new(&config), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_storage_path(config, path, strlen(path)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_endpoint(config, endpoint, strlen(endpoint)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_platform_name(config, S("c99")), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_flush_interval_ms(config, 50), EXPERITURE_OK);
  use_curl_table_if_needed(config);
  memset(&provider, 0, sizeof provider);
  provider.version = EXPERITURE_TOKEN_PROVIDER_VERSION;
  provider.user_data = &counters;
  provider.destroy = count_destroy;
  provider.get_token = give_token;
  CHECK_STATUS(experiture_config_set_token_provider(config, &provider), EXPERITURE_OK);
  memset(&listener, 0, sizeof listener);
  listener.version = EXPERITURE_DELIVERY_LISTENER_VERSION;
  listener.user_data = &counters;
  listener.destroy = count_destroy;
  listener.on_event = on_event;
  CHECK_STATUS(experiture_config_set_delivery_listener(config, &listener), EXPERITURE_OK);
  memset(&logger, 0, sizeof logger);
  logger.version = EXPERITURE_LOGGER_VERSION;
  logger.user_data = &counters;
  logger.destroy = count_destroy;
  logger.log = on_log;
  CHECK_STATUS(experiture_config_set_logger(config, &logger), EXPERITURE_OK);

  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  experiture_config_free(config); /* the client keeps what it needs */
  CHECK(counters.destroyed == 0);
  if (client == NULL) return;

  CHECK_STATUS(experiture_client_device_id(client, &device_id, NULL), EXPERITURE_OK);
  CHECK(device_id != NULL && strlen(device_id) == 36);
  CHECK_STATUS(experiture_client_pump(client), EXPERITURE_WRONG_STATE); /* not manual mode */
  CHECK_STATUS(experiture_client_set_push_token(client, S("push-c99")), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), record, strlen(record), S("email")),
               EXPERITURE_OK);

  /* Bad input: a status naming the rule; nothing accepted before is lost. */
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), S("{\"email\":"), S("email")),
               EXPERITURE_INVALID_JSON);
  CHECK(strlen(experiture_last_error(NULL)) > 0);
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), S("{\"tier\":\"x\"}"), S("email")),
               EXPERITURE_MATCH_KEY_MISSING);
  CHECK(strstr(experiture_last_error(NULL), "email") != NULL);
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), S("[1]"), S("email")),
               EXPERITURE_RECORD_NOT_OBJECT);
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), NULL, 5, S("email")),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_login(client, S("not an email"), NULL, 0, NULL, 0),
               EXPERITURE_INVALID_EMAIL);
  CHECK_STATUS(experiture_client_stats(client, NULL, NULL), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_client_set_consent(client, (experiture_consent_t)7),
               EXPERITURE_INVALID_ARGUMENT);

  CHECK_STATUS(experiture_client_login(client, S(" ADA@example.com "), S("cust-c99"), NULL, 0),
               EXPERITURE_OK);
  CHECK(strcmp(experiture_last_error(NULL), "") == 0);
  CHECK_STATUS(experiture_client_append(client, S("events"),
                                        S("{\"event\":\"checkin\",\"customer_id\":\"cust-c99\"}")),
               EXPERITURE_OK);
  CHECK_STATUS(experiture_client_persist(client, 10000), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_on_background(client), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_on_foreground(client), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_set_online(client, 1), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_flush(client, 20000), EXPERITURE_OK);

  CHECK_STATUS(experiture_client_stats(client, &stats, NULL), EXPERITURE_OK);
  CHECK(stats != NULL && strstr(stats, "\"queued_records\":0") != NULL);
  CHECK(stats != NULL && strstr(stats, device_id) != NULL);
  CHECK_STATUS(experiture_client_dead_letters(client, 10, &letters, NULL), EXPERITURE_OK);
  CHECK(letters != NULL && strcmp(letters, "[]") == 0);
  CHECK(counters.token_calls > 0);
  CHECK(counters.delivered_events > 0 && counters.delivered_records >= 3);

  /* The emulator's profile: the upsert, the normalised email, the login link, the device. */
  profile = http_get(port, "/_emulator/profile?key=customer_id&value=cust-c99", &http_status);
  CHECK(http_status == 200);
  CHECK(profile != NULL && strstr(profile, "\"email\":\"ada@example.com\"") != NULL);
  CHECK(profile != NULL && strstr(profile, "\"first_name\":\"Ada \xF0\x9F\x98\x80\"") != NULL);
  CHECK(profile != NULL && strstr(profile, device_id) != NULL);
  CHECK(profile != NULL && strstr(profile, "\"push_token\":\"push-c99\"") != NULL);
  if (g_failures > 0 && profile != NULL) fprintf(stderr, "profile: %s\n", profile);
  free(profile);
  snprintf(query, sizeof query, "/_emulator/profile?key=device_id&value=%s", device_id);
  profile = http_get(port, query, &http_status);
  CHECK(http_status == 200 && profile != NULL && strstr(profile, "cust-c99") != NULL);
  free(profile);

  /* Wrong order: everything after close is CLOSED; close is idempotent. */
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), record, strlen(record), S("email")),
               EXPERITURE_CLOSED);
  CHECK(strlen(experiture_last_error(NULL)) > 0);
  CHECK_STATUS(experiture_client_login(client, S("a@b.co"), NULL, 0, NULL, 0), EXPERITURE_CLOSED);
  CHECK_STATUS(experiture_client_flush(client, 10), EXPERITURE_CLOSED);
  CHECK_STATUS(experiture_client_on_background(client), EXPERITURE_CLOSED);
  CHECK_STATUS(experiture_client_stats(client, &closed_stats, NULL), EXPERITURE_CLOSED);
  CHECK(closed_stats == NULL);
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);
  CHECK(counters.destroyed == 3); /* token provider, listener, logger: once each */

  experiture_string_free(device_id);
  experiture_string_free(stats);
  experiture_string_free(letters);
}

/* A C HTTP client table: each request goes to send() and completes through
 * experiture_http_complete(); free() cancels and releases it exactly once. */
static void test_c_http_client(const char* dir) {
  char path[512];
  struct fake_http fake;
  experiture_http_client_t table;
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;

  memset(&fake, 0, sizeof fake);
  snprintf(path, sizeof path, "%s/fake-http.db", dir);
  CHECK_STATUS(experiture_config_new(&config), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_storage_path(config, path, strlen(path)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_endpoint(config, S("http://127.0.0.1:9/public/v1")),
               EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_token(config, S("fixed")), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_manual_mode(config, 1), EXPERITURE_OK);
  memset(&table, 0, sizeof table);
  table.version = EXPERITURE_HTTP_CLIENT_VERSION;
  table.user_data = &fake;
  table.destroy = fake_destroy;
  table.send = fake_send;
  table.cancel_all = fake_cancel_all;
  CHECK_STATUS(experiture_config_set_http_client(config, &table), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  experiture_config_free(config);
  CHECK(fake.destroyed == 0);
  if (client == NULL) return;
  CHECK_STATUS(
      experiture_client_upsert(client, S("profiles"), S("{\"email\":\"x@y.co\"}"), S("email")),
      EXPERITURE_OK);
  CHECK_STATUS(experiture_client_flush(client, 0), EXPERITURE_TIMEOUT);
  for (int i = 0; i < 20 && fake.sends == 0; ++i) {
    CHECK_STATUS(experiture_client_pump(client), EXPERITURE_OK);
  }
  CHECK(fake.sends >= 1);
  experiture_client_free(client);
  CHECK(fake.destroyed == 1);
  CHECK(fake.cancels >= 1);
}

/* The phone normaliser hook: the app's normaliser turns a national number into E.164; an answer
 * that is not E.164 is refused; without a hook the built-in rule takes E.164 with separators and
 * refuses a national number, saying it needs a normaliser. */
struct phone_hook {
  int calls;
  int destroyed;
  char region[8];
};

static void gb_normalize(void* user_data, const char* raw, size_t raw_length, const char* region,
                         size_t region_length, experiture_phone_sink_t* sink) {
  struct phone_hook* hook = (struct phone_hook*)user_data;
  hook->calls++;
  if (region_length < sizeof hook->region) {
    memcpy(hook->region, region, region_length);
    hook->region[region_length] = '\0';
  }
  if ((raw_length == 13 && memcmp(raw, "020 7946 0958", 13) == 0) ||
      (raw_length == 13 && memcmp(raw, "+442079460958", 13) == 0)) {
    experiture_phone_sink_write(sink, S("+442079460958"));
  } else if (raw_length == 6 && memcmp(raw, "broken", 6) == 0) {
    experiture_phone_sink_write(sink, S("442079460958")); /* no '+': not E.164 */
  }
}

static void phone_hook_destroy(void* user_data) {
  ((struct phone_hook*)user_data)->destroyed++;
}

static void test_phone_normalizer(const char* dir, int port) {
  char path[512];
  char endpoint[128];
  char* profile = NULL;
  long http_status = 0;
  struct phone_hook hook;
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;
  experiture_phone_normalizer_t table;

  memset(&hook, 0, sizeof hook);
  memset(&table, 0, sizeof table);
  table.version = EXPERITURE_PHONE_NORMALIZER_VERSION;
  table.user_data = &hook;
  table.destroy = phone_hook_destroy;
  CHECK_STATUS(experiture_phone_sink_write(NULL, S("+12125550123")), EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_config_new(&config), EXPERITURE_OK);
  /* No normalize member: refused, user_data released. */
  CHECK_STATUS(experiture_config_set_phone_normalizer(config, &table), EXPERITURE_INVALID_ARGUMENT);
  CHECK(hook.destroyed == 1);
  hook.destroyed = 0;
  table.normalize = gb_normalize;
  CHECK_STATUS(experiture_config_set_phone_normalizer(NULL, &table), EXPERITURE_INVALID_ARGUMENT);
  CHECK(hook.destroyed == 1);
  hook.destroyed = 0;

  snprintf(path, sizeof path, "%s/phone.db", dir);
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/public/v1", port);
  CHECK_STATUS(experiture_config_set_storage_path(config, path, strlen(path)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_endpoint(config, endpoint, strlen(endpoint)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_token(config, S("c-api-test-token")), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_default_phone_region(config, S("GB")), EXPERITURE_OK);
  use_curl_table_if_needed(config);

  /* Without a hook (this build may or may not have libphonenumber): "broken" is no number. */
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  if (client != NULL) {
    CHECK_STATUS(
        experiture_client_upsert(client, S("profiles"), S("{\"phone\":\"broken\"}"), S("phone")),
        EXPERITURE_INVALID_PHONE);
    CHECK(strstr(experiture_last_error(NULL), "phone") != NULL);
    CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
    experiture_client_free(client);
    client = NULL;
  }

  CHECK_STATUS(experiture_config_set_phone_normalizer(config, &table), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  experiture_config_free(config);
  if (client == NULL) return;
  CHECK_STATUS(
      experiture_client_upsert(client, S("profiles"),
                               S("{\"phone\":\"020 7946 0958\",\"tier\":\"c-hook\"}"), S("phone")),
      EXPERITURE_OK);
  CHECK(hook.calls >= 1 && strcmp(hook.region, "GB") == 0);
  CHECK_STATUS(
      experiture_client_upsert(client, S("profiles"), S("{\"phone\":\"broken\"}"), S("phone")),
      EXPERITURE_INVALID_PHONE);
  CHECK_STATUS(experiture_client_login(client, NULL, 0, NULL, 0, S("07700 900123")),
               EXPERITURE_INVALID_PHONE);
  CHECK(strstr(experiture_last_error(NULL), "login.phone") != NULL);
  CHECK_STATUS(experiture_client_flush(client, 20000), EXPERITURE_OK);
  profile = http_get(port, "/_emulator/profile?key=phone&value=%2B442079460958", &http_status);
  CHECK(http_status == 200 && profile != NULL && strstr(profile, "c-hook") != NULL);
  if (http_status != 200 || profile == NULL) fprintf(stderr, "phone profile: %ld\n", http_status);
  free(profile);
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);
  CHECK(hook.destroyed == 1);
}

/* ---- persisted delivery diagnostics in experiture_client_stats ---- */

static void refuse_send(void* user_data, const experiture_http_request_t* request,
                        experiture_http_completion_t* completion) {
  experiture_http_response_t response;
  (void)user_data;
  (void)request;
  memset(&response, 0, sizeof response);
  response.error = EXPERITURE_TRANSPORT_CONNECT;
  response.error_message = "127.0.0.1:9: connection refused";
  response.error_message_length = strlen(response.error_message);
  experiture_http_complete(completion, &response);
}

/* The integer after "key": in a stats JSON object, or -1 when the key is missing. */
static long long json_integer(const char* json, const char* key) {
  char needle[96];
  const char* at;
  snprintf(needle, sizeof needle, "\"%s\":", key);
  at = json != NULL ? strstr(json, needle) : NULL;
  return at == NULL ? -1 : strtoll(at + strlen(needle), NULL, 10);
}

/* The string value after "key": (up to the closing quote, escapes not decoded) into out. */
static void json_string(const char* json, const char* key, char* out, size_t size) {
  char needle[96];
  const char* at;
  size_t n = 0;
  snprintf(needle, sizeof needle, "\"%s\":\"", key);
  at = json != NULL ? strstr(json, needle) : NULL;
  if (at != NULL) {
    at += strlen(needle);
    while (at[n] != '\0' && at[n] != '"' && n + 1 < size) ++n;
    memcpy(out, at, n);
  }
  out[n] = '\0';
}

static experiture_client_t* open_refused(const char* path) {
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;
  experiture_http_client_t table;
  memset(&table, 0, sizeof table);
  table.version = EXPERITURE_HTTP_CLIENT_VERSION;
  table.send = refuse_send;
  CHECK_STATUS(experiture_config_new(&config), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_storage_path(config, path, strlen(path)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_endpoint(config, S("http://127.0.0.1:9/public/v1")),
               EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_token(config, S("c-api-test-token")), EXPERITURE_OK);
  /* One failed attempt, then a minute until the next: the stats below are stable. */
  CHECK_STATUS(experiture_config_set_retry_policy(config, 60000, 2.0, 60000), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_http_client(config, &table), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  experiture_config_free(config);
  return client;
}

static void test_persisted_diagnostics(const char* dir) {
  char path[512];
  char error[256];
  char* stats = NULL;
  experiture_client_t* client;
  long long failed_at;
  snprintf(path, sizeof path, "%s/diagnostics.db", dir);

  client = open_refused(path);
  if (client == NULL) return;
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), S("{\"email\":\"d@example.com\"}"),
                                        S("email")),
               EXPERITURE_OK);
  /* flush cannot deliver: it returns TIMEOUT or PAUSED once the attempt failed. */
  CHECK(experiture_client_flush(client, 1500) != EXPERITURE_OK);
  CHECK_STATUS(experiture_client_stats(client, &stats, NULL), EXPERITURE_OK);
  json_string(stats, "last_delivery_error", error, sizeof error);
  CHECK(strstr(error, "NETWORK") != NULL && strstr(error, "127.0.0.1:9") != NULL);
  failed_at = json_integer(stats, "last_delivery_error_at_ms");
  CHECK(failed_at > 0);
  CHECK(json_integer(stats, "consecutive_failures") >= 1);
  CHECK(json_integer(stats, "next_attempt_at_ms") > failed_at);
  CHECK(json_integer(stats, "last_success_at_ms") == 0);
  CHECK(json_integer(stats, "last_storage_error_at_ms") == 0);
  CHECK(strstr(stats, "\"last_storage_error\":\"\"") != NULL);
  CHECK(strstr(stats, "\"last_pause_reason\":") != NULL);
  CHECK(json_integer(stats, "delivery_owner_pid") == 0);
  CHECK(json_integer(stats, "dropped_queue_full") == 0);
  if (strstr(error, "NETWORK") == NULL) fprintf(stderr, "stats: %s\n", stats);
  experiture_string_free(stats);
  stats = NULL;
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);

  /* A new client on the same file (another process in the field) sees why records are stuck. */
  client = open_refused(path);
  if (client == NULL) return;
  CHECK_STATUS(experiture_client_stats(client, &stats, NULL), EXPERITURE_OK);
  json_string(stats, "last_delivery_error", error, sizeof error);
  CHECK(strstr(error, "127.0.0.1:9") != NULL);
  CHECK(json_integer(stats, "last_delivery_error_at_ms") >= failed_at);
  CHECK(json_integer(stats, "consecutive_failures") >= 1);
  CHECK(json_integer(stats, "queued_records") >= 1);
  experiture_string_free(stats);
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);
}

/* Overwrites `length` bytes at `offset` with zeros; returns 0 on success. */
static int zero_bytes(const char* path, long offset, size_t length) {
  static const char zeros[4096];
  FILE* f = fopen(path, "r+b");
  int failed;
  if (f == NULL || length > sizeof zeros) return -1;
  failed = fseek(f, offset, SEEK_SET) != 0 || fwrite(zeros, 1, length, f) != length;
  return fclose(f) != 0 || failed;
}

/* A damaged outbox is moved aside at the next open and what is readable is salvaged; the counts
 * reach a C app through the stats JSON (and the Java and Swift bindings, which pass it on). */
static void test_damage_counts(const char* dir) {
  char path[512];
  char last[512];
  char* stats = NULL;
  experiture_client_t* client;
  long long pages, salvaged, lost;
  FILE* f;
  int i;
  snprintf(path, sizeof path, "%s/damaged.db", dir);

  client = open_refused(path);
  if (client == NULL) return;
  for (i = 0; i < 400; ++i) {
    char record[256];
    snprintf(record, sizeof record, "{\"event\":\"scan\",\"sequence\":%d,\"pad\":\"%0120d\"}", i,
             0);
    CHECK_STATUS(experiture_client_append(client, S("events"), record, strlen(record)),
                 EXPERITURE_OK);
  }
  CHECK_STATUS(experiture_client_persist(client, 10000), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_stats(client, &stats, NULL), EXPERITURE_OK);
  CHECK(json_integer(stats, "damage_salvaged") == 0);
  CHECK(json_integer(stats, "damage_lost") == 0);
  CHECK(strstr(stats, "\"last_damage\":\"\"") != NULL);
  experiture_string_free(stats);
  stats = NULL;
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);

  /* The header and a page in the middle overwritten with zeros. */
  f = fopen(path, "rb");
  CHECK(f != NULL);
  if (f == NULL) return;
  fseek(f, 0, SEEK_END);
  pages = ftell(f) / 4096;
  fclose(f);
  CHECK(pages > 8);
  CHECK(zero_bytes(path, 0, 100) == 0);
  CHECK(zero_bytes(path, (long)(pages / 2) * 4096, 4096) == 0);

  client = open_refused(path);
  if (client == NULL) return;
  CHECK_STATUS(experiture_client_stats(client, &stats, NULL), EXPERITURE_OK);
  salvaged = json_integer(stats, "damage_salvaged");
  lost = json_integer(stats, "damage_lost");
  json_string(stats, "last_damage", last, sizeof last);
  CHECK(salvaged > 0);
  CHECK(lost > 0); /* the rows on the zeroed page */
  CHECK(salvaged + lost >= 400);
  CHECK(json_integer(stats, "queued_records") == salvaged);
  CHECK(strstr(last, "moved to") != NULL);
  if (salvaged == 0 || lost == 0) fprintf(stderr, "stats: %s\n", stats);
  experiture_string_free(stats);
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);
}

/* ---- the loudly named cleartext opt-in for test rigs ---- */

static void test_insecure_http_opt_in(const char* dir) {
  char path[512];
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;
  snprintf(path, sizeof path, "%s/optin.db", dir);
  CHECK_STATUS(experiture_config_set_allow_insecure_http_for_testing(NULL, 1),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK_STATUS(experiture_config_new(&config), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_storage_path(config, path, strlen(path)), EXPERITURE_OK);
  /* TEST-NET-3: nothing is sent (no token, no writes); only open's check is exercised. */
  CHECK_STATUS(experiture_config_set_endpoint(config, S("http://203.0.113.7/public/v1")),
               EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_INVALID_CONFIG);
  CHECK(strstr(experiture_last_error(NULL), "endpoint") != NULL);
  CHECK(client == NULL);
  CHECK_STATUS(experiture_config_set_allow_insecure_http_for_testing(config, 1), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);
  client = NULL;
  /* Back off: refused again. */
  CHECK_STATUS(experiture_config_set_allow_insecure_http_for_testing(config, 0), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_INVALID_CONFIG);
  CHECK(client == NULL);
  /* The default logger's level is checked at open and names the option. */
  CHECK_STATUS(experiture_config_set_allow_insecure_http_for_testing(config, 1), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_log_level(config, S("loud")), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_INVALID_CONFIG);
  CHECK(strstr(experiture_last_error(NULL), "log_level") != NULL);
  CHECK(client == NULL);
  experiture_config_free(config);
}

int main(int argc, char** argv) {
  char dir[] = "/tmp/experiture-capi-XXXXXX";
  char command[600];
  int port;
  if (argc != 2) {
    fprintf(stderr, "usage: capi_test <experiture-emulator>\n");
    return 2;
  }
  if (mkdtemp(dir) == NULL) return 2;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  port = start_emulator(argv[1]);
  if (port < 0) {
    fprintf(stderr, "cannot start %s\n", argv[1]);
    return 2;
  }

  test_null_arguments();
  test_end_to_end(dir, port);
  test_c_http_client(dir);
  test_phone_normalizer(dir, port);
  test_persisted_diagnostics(dir);
  test_damage_counts(dir);
  test_insecure_http_opt_in(dir);

  stop_emulator();
  curl_global_cleanup();
  snprintf(command, sizeof command, "rm -rf '%s'", dir);
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
  printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
