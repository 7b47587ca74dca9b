#include "experiture/platform/file_lock.hpp"

namespace experiture {
namespace platform {
namespace {

// Where the platform has no advisory locks: always granted (one process per outbox file).
class SingleProcessFileLock final : public FileLock {
 public:
  bool try_lock() override { return held_ = true; }
  void unlock() override { held_ = false; }
  bool held() const override { return held_; }
  int64_t holder_pid() const override { return 0; }

 private:
  bool held_ = false;
};

}  // namespace

std::unique_ptr<FileLock> make_file_lock(const std::string&) {
  return std::make_unique<SingleProcessFileLock>();
}

}  // namespace platform
}  // namespace experiture
