/* The C API under the call orders an app really makes: close (and free) from inside the SDK's own
 * callbacks (delivery listener, token provider, HTTP client), waiting calls from inside them,
 * two threads logging in different people at once, and callback tables of other versions.
 * Compiled as C99. Usage: capi_boundary_test <experiture-emulator> <scenario>; each scenario is
 * its own ctest entry, so an abort in one names it. Exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capi_test_support.h"
#include "experiture/experiture.h"

static int g_port = 0;
static char g_dir[] = "/tmp/experiture-capi-boundary-XXXXXX";

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a latch: the test thread waits (bounded) for a callback to have run ---- */

struct latch {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
};

static void latch_init(struct latch* l) {
  pthread_mutex_init(&l->mutex, NULL);
  pthread_cond_init(&l->cond, NULL);
  l->done = 0;
}

static void latch_open(struct latch* l) {
  pthread_mutex_lock(&l->mutex);
  l->done = 1;
  pthread_cond_broadcast(&l->cond);
  pthread_mutex_unlock(&l->mutex);
}

/* 1 when opened within timeout_ms. */
static int latch_wait(struct latch* l, int timeout_ms) {
  struct timespec deadline;
  int done;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&l->mutex);
  while (!l->done) {
    if (pthread_cond_timedwait(&l->cond, &l->mutex, &deadline) == ETIMEDOUT) break;
  }
  done = l->done;
  pthread_mutex_unlock(&l->mutex);
  return done;
}

/* ---- what a callback does to the client it belongs to ---- */

enum action { ACT_CLOSE, ACT_CLOSE_AND_FREE, ACT_WAITING_CALLS };

struct probe {
  experiture_client_t* client;
  enum action action;
  int fired; /* the callback ran the action once */
  experiture_status_t close_status;
  experiture_status_t persist_status, flush_status, dead_letters_status, upsert_status;
  int64_t waiting_ms; /* how long the waiting calls took inside the callback */
  struct latch latch;
};

static void act(struct probe* p) {
  if (p->fired) return;
  p->fired = 1;
  if (p->action == ACT_WAITING_CALLS) {
    char* letters = NULL;
    int64_t start = now_ms();
    p->persist_status = experiture_client_persist(p->client, 3000);
    p->flush_status = experiture_client_flush(p->client, 3000);
    p->dead_letters_status = experiture_client_dead_letters(p->client, 5, &letters, NULL);
    p->upsert_status = experiture_client_upsert(
        p->client, S("profiles"), S("{\"email\":\"inside@example.com\"}"), S("email"));
    p->waiting_ms = now_ms() - start;
    experiture_string_free(letters);
  } else {
    p->close_status = experiture_client_close(p->client, 2000);
    if (p->action == ACT_CLOSE_AND_FREE) experiture_client_free(p->client);
  }
  latch_open(&p->latch);
}

static void listener_event(void* user_data, const experiture_delivery_event_t* event) {
  if (event->type == EXPERITURE_EVENT_DELIVERED) act((struct probe*)user_data);
}

static void provider_token(void* user_data, int refresh, experiture_token_sink_t* sink) {
  (void)refresh;
  experiture_token_sink_write(sink, S("boundary-token"));
  act((struct probe*)user_data);
}

static void plain_token(void* user_data, int refresh, experiture_token_sink_t* sink) {
  (void)user_data;
  (void)refresh;
  experiture_token_sink_write(sink, S("boundary-token"));
}

/* An HTTP client that answers 200 from inside send() and then runs the action. */
static void inline_send(void* user_data, const experiture_http_request_t* request,
                        experiture_http_completion_t* completion) {
  experiture_http_response_t response;
  (void)request;
  memset(&response, 0, sizeof response);
  response.status = 200;
  response.body = "{\"success\":true,\"data\":{}}";
  response.body_length = strlen(response.body);
  experiture_http_complete(completion, &response);
  act((struct probe*)user_data);
}

