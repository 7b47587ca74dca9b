#include "counting_vfs.hpp"

namespace experiture {
namespace bench {

CountingVfs::CountingVfs() : ShimVfs(name()) {}

CountingVfs::Counts CountingVfs::counts() const {
  return {bytes_[0].load(), bytes_[1].load(), bytes_[2].load(), syncs_.load()};
}

int CountingVfs::on_write(File& f, const void* data, int amount, sqlite3_int64 offset) {
  const int kind = (f.open_flags & SQLITE_OPEN_MAIN_DB) ? 0
                   : (f.open_flags & SQLITE_OPEN_WAL)   ? 1
                                                        : 2;
  bytes_[kind].fetch_add(static_cast<uint64_t>(amount));
  return forward_write(f, data, amount, offset);
}

int CountingVfs::on_sync(File& f, int flags) {
  syncs_.fetch_add(1);
  return forward_sync(f, flags);
}

}  // namespace bench
}  // namespace experiture
