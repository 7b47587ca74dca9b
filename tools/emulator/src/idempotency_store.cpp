#include "idempotency_store.hpp"

#include <nlohmann/json.hpp>

#include "state_file.hpp"

namespace experiture {
namespace emulator {

const IdempotencyStore::Entry* IdempotencyStore::find(const std::string& key,
                                                      int64_t now_ms) const {
  const auto stored = entries_.find(key);
  if (stored == entries_.end() || now_ms - stored->second.stored_at_ms >= kWindowMs) return nullptr;
  return &stored->second;
}

void IdempotencyStore::remember(const std::string& key, Entry entry, StateFile* state_file) {
  if (state_file != nullptr) {
    const nlohmann::json doc = {{"body_hash", entry.body_hash},
                                {"status", entry.status},
                                {"body", entry.body},
                                {"stored_at_ms", entry.stored_at_ms}};
    state_file->save_idempotency(
        key, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  entries_[key] = std::move(entry);
}

void IdempotencyStore::load(StateFile& state_file) {
  state_file.load_idempotency([this](const std::string& key, const std::string& text) {
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) return;
    Entry entry;
    entry.body_hash = doc.value("body_hash", std::string());
    entry.status = doc.value("status", 200);
    entry.body = doc.value("body", std::string());
    entry.stored_at_ms = doc.value("stored_at_ms", int64_t{0});
    entries_[key] = entry;
  });
}

}  // namespace emulator
}  // namespace experiture
