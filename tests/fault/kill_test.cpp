// Process-kill tests: a child process writes through the real client and is SIGKILLed; the
// parent reopens the outbox and checks what survived.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "experiture/client.hpp"
#include "outbox/outbox.hpp"
#include "temp_dir.hpp"

using nlohmann::json;

namespace {

experiture::Config offline_config(const std::string& path) {
  experiture::Config c;
  c.storage_path = path;
  c.endpoint = "http://127.0.0.1:9/public/v1";
  c.initial_consent = experiture::Consent::kUnknown;  // nothing leaves: the outbox keeps it all
  return c;
}

std::vector<experiture::outbox::Entry> read_all(const std::string& path) {
  experiture::outbox::Outbox::Options options;
  options.path = path;
  auto outbox = experiture::outbox::Outbox::open(options, nullptr);
  REQUIRE(outbox.is_ok());
  auto entries = outbox.value()->read_entries(0, 10000000);
  REQUIRE(entries.is_ok());
  return entries.value();
}

// Child: never returns.
[[noreturn]] void write_then_report(const std::string& path, int fd, int total, int report_every) {
  auto opened = experiture::Client::open(offline_config(path));
  if (!opened.is_ok()) _exit(3);
  auto& client = *opened.value();
  for (int i = 0; i < total; ++i) {
    while (client.append("events", json{{"n", i}}).code() == experiture::Code::kQueueFull) {
      client.persist(1000);
    }
    if ((i + 1) % report_every == 0) {
      if (!client.persist(30000).is_ok()) _exit(4);
      int done = i + 1;
      if (write(fd, &done, sizeof done) != sizeof done) _exit(5);
    }
  }
  for (;;) pause();
}

}  // namespace

TEST_CASE("a child killed with SIGKILL after persist loses none of its 10,000 writes",
          "[fault][client]") {
  experiture::test::TempDir dir;
  const std::string path = dir.file("outbox.db");
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    write_then_report(path, fds[1], 10000, 10000);
  }
  close(fds[1]);
  int done = 0;
  REQUIRE(read(fds[0], &done, sizeof done) == sizeof done);
  close(fds[0]);
  REQUIRE(done == 10000);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));

  auto entries = read_all(path);
  REQUIRE(entries.size() == 10001);  // the anonymous profile, then the 10,000 in order
  for (int i = 0; i < 10000; ++i) {
    REQUIRE(json::parse(entries[i + 1].payload)["n"] == i);
  }
}

TEST_CASE("a child killed mid-stream keeps a gap-free prefix of its writes, at least all persisted",
          "[fault][client]") {
  experiture::test::TempDir dir;
  const std::string path = dir.file("outbox.db");
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    write_then_report(path, fds[1], 1000000, 2500);
  }
  close(fds[1]);
  int persisted = 0;
  for (int reports = 0; reports < 3; ++reports) {
    REQUIRE(read(fds[0], &persisted, sizeof persisted) == sizeof persisted);
  }
  kill(child, SIGKILL);  // while it keeps writing
  close(fds[0]);
  waitpid(child, nullptr, 0);

  auto entries = read_all(path);
  REQUIRE(entries.size() >= static_cast<size_t>(persisted) + 1);
  for (size_t i = 1; i < entries.size(); ++i) {
    REQUIRE(json::parse(entries[i].payload)["n"] == static_cast<int>(i - 1));
  }
}
