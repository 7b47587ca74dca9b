/* What the C API test programs share: check macros that count and report without stopping, the
 * emulator started as a child process on an ephemeral loopback port, and a libcurl GET. C99. */
#ifndef EXPERITURE_TESTS_CAPI_TEST_SUPPORT_H
#define EXPERITURE_TESTS_CAPI_TEST_SUPPORT_H

#include <stdio.h>
#include <string.h>

#include "experiture/experiture.h"

extern int g_failures;
extern int g_checks;

#define CHECK(cond)                                                            \
  do {                                                                         \
    ++g_checks;                                                                \
    if (!(cond)) {                                                             \
      ++g_failures;                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_STATUS(expr, expected)                                                          \
  do {                                                                                        \
    experiture_status_t got_ = (expr);                                                        \
    ++g_checks;                                                                               \
    if (got_ != (expected)) {                                                                 \
      ++g_failures;                                                                           \
      fprintf(stderr, "%s:%d: %s returned %s (%s), expected %s\n", __FILE__, __LINE__, #expr, \
              experiture_status_name(got_), experiture_last_error(NULL),                      \
              experiture_status_name(expected));                                              \
    }                                                                                         \
  } while (0)

/* A string literal as the (pointer, length) pair the C API takes. */
#define S(literal) literal, strlen(literal)

/* Starts `emulator --port 0` and returns its port (its first stdout line), or -1. The child is
 * stopped at exit (SIGTERM) and killed if this process aborts or crashes, so that it never holds
 * ctest's output pipe open until the timeout. */
int start_emulator(const char* path);

/* Stops the emulator started by start_emulator(), if any; called at exit too. */
void stop_emulator(void);

/* A growing, NUL-terminated byte buffer (data is malloc'ed; free it) and a libcurl write callback
 * that appends to one. */
struct buffer {
  char* data;
  size_t size;
};
size_t append_bytes(char* ptr, size_t size, size_t count, void* user);

/* GET http://127.0.0.1:port/path; returns the malloc'ed, NUL-terminated body (or NULL; free it)
 * and the HTTP status in *status (0 when the request failed). */
char* http_get(int port, const char* path, long* status);

#endif
