#include "record_store.hpp"

#include <algorithm>
#include <cctype>

#include "emulated_clock.hpp"
#include "state_file.hpp"

namespace experiture {
namespace emulator {

std::string RecordStore::index_key(const std::string& field, const std::string& value) {
  std::string key;
  key.reserve(field.size() + value.size() + 1);
  key.append(field).push_back('\x1f');
  key.append(value);
  return key;
}

std::string RecordStore::identity_value(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

uint64_t RecordStore::upsert(const std::string& object, const ObjectSchema& schema,
                             const nlohmann::json& record, const std::string& match_key,
                             int64_t now_ms, const std::string& idempotency_key) {
  Table& table = tables_[object];
  auto lookup = [&table](const std::string& field, const nlohmann::json& value) -> uint64_t {
    auto it = table.index.find(index_key(field, identity_value(value)));
    return it == table.index.end() ? 0 : it->second;
  };
  uint64_t target = 0;
  auto match = record.find(match_key);
  if (match != record.end() && !match->is_null()) target = lookup(match_key, *match);
  std::vector<uint64_t> others;
  for (const std::string& key : schema.identity_keys) {
    auto it = record.find(key);
    if (key == match_key || it == record.end() || it->is_null()) continue;
    uint64_t id = lookup(key, *it);
    if (id == 0 || id == target) continue;
    if (target == 0) {
      target = id;
    } else if (std::find(others.begin(), others.end(), id) == others.end()) {
      others.push_back(id);
    }
  }
  if (target == 0) {
    target = next_id_++;
    Profile created;
    created.id = target;
    created.created_at_ms = now_ms;
    table.rows.emplace(target, std::move(created));
  }
  Profile& profile = table.rows[target];
  for (uint64_t other_id : others) {
    merge_into(table, profile, table.rows[other_id]);
    table.rows.erase(other_id);
    dirty_.erase({object, other_id});
    if (state_ != nullptr) deleted_.insert({object, other_id});
  }
  for (const auto& item : record.items()) {
    if (item.value().is_null()) {
      profile.fields.erase(item.key());
      continue;
    }
    profile.fields[item.key()] = item.value();
    if (schema.is_identity_key(item.key())) {
      std::string value = identity_value(item.value());
      profile.identifiers[item.key()].insert(value);
      table.index[index_key(item.key(), value)] = target;
    }
  }
  uint64_t seq = next_seq_++;
  profile.write_count++;
  profile.last_write_seq = seq;
  profile.updated_at_ms = now_ms;
  profile.writes.push_back({seq, idempotency_key, now_ms, record});
  if (profile.writes.size() > kMaxWriteLog) profile.writes.erase(profile.writes.begin());
  if (state_ != nullptr) dirty_.insert({object, target});
  return target;
}

void RecordStore::merge_into(Table& table, Profile& target, Profile& other) {
  bool other_newer = other.last_write_seq > target.last_write_seq;
  for (const auto& item : other.fields.items()) {
    if (!target.fields.contains(item.key()) || other_newer) {
      target.fields[item.key()] = item.value();
    }
  }
  for (const auto& identifier : other.identifiers) {
    for (const std::string& value : identifier.second) {
      target.identifiers[identifier.first].insert(value);
      table.index[index_key(identifier.first, value)] = target.id;
    }
  }
  target.write_count += other.write_count;
  target.last_write_seq = std::max(target.last_write_seq, other.last_write_seq);
  target.created_at_ms = std::min(target.created_at_ms, other.created_at_ms);
  target.writes.insert(target.writes.end(), other.writes.begin(), other.writes.end());
  std::sort(target.writes.begin(), target.writes.end(),
            [](const WriteLogEntry& a, const WriteLogEntry& b) { return a.seq < b.seq; });
  if (target.writes.size() > kMaxWriteLog) {
    target.writes.erase(target.writes.begin(),
                        target.writes.begin() + (target.writes.size() - kMaxWriteLog));
  }
}

uint64_t RecordStore::append(const std::string& object, const nlohmann::json& record,
                             int64_t now_ms, const std::string& idempotency_key) {
  EventRow row;
  row.seq = next_seq_++;
  row.object = object;
  row.fields = record;
  row.received_at_ms = now_ms;
  row.idempotency_key = idempotency_key;
  events_.push_back(std::move(row));
  return events_.back().seq;
}

void RecordStore::persist_changes() {
  if (state_ == nullptr) return;
  for (const auto& key : deleted_) state_->delete_profile(key.first, key.second);
  for (const auto& key : dirty_) {
    const Table& table = tables_[key.first];
    auto it = table.rows.find(key.second);
    if (it != table.rows.end()) {
      state_->save_profile(key.first, key.second, profile_json(key.first, it->second).dump());
    }
  }
  for (; persisted_events_ < events_.size(); ++persisted_events_) {
    const EventRow& row = events_[persisted_events_];
    state_->save_event(row.seq, event_json(row).dump());
  }
  state_->set_meta("next_id", std::to_string(next_id_));
  state_->set_meta("next_seq", std::to_string(next_seq_));
  dirty_.clear();
  deleted_.clear();
}

void RecordStore::load() {
  if (state_ == nullptr) return;
  state_->load_profiles([this](const std::string& text) {
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) return;
    Profile profile;
    profile.id = doc.value("id", uint64_t{0});
    profile.fields = doc.value("fields", nlohmann::json::object());
    profile.write_count = doc.value("write_count", uint64_t{0});
    profile.last_write_seq = doc.value("last_write_seq", uint64_t{0});
    profile.created_at_ms = doc.value("created_at_ms", int64_t{0});
    profile.updated_at_ms = doc.value("updated_at_ms", int64_t{0});
    const nlohmann::json writes = doc.contains("writes") ? doc["writes"] : nlohmann::json();
    for (const auto& entry : writes) {
      profile.writes.push_back(
          {entry.value("seq", uint64_t{0}), entry.value("idempotency_key", std::string()),
           entry.value("at_ms", int64_t{0}), entry.value("set", nlohmann::json::object())});
    }
    Table& table = tables_[doc.value("object", std::string("profiles"))];
    const nlohmann::json identifiers =
        doc.contains("identifiers") ? doc["identifiers"] : nlohmann::json::object();
    for (const auto& identifier : identifiers.items()) {
      for (const auto& value : identifier.value()) {
        profile.identifiers[identifier.key()].insert(value.get<std::string>());
        table.index[index_key(identifier.key(), value.get<std::string>())] = profile.id;
      }
    }
    table.rows[profile.id] = std::move(profile);
  });
  state_->load_events([this](const std::string& text) {
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) return;
    EventRow row;
    row.seq = doc.value("seq", uint64_t{0});
    row.object = doc.value("object", std::string());
    row.fields = doc.value("fields", nlohmann::json::object());
    row.received_at_ms = doc.value("received_at_ms", int64_t{0});
    row.idempotency_key = doc.value("idempotency_key", std::string());
    events_.push_back(std::move(row));
  });
  persisted_events_ = events_.size();
  std::string next_id = state_->meta("next_id");
  std::string next_seq = state_->meta("next_seq");
  if (!next_id.empty()) next_id_ = std::stoull(next_id);
  if (!next_seq.empty()) next_seq_ = std::stoull(next_seq);
}

void RecordStore::clear() {
  tables_.clear();
  events_.clear();
  dirty_.clear();
  deleted_.clear();
  persisted_events_ = 0;
  next_id_ = 1;
  next_seq_ = 1;
}

const Profile* RecordStore::find(const std::string& object, const std::string& key,
                                 const std::string& value) const {
  auto table = tables_.find(object);
  if (table == tables_.end()) return nullptr;
  auto it = table->second.index.find(index_key(key, value));
  if (it == table->second.index.end()) return nullptr;
  auto row = table->second.rows.find(it->second);
  return row == table->second.rows.end() ? nullptr : &row->second;
}

const Profile* RecordStore::find_id(const std::string& object, uint64_t id) const {
  auto table = tables_.find(object);
  if (table == tables_.end()) return nullptr;
  auto row = table->second.rows.find(id);
  return row == table->second.rows.end() ? nullptr : &row->second;
}

nlohmann::json RecordStore::profile_json(const std::string& object, const Profile& profile) const {
  nlohmann::json identifiers = nlohmann::json::object();
  for (const auto& identifier : profile.identifiers) {
    identifiers[identifier.first] = identifier.second;
  }
  nlohmann::json writes = nlohmann::json::array();
  for (const WriteLogEntry& entry : profile.writes) {
    writes.push_back({{"seq", entry.seq},
                      {"idempotency_key", entry.idempotency_key},
                      {"at", EmulatedClock::iso8601(entry.at_ms)},
                      {"at_ms", entry.at_ms},
                      {"set", entry.set}});
  }
  return {{"object", object},
          {"id", profile.id},
          {"fields", profile.fields},
          {"identifiers", identifiers},
          {"write_count", profile.write_count},
          {"last_write_seq", profile.last_write_seq},
          {"created_at", EmulatedClock::iso8601(profile.created_at_ms)},
          {"updated_at", EmulatedClock::iso8601(profile.updated_at_ms)},
          {"created_at_ms", profile.created_at_ms},
          {"updated_at_ms", profile.updated_at_ms},
          {"writes", writes}};
}

nlohmann::json RecordStore::list_json(const std::string& object) const {
  nlohmann::json list = nlohmann::json::array();
  auto table = tables_.find(object);
  if (table == tables_.end()) return list;
  for (const auto& row : table->second.rows) list.push_back(profile_json(object, row.second));
  return list;
}

namespace {

bool contains_folded(const std::string& text, const std::string& lowered_query) {
  auto it =
      std::search(text.begin(), text.end(), lowered_query.begin(), lowered_query.end(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it != text.end();
}

nlohmann::json profile_summary(const std::string& object, const Profile& p) {
  nlohmann::json identifiers = nlohmann::json::object();
  for (const auto& identifier : p.identifiers) identifiers[identifier.first] = identifier.second;
  return {{"object", object},
          {"id", p.id},
          {"identifiers", identifiers},
          {"fields", p.fields},
          {"write_count", p.write_count},
          {"updated_at", EmulatedClock::iso8601(p.updated_at_ms)}};
}

}  // namespace

nlohmann::json RecordStore::page_json(const std::string& object, size_t offset,
                                      size_t limit) const {
  nlohmann::json list = nlohmann::json::array();
  size_t total = 0;
  auto table = tables_.find(object);
  if (table != tables_.end()) {
    const auto& rows = table->second.rows;
    total = rows.size();
    auto it = rows.rbegin();
    for (size_t skipped = 0; it != rows.rend() && skipped < offset; ++it, ++skipped) {
    }
    for (; it != rows.rend() && list.size() < limit; ++it) {
      list.push_back(profile_summary(object, it->second));
    }
  }
  return {{"object", object}, {"total", total}, {"matched", total},
          {"offset", offset}, {"limit", limit}, {"profiles", list}};
}

bool RecordStore::search_slice(const std::string& object, const std::string& query, size_t max_rows,
                               size_t offset, size_t limit, uint64_t* cursor, size_t* matched,
                               nlohmann::json* page) const {
  auto table = tables_.find(object);
  if (table == tables_.end()) return false;
  const auto& rows = table->second.rows;
  std::string lowered;
  for (char c : query)
    lowered.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto it = *cursor == 0 ? rows.rbegin() : std::make_reverse_iterator(rows.lower_bound(*cursor));
  for (size_t scanned = 0; it != rows.rend(); ++it, ++scanned) {
    if (scanned == max_rows) {
      *cursor = it->first + 1;
      return true;
    }
    const Profile& p = it->second;
    bool hit = std::to_string(p.id) == lowered;
    for (auto id = p.identifiers.begin(); !hit && id != p.identifiers.end(); ++id) {
      for (const std::string& value : id->second) {
        if (contains_folded(value, lowered)) {
          hit = true;
          break;
        }
      }
    }
    if (!hit) continue;
    if (*matched >= offset && page->size() < limit) page->push_back(profile_summary(object, p));
    ++*matched;
  }
  return false;
}

nlohmann::json RecordStore::events_page_json(const std::string& object, size_t offset,
                                             size_t limit) const {
  nlohmann::json list = nlohmann::json::array();
  std::map<std::string, size_t> per_object;
  size_t total = 0;
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    per_object[it->object]++;
    if (!object.empty() && it->object != object) continue;
    if (total >= offset && list.size() < limit) list.push_back(event_json(*it));
    ++total;
  }
  return {{"object", object}, {"total", total},        {"offset", offset},
          {"limit", limit},   {"objects", per_object}, {"events", list}};
}

nlohmann::json RecordStore::event_json(const EventRow& row) const {
  return {{"seq", row.seq},
          {"object", row.object},
          {"fields", row.fields},
          {"received_at", EmulatedClock::iso8601(row.received_at_ms)},
          {"received_at_ms", row.received_at_ms},
          {"idempotency_key", row.idempotency_key}};
}

nlohmann::json RecordStore::events_json(const std::string& object) const {
  nlohmann::json list = nlohmann::json::array();
  for (const EventRow& row : events_) {
    if (object.empty() || row.object == object) list.push_back(event_json(row));
  }
  return list;
}

size_t RecordStore::profile_count(const std::string& object) const {
  auto table = tables_.find(object);
  return table == tables_.end() ? 0 : table->second.rows.size();
}

std::vector<std::string> RecordStore::objects() const {
  std::vector<std::string> names;
  for (const auto& table : tables_) names.push_back(table.first);
  return names;
}

}  // namespace emulator
}  // namespace experiture