static experiture_config_t* base_config(const char* name) {
  char path[600];
  char endpoint[128];
  experiture_config_t* config = NULL;
  snprintf(path, sizeof path, "%s/%s.db", g_dir, name);
  snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/public/v1", g_port);
  CHECK_STATUS(experiture_config_new(&config), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_storage_path(config, path, strlen(path)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_endpoint(config, endpoint, strlen(endpoint)), EXPERITURE_OK);
  CHECK_STATUS(experiture_config_set_flush_interval_ms(config, 20), EXPERITURE_OK);
  return config;
}

enum where { IN_LISTENER, IN_TOKEN_PROVIDER, IN_HTTP_CLIENT };

/* Opens a client whose `where` callback runs `action` once, writes one record, waits (bounded)
 * for the callback, then does what the app does afterwards: close and free from its own thread. */
static void run_in_callback(enum where where, enum action action, const char* name) {
  struct probe probe;
  experiture_config_t* config = base_config(name);
  experiture_token_provider_t provider;
  experiture_delivery_listener_t listener;
  experiture_http_client_t http;
  memset(&probe, 0, sizeof probe);
  latch_init(&probe.latch);
  probe.action = action;
  memset(&provider, 0, sizeof provider);
  provider.version = EXPERITURE_TOKEN_PROVIDER_VERSION;
  provider.user_data = &probe;
  provider.get_token = where == IN_TOKEN_PROVIDER ? provider_token : plain_token;
  CHECK_STATUS(experiture_config_set_token_provider(config, &provider), EXPERITURE_OK);
  if (where == IN_LISTENER) {
    memset(&listener, 0, sizeof listener);
    listener.version = EXPERITURE_DELIVERY_LISTENER_VERSION;
    listener.user_data = &probe;
    listener.on_event = listener_event;
    CHECK_STATUS(experiture_config_set_delivery_listener(config, &listener), EXPERITURE_OK);
  }
  if (where == IN_HTTP_CLIENT) {
    memset(&http, 0, sizeof http);
    http.version = EXPERITURE_HTTP_CLIENT_VERSION;
    http.user_data = &probe;
    http.send = inline_send;
    CHECK_STATUS(experiture_config_set_http_client(config, &http), EXPERITURE_OK);
  }
  CHECK_STATUS(experiture_client_open(config, &probe.client), EXPERITURE_OK);
  experiture_config_free(config);
  if (probe.client == NULL) return;
  CHECK_STATUS(experiture_client_upsert(probe.client, S("profiles"),
                                        S("{\"email\":\"ada@example.com\"}"), S("email")),
               EXPERITURE_OK);
  CHECK(latch_wait(&probe.latch, 20000));
  if (action == ACT_WAITING_CALLS) {
    /* Inside a callback the waiting calls answer at once instead of waiting for the SDK thread
     * that runs the callback (which would be a deadlock bounded only by their timeout). */
    CHECK(probe.persist_status == EXPERITURE_WRONG_STATE);
    CHECK(probe.flush_status == EXPERITURE_WRONG_STATE);
    CHECK(probe.dead_letters_status == EXPERITURE_OK);
    CHECK(probe.upsert_status == EXPERITURE_OK);
    CHECK(probe.waiting_ms < 1000);
    if (probe.waiting_ms >= 1000)
      fprintf(stderr, "waiting calls took %lld ms\n", (long long)probe.waiting_ms);
    CHECK_STATUS(experiture_client_close(probe.client, 5000), EXPERITURE_OK);
    experiture_client_free(probe.client);
    return;
  }
  CHECK(probe.close_status == EXPERITURE_OK);
  if (probe.close_status != EXPERITURE_OK) {
    fprintf(stderr, "close inside the callback: %s\n", experiture_status_name(probe.close_status));
  }
  if (action == ACT_CLOSE) {
    /* Every later call is CLOSED; the app's own close waits for the SDK thread and returns OK;
     * free then releases everything (this aborted before: a joinable thread was destroyed). */
    CHECK_STATUS(experiture_client_upsert(probe.client, S("profiles"),
                                          S("{\"email\":\"late@example.com\"}"), S("email")),
                 EXPERITURE_CLOSED);
    CHECK_STATUS(experiture_client_close(probe.client, 5000), EXPERITURE_OK);
    CHECK_STATUS(experiture_client_close(probe.client, 5000), EXPERITURE_OK);
    experiture_client_free(probe.client);
  }
}

/* ---- concurrent logins ---- */

struct login_arg {
  experiture_client_t* client;
  pthread_barrier_t* barrier;
  char email[96];
  char customer_id[64];
  experiture_status_t status;
};

static void* login_thread(void* p) {
  struct login_arg* a = (struct login_arg*)p;
  pthread_barrier_wait(a->barrier);
  a->status = experiture_client_login(a->client, a->email, strlen(a->email), a->customer_id,
                                      strlen(a->customer_id), NULL, 0);
  return NULL;
}

/* Two threads log in two people at once on a fresh client; after delivery no profile of the
 * emulator may hold both people's identifiers (one device, two people, never merged). */
static void test_concurrent_logins(int rounds) {
  int merged = 0;
  int round;
  for (round = 0; round < rounds; ++round) {
    char name[32];
    char query[256];
    long status = 0;
    char* profile;
    experiture_config_t* config;
    experiture_client_t* client = NULL;
    pthread_barrier_t barrier;
    pthread_t threads[2];
    struct login_arg args[2];
    int i;
    snprintf(name, sizeof name, "logins-%d", round);
    config = base_config(name);
    CHECK_STATUS(experiture_config_set_token(config, S("boundary-token")), EXPERITURE_OK);
    CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
    experiture_config_free(config);
    if (client == NULL) return;
    pthread_barrier_init(&barrier, NULL, 2);
    for (i = 0; i < 2; ++i) {
      memset(&args[i], 0, sizeof args[i]);
      args[i].client = client;
      args[i].barrier = &barrier;
      snprintf(args[i].email, sizeof args[i].email, "person%c-%d-%d@example.com", 'a' + i, round,
               (int)getpid());
      snprintf(args[i].customer_id, sizeof args[i].customer_id, "cust%c-%d-%d", 'a' + i, round,
               (int)getpid());
      pthread_create(&threads[i], NULL, login_thread, &args[i]);
    }
    for (i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    CHECK(args[0].status == EXPERITURE_OK && args[1].status == EXPERITURE_OK);
    CHECK_STATUS(experiture_client_flush(client, 20000), EXPERITURE_OK);
    CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
    experiture_client_free(client);
    for (i = 0; i < 2; ++i) {
      const struct login_arg* other = &args[1 - i];
      snprintf(query, sizeof query, "/_emulator/profile?key=email&value=%s", args[i].email);
      profile = http_get(g_port, query, &status);
      CHECK(status == 200 && profile != NULL);
      if (profile != NULL &&
          (strstr(profile, other->email) != NULL || strstr(profile, other->customer_id) != NULL)) {
        ++merged;
        if (merged == 1) fprintf(stderr, "round %d merged two people: %s\n", round, profile);
      }
      free(profile);
    }
  }
  if (merged > 0) fprintf(stderr, "%d of %d rounds merged two people\n", merged / 2, rounds);
  CHECK(merged == 0);
}

/* ---- callback table versions ---- */

/* A table from a newer header: the members this library knows, then one it does not. */
struct listener_v2 {
  experiture_delivery_listener_t v1;
  void (*on_future_event)(void* user_data, const void* event);
  char garbage[64];
};

static int g_destroyed = 0;
static void count_destroy(void* user_data) {
  (void)user_data;
  ++g_destroyed;
}
static void ignore_event(void* user_data, const experiture_delivery_event_t* event) {
  (void)user_data;
  (void)event;
}

static void test_table_versions(void) {
  experiture_config_t* config = base_config("versions");
  experiture_client_t* client = NULL;
  struct listener_v2 newer;
  experiture_delivery_listener_t table;
  experiture_logger_t logger;

  /* A newer version is read up to what this library knows and works. */
  memset(&newer, 0xAB, sizeof newer);
  newer.v1.version = EXPERITURE_DELIVERY_LISTENER_VERSION + 1;
  newer.v1.user_data = NULL;
  newer.v1.destroy = count_destroy;
  newer.v1.on_event = ignore_event;
  CHECK_STATUS(experiture_config_set_delivery_listener(config, &newer.v1), EXPERITURE_OK);

  /* Version 0 (a zeroed or uninitialised table) and absurd versions are refused with a status
   * that names the rule, and the table's user_data is still released. */
  memset(&table, 0, sizeof table);
  table.destroy = count_destroy;
  table.on_event = ignore_event;
  g_destroyed = 0;
  CHECK_STATUS(experiture_config_set_delivery_listener(config, &table),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK(strstr(experiture_last_error(NULL), "version") != NULL);
  CHECK(g_destroyed == 1);
  table.version = 0xFFFFFFFFu;
  CHECK_STATUS(experiture_config_set_delivery_listener(config, &table),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK(strstr(experiture_last_error(NULL), "version") != NULL);
  memset(&logger, 0, sizeof logger);
  logger.version = 0x7FFFFFFFu;
  logger.log = NULL;
  CHECK_STATUS(experiture_config_set_logger(config, &logger), EXPERITURE_INVALID_ARGUMENT);

  CHECK_STATUS(experiture_config_set_token(config, S("boundary-token")), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  experiture_config_free(config);
  g_destroyed = 0;
  CHECK_STATUS(experiture_client_upsert(client, S("profiles"), S("{\"email\":\"v2@example.com\"}"),
                                        S("email")),
               EXPERITURE_OK);
  CHECK_STATUS(experiture_client_flush(client, 20000), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);
  CHECK(g_destroyed == 1); /* the newer table's destroy, once */
}

/* ---- invalid UTF-8 ---- */

static void test_invalid_utf8(void) {
  experiture_config_t* config = base_config("utf8");
  experiture_client_t* client = NULL;
  const char bad_record[] = "{\"email\":\"a@example.com\",\"first_name\":\"\xC3\x28\"}";
  const char surrogate[] = "{\"email\":\"a@example.com\",\"first_name\":\"\xED\xA0\x80\"}";
  CHECK_STATUS(experiture_config_set_token(config, S("boundary-token")), EXPERITURE_OK);
  CHECK_STATUS(experiture_client_open(config, &client), EXPERITURE_OK);
  experiture_config_free(config);
  if (client == NULL) return;
  CHECK(experiture_client_upsert(client, S("profiles"), bad_record, strlen(bad_record),
                                 S("email")) != EXPERITURE_OK);
  CHECK(strstr(experiture_last_error(NULL), "UTF-8") != NULL);
  CHECK(experiture_client_upsert(client, S("profiles"), surrogate, strlen(surrogate), S("email")) !=
        EXPERITURE_OK);
  CHECK_STATUS(experiture_client_upsert(client, S("prof\xFFiles"),
                                        S("{\"email\":\"a@example.com\"}"), S("email")),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK(strstr(experiture_last_error(NULL), "object") != NULL);
  CHECK_STATUS(experiture_client_login(client, S("ada@example.com"), S("c\xC0\xAF"), NULL, 0),
               EXPERITURE_INVALID_ARGUMENT);
  CHECK(strstr(experiture_last_error(NULL), "customer_id") != NULL);
  CHECK_STATUS(experiture_client_set_push_token(client, S("tok\x80")), EXPERITURE_INVALID_ARGUMENT);
  CHECK(strstr(experiture_last_error(NULL), "token") != NULL);
  CHECK_STATUS(experiture_client_close(client, 5000), EXPERITURE_OK);
  experiture_client_free(client);
}

int main(int argc, char** argv) {
  char command[600];
  const char* scenario;
  if (argc != 3) {
    fprintf(stderr, "usage: capi_boundary_test <experiture-emulator> <scenario>\n");
    return 2;
  }
  scenario = argv[2];
  if (mkdtemp(g_dir) == NULL) return 2;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  g_port = start_emulator(argv[1]);
  if (g_port < 0) {
    fprintf(stderr, "cannot start %s\n", argv[1]);
    return 2;
  }
  if (strcmp(scenario, "close-in-listener") == 0) {
    run_in_callback(IN_LISTENER, ACT_CLOSE, "listener");
  } else if (strcmp(scenario, "close-in-token-provider") == 0) {
    run_in_callback(IN_TOKEN_PROVIDER, ACT_CLOSE, "provider");
  } else if (strcmp(scenario, "close-in-http-client") == 0) {
    run_in_callback(IN_HTTP_CLIENT, ACT_CLOSE, "http");
  } else if (strcmp(scenario, "free-in-listener") == 0) {
    run_in_callback(IN_LISTENER, ACT_CLOSE_AND_FREE, "listener-free");
  } else if (strcmp(scenario, "waiting-calls-in-listener") == 0) {
    run_in_callback(IN_LISTENER, ACT_WAITING_CALLS, "listener-wait");
  } else if (strcmp(scenario, "waiting-calls-in-token-provider") == 0) {
    run_in_callback(IN_TOKEN_PROVIDER, ACT_WAITING_CALLS, "provider-wait");
  } else if (strcmp(scenario, "concurrent-logins") == 0) {
    test_concurrent_logins(100);
  } else if (strcmp(scenario, "table-versions") == 0) {
    test_table_versions();
  } else if (strcmp(scenario, "invalid-utf8") == 0) {
    test_invalid_utf8();
  } else {
    fprintf(stderr, "unknown scenario %s\n", scenario);
    return 2;
  }
  stop_emulator();
  curl_global_cleanup();
  snprintf(command, sizeof command, "rm -rf '%s'", g_dir);
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
  printf("%s: %d checks, %d failed\n", scenario, g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
