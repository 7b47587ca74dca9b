// Optional SQLite persistence (--state FILE) for profiles, appended rows, idempotency entries and
// sequence numbers. All methods are called with the server's state lock held (one thread at a
// time); each request's changes are written in one transaction so an applied write and its stored
// idempotent response are durable together.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

struct sqlite3;

namespace experiture {
namespace emulator {

class StateFile {
 public:
  StateFile() = default;
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // Opens or creates the database at path. False with *error on failure.
  bool open(const std::string& path, std::string* error);

  void begin();
  void commit();
  void save_profile(const std::string& object, uint64_t id, const std::string& doc);
  void delete_profile(const std::string& object, uint64_t id);
  void save_event(uint64_t seq, const std::string& doc);
  void save_idempotency(const std::string& key, const std::string& doc);
  void set_meta(const std::string& key, const std::string& value);
  // Removes every stored row (POST /_emulator/reset).
  void clear();

  // Calls back once per stored row, in key order.
  void load_profiles(const std::function<void(const std::string& doc)>& each);
  void load_events(const std::function<void(const std::string& doc)>& each);
  void load_idempotency(
      const std::function<void(const std::string& key, const std::string& doc)>& each);
  std::string meta(const std::string& key);

 private:
  void exec(const char* sql);
  sqlite3* db_ = nullptr;
};

}  // namespace emulator
}  // namespace experiture
