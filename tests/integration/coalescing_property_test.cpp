// Property: what the SDK sends after coalescing leaves the CDP in exactly the state that sending
// every write one by one, in order, leaves it in. Two emulators, one per path, compared.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>

#include "emulator_process.hpp"
#include "experiture/client.hpp"
#include "temp_dir.hpp"

using experiture::test::EmulatorProcess;
using nlohmann::json;

namespace {

json random_write(std::mt19937& rng) {
  static const char* const kFields[] = {"first_name", "last_name", "tier", "city", "locale"};
  const int profile = std::uniform_int_distribution<int>(0, 3)(rng);
  json record = {{"email", "p" + std::to_string(profile) + "@example.com"}};
  const int fields = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int f = 0; f < fields; ++f) {
    const char* name = kFields[std::uniform_int_distribution<int>(0, 4)(rng)];
    if (std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
      record[name] = nullptr;  // explicit null clears
    } else {
      record[name] = "v" + std::to_string(std::uniform_int_distribution<int>(0, 99)(rng));
    }
  }
  // Sometimes an extra identifier, which links rows and must stop unsafe merging.
  if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
    record["customer_id"] = "c" + std::to_string(std::uniform_int_distribution<int>(0, 3)(rng));
  }
  return record;
}

// Profiles as {identifiers, fields}, order-independent.
json state_of(const EmulatorProcess& emulator) {
  json out = json::array();
  for (const auto& p : emulator.profiles()) {
    json fields = p["fields"];
    fields.erase("device_id");
    fields.erase("platform");
    fields.erase("sdk_version");
    fields.erase("last_seen_at");
    if (fields.empty()) continue;  // the SDK's anonymous device profile
    out.push_back(fields);
  }
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return a.dump() < b.dump(); });
  return out;
}

}  // namespace

TEST_CASE("coalesced batches leave the CDP exactly as the writes one by one would",
          "[integration][drain]") {
  const int seed = GENERATE(range(1, 9));
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::vector<json> writes;
  for (int i = 0; i < 60; ++i) writes.push_back(random_write(rng));

  EmulatorProcess raw;
  for (const auto& w : writes) {
    auto response =
        raw.post_api("/records/profiles/upsert", json{{"record", w}, {"matchKey", "email"}});
    REQUIRE(response.status == 200);
  }

  EmulatorProcess coalesced;
  experiture::test::TempDir dir;
  experiture::Config c;
  c.storage_path = dir.file("outbox.db");
  c.endpoint = coalesced.base_url();
  c.token = "test-token";
  auto opened = experiture::Client::open(c);
  REQUIRE(opened.is_ok());
  auto& client = *opened.value();
  for (const auto& w : writes) REQUIRE(client.upsert("profiles", w, "email").is_ok());
  REQUIRE(client.flush(20000).is_ok());
  const auto requests = coalesced.counters()["requests"].get<int64_t>();
  CHECK(requests < 60);  // it did coalesce (one batch, not a request per write)

  INFO("seed " << seed);
  CHECK(state_of(coalesced) == state_of(raw));
}
