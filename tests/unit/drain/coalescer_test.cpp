#include "drain/coalescer.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace experiture {
namespace drain {
namespace {

using nlohmann::json;

const std::vector<std::string> kIdentity = {"email", "customer_id", "device_id"};

// An independent model of the server's merge model (docs/api.md): rows with fields; an index
// from every identity value a row ever carried to the row; a write resolves its match_key value,
// else its first other resolving identity value (in kIdentity order), merges every other row its
// identity values resolve into that one, then overlays its fields (null clears). Conflicting
// fields of merged rows keep the newest write, judged per row or per field.
class ServerModel {
 public:
  enum class Recency { kPerRow, kPerField };
  explicit ServerModel(Recency recency) : recency_(recency) {}

  void upsert(const json& record, const std::string& match_key) {
    const uint64_t seq = ++seq_;
    int target = resolve(match_key, record);
    std::vector<int> others;
    for (const auto& field : kIdentity) {
      if (field == match_key) continue;
      const int id = resolve(field, record);
      if (id < 0 || id == target) continue;
      if (target < 0) {
        target = id;
      } else if (std::find(others.begin(), others.end(), id) == others.end()) {
        others.push_back(id);
      }
    }
    if (target < 0) {
      target = next_id_++;
      rows_[target];
    }
    for (int other : others) merge(rows_[target], rows_[other], target), rows_.erase(other);
    Row& row = rows_[target];
    for (const auto& [field, value] : record.items()) {
      if (value.is_null()) {
        row.fields.erase(field);
        continue;
      }
      row.fields[field] = {value, seq};
      if (std::find(kIdentity.begin(), kIdentity.end(), field) != kIdentity.end()) {
        row.identities.insert(field + "=" + value.dump());
        index_[field + "=" + value.dump()] = target;
      }
    }
    row.last_seq = seq;
  }

