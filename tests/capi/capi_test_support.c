#define _POSIX_C_SOURCE 200809L

#include "capi_test_support.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int g_failures = 0;
int g_checks = 0;

static pid_t g_emulator_pid = 0;

void stop_emulator(void) {
  if (g_emulator_pid > 0) {
    kill(g_emulator_pid, SIGTERM);
    waitpid(g_emulator_pid, NULL, 0);
    g_emulator_pid = 0;
  }
}

static void on_fatal_signal(int sig) {
  if (g_emulator_pid > 0) kill(g_emulator_pid, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

int start_emulator(const char* path) {
  int fds[2];
  pid_t pid;
  FILE* out;
  char line[64] = {0};
  int port = -1;
  if (pipe(fds) != 0) return -1;
  pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(path, path, "--port", "0", (char*)NULL);
    _exit(127);
  }
  close(fds[1]);
  g_emulator_pid = pid;
  atexit(stop_emulator);
  signal(SIGABRT, on_fatal_signal);
  signal(SIGSEGV, on_fatal_signal);
  out = fdopen(fds[0], "r");
  if (out != NULL && fgets(line, sizeof line, out) != NULL) port = atoi(line);
  if (out != NULL) fclose(out);
  return port > 0 ? port : -1;
}

size_t append_bytes(char* ptr, size_t size, size_t count, void* user) {
  struct buffer* b = (struct buffer*)user;
  size_t n = size * count;
  char* grown = realloc(b->data, b->size + n + 1);
  if (grown == NULL) return 0;
  memcpy(grown + b->size, ptr, n);
  b->size += n;
  grown[b->size] = '\0';
  b->data = grown;
  return n;
}

char* http_get(int port, const char* path, long* status) {
  char url[512];
  struct buffer body = {NULL, 0};
  CURL* curl = curl_easy_init();
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_bytes);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  *status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(curl);
  return body.data;
}
