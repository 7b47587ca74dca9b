/* rss_100k's process: accepts COUNT ~200-byte profile upserts, flushes them to ENDPOINT (the
 * emulator), closes, and prints "rss_kib N delivered_ok 1 queue_full F" (N = VmHWM, F = calls
 * that met a full ingress queue and were made again after persist()). It links only the C API,
 * so the library it loads (LD_LIBRARY_PATH) decides whether libphonenumber is in the process.
 * Usage: rss_app <outbox path> <endpoint> <count> [ingress_max_bytes] (to compare settings) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiture/experiture.h"

static unsigned long peak_rss_kib(void) {
  char line[256];
  unsigned long kib = 0;
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmHWM:", 6) == 0) kib = strtoul(line + 6, NULL, 10);
  }
  fclose(f);
  return kib;
}

int main(int argc, char** argv) {
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;
  char record[320];
  long count, i, queue_full = 0;
  int ok = 0;
  if ((argc != 4 && argc != 5) || experiture_config_new(&config) != EXPERITURE_OK) return 2;
  count = strtol(argv[3], NULL, 10);
  if (argc == 5 && experiture_config_set_ingress_max_bytes(
                       config, (size_t)strtoull(argv[4], NULL, 10)) != EXPERITURE_OK) {
    return 2;
  }
  if (experiture_config_set_storage_path(config, argv[1], strlen(argv[1])) != EXPERITURE_OK ||
      experiture_config_set_endpoint(config, argv[2], strlen(argv[2])) != EXPERITURE_OK ||
      experiture_config_set_token(config, "bench-token", 11) != EXPERITURE_OK ||
      experiture_client_open(config, &client) != EXPERITURE_OK) {
    fprintf(stderr, "open failed: %s\n", experiture_last_error(NULL));
    return 1;
  }
  for (i = 0; i < count; ++i) {
    experiture_status_t s;
    int n = snprintf(record, sizeof record,
                     "{\"email\":\"user.%ld@example.com\",\"customer_id\":\"c-%ld\","
                     "\"phone\":\"+1212555%04ld\",\"first_name\":\"Alexandra\","
                     "\"last_name\":\"Johnson-Smith\",\"city\":\"Springfield\","
                     "\"tier\":\"premium-annual\",\"device_model\":\"Lobby kiosk #7\"}",
                     i, i, i % 10000);
    /* What the SDK's docs tell an app to do on QUEUE_FULL (nothing was accepted): wait for the
     * store thread with persist() on this (non-UI) thread, then write again. */
    while ((s = experiture_client_upsert(client, "profiles", 8, record, (size_t)n, "email", 5)) ==
           EXPERITURE_QUEUE_FULL) {
      ++queue_full;
      if (experiture_client_persist(client, 60000) != EXPERITURE_OK) {
        fprintf(stderr, "persist failed: %s\n", experiture_last_error(NULL));
        return 1;
      }
    }
    if (s != EXPERITURE_OK) {
      fprintf(stderr, "upsert %ld failed: %s\n", i, experiture_last_error(NULL));
      return 1;
    }
  }
  ok = experiture_client_flush(client, 600000) == EXPERITURE_OK;
  if (!ok) fprintf(stderr, "flush failed: %s\n", experiture_last_error(NULL));
  experiture_client_close(client, 10000);
  experiture_client_free(client);
  experiture_config_free(config);
  printf("rss_kib %lu delivered_ok %d queue_full %ld\n", peak_rss_kib(), ok, queue_full);
  return ok ? 0 : 1;
}
