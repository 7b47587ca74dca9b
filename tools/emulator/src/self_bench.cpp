#include "self_bench.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "emulator_server.hpp"

namespace experiture {
namespace emulator {

namespace {

constexpr int kBatchRecords = 500;

std::string make_batch(int client, int batch) {
  std::string body = "{\"matchKey\":\"email\",\"records\":[";
  for (int i = 0; i < kBatchRecords; ++i) {
    if (i > 0) body += ',';
    std::string n = std::to_string(client) + "-" + std::to_string(batch) + "-" + std::to_string(i);
    body += "{\"email\":\"bench" + n + "@example.com\",\"customer_id\":\"c" + n +
            "\",\"first_name\":\"Bench\",\"tier\":\"gold\",\"last_seen_at\":"
            "\"2026-04-21T15:30:00Z\",\"order_count\":" +
            std::to_string(i) + "}";
  }
  return body + "]}";
}

}  // namespace

int run_self_bench(const EmulatorConfig& config) {
  EmulatorConfig server_config = config;
  server_config.host = "127.0.0.1";
  server_config.port = 0;
  server_config.self_bench = false;
  EmulatorServer server(server_config);
  std::string error;
  int port = server.start(&error);
  if (port < 0) {
    std::fprintf(stderr, "experiture-emulator: %s\n", error.c_str());
    return 1;
  }
  std::thread serving([&server] { server.run(); });

  std::atomic<bool> done{false};
  std::atomic<uint64_t> records{0}, failures{0};
  std::vector<std::thread> clients;
  auto started = std::chrono::steady_clock::now();
  for (int c = 0; c < config.bench_clients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      httplib::Headers headers = {{"Authorization", "Bearer bench"}};
      // Bodies are built ahead so the client spends its CPU on HTTP, not on JSON text.
      std::vector<std::string> bodies;
      for (int b = 0; b < 40; ++b) bodies.push_back(make_batch(c, b));
      for (size_t b = 0; !done; ++b) {
        auto result = client.Post("/public/v1/records/profiles/upsert-batch", headers,
                                  bodies[b % bodies.size()], "application/json");
        if (result && result->status == 200) {
          records += kBatchRecords;
        } else {
          failures++;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(config.bench_seconds));
  done = true;
  for (auto& client : clients) client.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  server.stop();
  serving.join();
  std::printf(
      "upsert-batch: %d clients, batches of %d, %.1f s: %llu records, %.0f records/s, "
      "%llu failed requests\n",
      config.bench_clients, kBatchRecords, seconds, static_cast<unsigned long long>(records.load()),
      records.load() / seconds, static_cast<unsigned long long>(failures.load()));
  return failures == 0 ? 0 : 1;
}

}  // namespace emulator
}  // namespace experiture
