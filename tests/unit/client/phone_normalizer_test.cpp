// The phone-normaliser seam (Config::phone_normalizer) and the built-in E.164-only rule, through
// the public Client API.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "experiture/client.hpp"
#include "experiture/platform/backends.hpp"
#include "fakes.hpp"
#include "outbox/outbox.hpp"
#include "temp_dir.hpp"

using experiture::Client;
using experiture::Code;
using experiture::Config;
using experiture::LoginInfo;
using nlohmann::json;

namespace {

// An app's normaliser: knows one national format of region "GB", passes E.164 through (as every
// normaliser must: the SDK hands its own output back, e.g. the login's identity write), counts
// calls.
class GbNationalNormalizer final : public experiture::platform::PhoneNormalizer {
 public:
  std::optional<std::string> to_e164(std::string_view raw, std::string_view region) const override {
    ++calls;
    last_region = std::string(region);
    if (raw == "020 7946 0958" || raw == "+442079460958") return std::string("+442079460958");
    if (raw == "broken") return std::string("442079460958");  // not E.164: must not be stored
    return std::nullopt;
  }
  mutable std::atomic<int> calls{0};
  mutable std::string last_region;
};

struct PhoneHarness {
  experiture::test::TempDir dir;

  Config config(std::shared_ptr<experiture::platform::PhoneNormalizer> phone) const {
    Config c;
    c.storage_path = dir.file("outbox.db");
    c.endpoint = "http://127.0.0.1:9/public/v1";
    c.token = "test-token";
    c.manual_mode = true;
    c.http = std::make_shared<experiture::test::FakeHttpClient>();
    c.default_phone_region = "GB";
    c.phone_normalizer = std::move(phone);
    return c;
  }

  std::vector<experiture::outbox::Entry> queued() const {
    experiture::outbox::Outbox::Options options;
    options.path = dir.file("outbox.db");
    auto outbox = experiture::outbox::Outbox::open(options, nullptr);
    REQUIRE(outbox.is_ok());
    return outbox.value()->read_entries(0, 1000000).value();
  }
};

}  // namespace

TEST_CASE("an app phone normaliser turns a national number into the stored E.164 form",
          "[client][unit]") {
  PhoneHarness h;
  auto normalizer = std::make_shared<GbNationalNormalizer>();
  {
    auto opened = Client::open(h.config(normalizer));
    REQUIRE(opened.is_ok());
    auto& client = *opened.value();
    REQUIRE(client.upsert("profiles", json{{"phone", "020 7946 0958"}}, "phone").is_ok());
    CHECK(normalizer->last_region == "GB");
    const auto login = client.login(LoginInfo{"", "", "020 7946 0958"});
    INFO(login.to_string());
    REQUIRE(login.is_ok());
    REQUIRE(client.persist(5000).is_ok());
  }
  CHECK(normalizer->calls >= 2);
  bool stored = false;
  for (const auto& entry : h.queued()) {
    const json record = json::parse(entry.payload);
    if (record.contains("phone")) {
      CHECK(record["phone"] == "+442079460958");
      stored = true;
    }
  }
  CHECK(stored);
}

TEST_CASE("an app phone normaliser that answers something other than E.164 is not trusted",
          "[client][unit]") {
  PhoneHarness h;
  auto opened = Client::open(h.config(std::make_shared<GbNationalNormalizer>()));
  REQUIRE(opened.is_ok());
  auto& client = *opened.value();
  const auto status = client.upsert("profiles", json{{"phone", "broken"}}, "phone");
  CHECK(status.code() == Code::kInvalidPhone);
  CHECK(client.upsert("profiles", json{{"phone", "07700 900123"}}, "phone").code() ==
        Code::kInvalidPhone);
  CHECK(client.login(LoginInfo{"", "", "broken"}).code() == Code::kInvalidPhone);
}

TEST_CASE(
    "the built-in E.164 rule accepts separators and says a national number needs a normaliser",
    "[client][unit]") {
  PhoneHarness h;
  // What the SDK uses without libphonenumber and without an app normaliser.
  auto opened =
      Client::open(h.config(std::make_shared<experiture::platform::E164OnlyPhoneNormalizer>()));
  REQUIRE(opened.is_ok());
  auto& client = *opened.value();
  CHECK(client.upsert("profiles", json{{"phone", "+44 (20) 7946-0958"}}, "phone").is_ok());
  const auto national = client.upsert("profiles", json{{"phone", "020 7946 0958"}}, "phone");
  CHECK(national.code() == Code::kInvalidPhone);
  CHECK_THAT(national.message(), Catch::Contains("national number needs a phone normaliser"));
  CHECK_THAT(national.message(), Catch::Contains("phone"));
  const auto login = client.login(LoginInfo{"", "", "07700 900123"});
  CHECK(login.code() == Code::kInvalidPhone);
  CHECK_THAT(login.message(), Catch::Contains("login.phone"));
  CHECK_THAT(login.message(), Catch::Contains("national number needs a phone normaliser"));
  REQUIRE(client.persist(5000).is_ok());
  bool stored = false;
  for (const auto& entry : h.queued()) {
    const json record = json::parse(entry.payload);
    if (record.contains("phone")) {
      CHECK(record["phone"] == "+442079460958");
      stored = true;
    }
  }
  CHECK(stored);
}
