/* The smallest useful app: open an outbox, upsert one record, flush, close. Measured by
 * experiture-bench's minimal_app_size (stripped executable + the stripped library it loads).
 * Usage: minimal_app <outbox path> <endpoint>; exits 0 when the record was delivered. */
#include <string.h>

#include "experiture/experiture.h"

int main(int argc, char** argv) {
  experiture_config_t* config = NULL;
  experiture_client_t* client = NULL;
  const char* record = "{\"email\":\"ada@example.com\",\"first_name\":\"Ada\"}";
  int failed = 1;
  if (argc != 3 || experiture_config_new(&config) != EXPERITURE_OK) return 2;
  if (experiture_config_set_storage_path(config, argv[1], strlen(argv[1])) == EXPERITURE_OK &&
      experiture_config_set_endpoint(config, argv[2], strlen(argv[2])) == EXPERITURE_OK &&
      experiture_config_set_token(config, "t", 1) == EXPERITURE_OK &&
      experiture_client_open(config, &client) == EXPERITURE_OK) {
    failed = experiture_client_upsert(client, "profiles", 8, record, strlen(record), "email", 5) !=
                 EXPERITURE_OK ||
             experiture_client_flush(client, 10000) != EXPERITURE_OK;
    if (experiture_client_close(client, 10000) != EXPERITURE_OK) failed = 1;
    experiture_client_free(client);
  }
  experiture_config_free(config);
  return failed;
}