  // Rows as sorted text: fields and identities, no ids or sequence numbers.
  std::vector<std::string> snapshot() const {
    std::vector<std::string> out;
    for (const auto& [id, row] : rows_) {
      json j;
      for (const auto& [field, value] : row.fields) j["fields"][field] = value.first;
      j["ids"] = row.identities;
      out.push_back(j.dump());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  struct Row {
    std::map<std::string, std::pair<json, uint64_t>> fields;  // value, seq of its last write
    std::set<std::string> identities;
    uint64_t last_seq = 0;
  };

  int resolve(const std::string& field, const json& record) const {
    const auto it = record.find(field);
    if (it == record.end() || it->is_null()) return -1;
    const auto found = index_.find(field + "=" + it->dump());
    return found == index_.end() ? -1 : found->second;
  }

  void merge(Row& target, const Row& other, int target_id) {
    for (const auto& [field, value] : other.fields) {
      const auto mine = target.fields.find(field);
      const bool newer = recency_ == Recency::kPerRow ? other.last_seq > target.last_seq
                                                      : value.second > mine->second.second;
      if (mine == target.fields.end() || newer) target.fields[field] = value;
    }
    for (const auto& id : other.identities) {
      target.identities.insert(id);
      index_[id] = target_id;
    }
    target.last_seq = std::max(target.last_seq, other.last_seq);
  }

  Recency recency_;
  std::map<int, Row> rows_;
  std::map<std::string, int> index_;
  uint64_t seq_ = 0;
  int next_id_ = 0;
};

// The SDK's own JSON values (json/json.hpp) of nlohmann documents, and back.
std::vector<experiture::json::Value> values_of(const std::vector<json>& docs) {
  std::vector<experiture::json::Value> out(docs.size());
  for (size_t i = 0; i < docs.size(); ++i)
    REQUIRE(experiture::json::parse(docs[i].dump(), &out[i]));
  return out;
}

json doc_of(const experiture::json::Value& value) {
  return json::parse(value.dump());
}

std::vector<json> parse_all(const std::vector<const char*>& texts) {
  std::vector<json> out;
  for (const char* t : texts) out.push_back(json::parse(t));
  return out;
}

TEST_CASE("coalescing follows the documented rules", "[drain][unit]") {
  struct Row {
    const char* name;
    std::vector<const char*> input;
    std::vector<const char*> output;
    std::vector<std::vector<size_t>> sources;
  };
  const Row row = GENERATE(values<Row>({
      {"adjacent writes overlay, later wins, nulls kept",
       {R"({"email":"a","x":1,"y":1})", R"({"email":"a","x":null,"z":2})"},
       {R"({"email":"a","x":null,"y":1,"z":2})"},
       {{0, 1}}},
      {"interleaved profiles group, each at its last write",
       {R"({"email":"a","x":1})", R"({"email":"b","x":2})", R"({"email":"a","x":3})"},
       {R"({"email":"b","x":2})", R"({"email":"a","x":3})"},
       {{1}, {0, 2}}},
      {"a group may not move a field past another profile's later write of it",
       {R"({"email":"a","x":1,"y":1})", R"({"email":"b","y":2})", R"({"email":"a","x":3})"},
       {R"({"email":"a","x":1,"y":1})", R"({"email":"b","y":2})", R"({"email":"a","x":3})"},
       {{0}, {1}, {2}}},
      {"a record with another identity field is a barrier",
       {R"({"email":"a","x":1})", R"({"email":"b","customer_id":"c"})", R"({"email":"a","x":2})"},
       {R"({"email":"a","x":1})", R"({"email":"b","customer_id":"c"})", R"({"email":"a","x":2})"},
       {{0}, {1}, {2}}},
      {"a null identity field is a barrier too",
       {R"({"email":"a","x":1})", R"({"email":"a","device_id":null})", R"({"email":"a","x":2})"},
       {R"({"email":"a","x":1})", R"({"email":"a","device_id":null})", R"({"email":"a","x":2})"},
       {{0}, {1}, {2}}},
      {"barriers never merge, even with each other",
       {R"({"email":"a","device_id":"d"})", R"({"email":"a","device_id":"d"})"},
       {R"({"email":"a","device_id":"d"})", R"({"email":"a","device_id":"d"})"},
       {{0}, {1}}},
      {"records without a string key pass through in place",
       {R"({"email":"a","x":1})", R"([1,2])", R"({"x":5})", R"({"email":7})", R"({"email":null})",
        R"({"email":"a","x":2})"},
       {R"({"email":"a","x":1})", R"([1,2])", R"({"x":5})", R"({"email":7})", R"({"email":null})",
        R"({"email":"a","x":2})"},
       {{0}, {1}, {2}, {3}, {4}, {5}}},
      {"segments on both sides of a barrier coalesce",
       {R"({"email":"a","x":1})", R"({"email":"a","x":2})", R"({"email":"b","device_id":"d"})",
        R"({"email":"b","x":3})", R"({"email":"c","z":4})", R"({"email":"b","y":5})"},
       {R"({"email":"a","x":2})", R"({"email":"b","device_id":"d"})", R"({"email":"c","z":4})",
        R"({"email":"b","x":3,"y":5})"},
       {{0, 1}, {2}, {4}, {3, 5}}},
  }));
  CAPTURE(row.name);
  const auto result =
      coalesce_upserts_with_sources(values_of(parse_all(row.input)), "email", kIdentity);
  REQUIRE(result.size() == row.output.size());
  for (size_t i = 0; i < result.size(); ++i) {
    CHECK(doc_of(result[i].record) == json::parse(row.output[i]));
    CHECK(result[i].sources == row.sources[i]);
  }
  CHECK(coalesce_upserts(values_of(parse_all(row.input)), "email", kIdentity).size() ==
        row.output.size());
}

TEST_CASE("an empty run coalesces to nothing", "[drain][unit]") {
  CHECK(coalesce_upserts_with_sources({}, "email", kIdentity).empty());
}

struct Generator {
  std::mt19937_64 rng;
  std::string match_key;

  int pick(int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); }
  json value() { return pick(5) == 0 ? json(nullptr) : json(pick(4)); }
  std::string identity(const std::string& field) { return field + "-" + std::to_string(pick(4)); }

  void add_fields(json& record) {
    for (const char* field : {"a", "b", "c", "d"}) {
      if (pick(2) == 0) record[field] = value();
    }
  }
  json plain() {
    json record = {{match_key, identity(match_key)}};
    add_fields(record);
    return record;
  }
  // A write that carries more identity values (or clears one): links and merges rows.
  json linking(const std::string& key) {
    json record = {{key, identity(key)}};
    for (const auto& field : kIdentity) {
      if (field == key || pick(2) == 0) continue;
      record[field] = pick(6) == 0 ? json(nullptr) : json(identity(field));
    }
    add_fields(record);
    return record;
  }
};

TEST_CASE("sending coalesced upserts leaves the server as sending the originals would",
          "[drain][unit]") {
  const auto recency = GENERATE(ServerModel::Recency::kPerRow, ServerModel::Recency::kPerField);
  size_t total_in = 0;
  size_t total_out = 0;
  for (uint64_t seed = 1; seed <= 1500; ++seed) {
    Generator gen{std::mt19937_64(seed), kIdentity[seed % kIdentity.size()]};
    ServerModel raw(recency);
    // Earlier sessions: rows already linked in ways the client does not know about, some
    // carrying several values of the match key.
    const int history = gen.pick(12);
    for (int i = 0; i < history; ++i) {
      raw.upsert(gen.linking(kIdentity[static_cast<size_t>(gen.pick(3))]), "");
    }
    ServerModel coalesced = raw;
    std::vector<json> run;
    const int length = 1 + gen.pick(40);
    for (int i = 0; i < length; ++i) {
      run.push_back(gen.pick(8) == 0 ? gen.linking(gen.match_key) : gen.plain());
    }
    // Later writes that merge rows: they compare recency, so the order of writes matters.
    std::vector<json> later;
    const int after = gen.pick(6);
    for (int i = 0; i < after; ++i) later.push_back(gen.linking(gen.match_key));

    for (const auto& record : run) raw.upsert(record, gen.match_key);
    const auto result = coalesce_upserts_with_sources(values_of(run), gen.match_key, kIdentity);
    for (const auto& c : result) coalesced.upsert(doc_of(c.record), gen.match_key);
    for (const auto& record : later) {
      raw.upsert(record, gen.match_key);
      coalesced.upsert(record, gen.match_key);
    }
    CAPTURE(seed, gen.match_key, json(run).dump());
    REQUIRE(raw.snapshot() == coalesced.snapshot());

    std::vector<size_t> all_sources;
    for (const auto& c : result) {
      REQUIRE(std::is_sorted(c.sources.begin(), c.sources.end()));
      all_sources.insert(all_sources.end(), c.sources.begin(), c.sources.end());
    }
    std::sort(all_sources.begin(), all_sources.end());
    for (size_t i = 0; i < all_sources.size(); ++i) REQUIRE(all_sources[i] == i);
    REQUIRE(all_sources.size() == run.size());
    total_in += run.size();
    total_out += result.size();
  }
  CHECK(total_out < total_in * 3 / 4);  // the property is not met by never coalescing
}

TEST_CASE("10,000 attribute writes over 100 profiles coalesce to 100 records", "[drain][unit]") {
  std::mt19937_64 rng(2024);
  std::vector<json> run;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t profile = rng() % 100;
    json record = {{"customer_id", "c" + std::to_string(profile)},
                   {"last_seen_at", "2026-04-21T15:30:" + std::to_string(i % 60) + "Z"},
                   {"score", rng() % 7 == 0 ? json(nullptr) : json(rng() % 1000)}};
    run.push_back(std::move(record));
  }
  const std::vector<std::string> identity = {"email",       "customer_id",  "phone",
                                             "external_id", "anonymous_id", "device_id"};
  const auto result = coalesce_upserts_with_sources(values_of(run), "customer_id", identity);
  REQUIRE(result.size() == 100);
  std::set<std::string> profiles;
  size_t sources = 0;
  for (const auto& c : result) {
    profiles.insert(c.record.find("customer_id")->text());
    sources += c.sources.size();
    // The merged record holds the profile's last write of each field.
    CHECK(doc_of(c.record) == run[c.sources.back()]);
  }
  CHECK(profiles.size() == 100);
  CHECK(sources == 10000);
  for (size_t i = 1; i < result.size(); ++i) {
    CHECK(result[i - 1].sources.back() < result[i].sources.back());
  }
}

}  // namespace
}  // namespace drain
}  // namespace experiture
