#include "drain/coalescer.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <utility>

namespace experiture {
namespace drain {
namespace {

using json::Value;

struct Group {
  Value record;
  std::vector<size_t> sources;
  size_t last_position = 0;
  std::map<std::string, size_t> field_positions;  // field -> input index that last wrote it
};

class Segment {
 public:
  explicit Segment(std::vector<Coalesced>& out) : out_(out) {}

  // Adds a plain record; false (nothing added) when joining its group would reorder a field's
  // last write relative to another group's (rule 4): the caller flushes and adds again.
  bool add(const std::string& key_value, Value&& record, size_t position) {
    const auto found = by_key_.find(key_value);
    if (found == by_key_.end()) {
      by_key_.emplace(key_value, groups_.size());
      groups_.emplace_back();
      absorb(groups_.back(), std::move(record), position);
      return true;
    }
    Group& group = groups_[found->second];
    if (!may_move_later(group, record)) return false;
    absorb(group, std::move(record), position);
    return true;
  }

  void flush() {
    std::sort(groups_.begin(), groups_.end(),
              [](const Group& a, const Group& b) { return a.last_position < b.last_position; });
    for (auto& group : groups_) {
      out_.push_back(Coalesced{std::move(group.record), std::move(group.sources)});
    }
    groups_.clear();
    by_key_.clear();
  }

 private:
  // The fields `group` wrote before and `record` leaves alone get, in effect, the record's
  // position as their write time. That is exact unless some group updated after `group`'s last
  // record wrote the same field after `group` did (earlier groups are ordered already).
  bool may_move_later(const Group& group, const Value& record) const {
    for (const auto& [field, position] : group.field_positions) {
      if (record.contains(field)) continue;
      for (const auto& other : groups_) {
        if (other.last_position <= group.last_position) continue;
        const auto it = other.field_positions.find(field);
        if (it != other.field_positions.end() && it->second > position) return false;
      }
    }
    return true;
  }

  static void absorb(Group& group, Value&& record, size_t position) {
    for (json::Member& member : record.members()) {
      group.field_positions[member.key] = position;
      group.record.set(member.key, std::move(member.value));
    }
    group.sources.push_back(position);
    group.last_position = position;
  }

  std::vector<Coalesced>& out_;
  std::vector<Group> groups_;
  std::unordered_map<std::string, size_t> by_key_;
};

bool is_plain(const Value& record, const std::string& match_key,
              const std::vector<std::string>& identity_fields) {
  if (!record.is_object()) return false;
  const Value* key = record.find(match_key);
  if (key == nullptr || !key->is_string()) return false;
  for (const auto& field : identity_fields) {
    if (field != match_key && record.contains(field)) return false;
  }
  return true;
}

}  // namespace

std::vector<Coalesced> coalesce_upserts_with_sources(
    std::vector<Value> records, const std::string& match_key,
    const std::vector<std::string>& identity_fields) {
  std::vector<Coalesced> out;
  out.reserve(records.size());
  Segment segment(out);
  for (size_t i = 0; i < records.size(); ++i) {
    Value& record = records[i];
    if (!is_plain(record, match_key, identity_fields)) {
      segment.flush();
      out.push_back(Coalesced{std::move(record), {i}});
      continue;
    }
    const std::string key_value = record.find(match_key)->text();
    if (!segment.add(key_value, std::move(record), i)) {
      segment.flush();
      segment.add(key_value, std::move(record), i);  // a fresh segment always accepts
    }
  }
  segment.flush();
  return out;
}

std::vector<Value> coalesce_upserts(std::vector<Value> records, const std::string& match_key,
                                    const std::vector<std::string>& identity_fields) {
  std::vector<Value> out;
  for (auto& c : coalesce_upserts_with_sources(std::move(records), match_key, identity_fields)) {
    out.push_back(std::move(c.record));
  }
  return out;
}

}  // namespace drain
}  // namespace experiture
