#include "power_loss_vfs.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace experiture {
namespace test {
namespace {

// The files whose content a power cut can change: the main database, its WAL and journal (temp
// files are not reopened; the -shm is memory).
bool durable(const ShimVfs::File& f) {
  return f.path != nullptr &&
         (f.open_flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void apply(std::string& image, const PowerLossVfs::Op& op, size_t keep_bytes) {
  if (op.truncate) {
    image.resize(static_cast<size_t>(op.offset));
    return;
  }
  const size_t offset = static_cast<size_t>(op.offset);
  const size_t n = std::min(keep_bytes, op.data.size());
  if (n == 0) return;
  if (image.size() < offset + n) image.resize(offset + n, '\0');
  std::memcpy(&image[offset], op.data.data(), n);
}

}  // namespace

PowerLossVfs::PowerLossVfs()
    : ShimVfs("experiture-powerloss-" + std::to_string(reinterpret_cast<std::uintptr_t>(this))) {}

int PowerLossVfs::on_write(File& f, const void* data, int amount, sqlite3_int64 offset) {
  if (durable(f) && !record_write(f.path, offset, data, amount)) return SQLITE_IOERR_WRITE;
  return forward_write(f, data, amount, offset);
}

int PowerLossVfs::on_truncate(File& f, sqlite3_int64 size) {
  if (durable(f) && !record_truncate(f.path, size)) return SQLITE_IOERR_TRUNCATE;
  return forward_truncate(f, size);
}

int PowerLossVfs::on_sync(File& f, int flags) {
  if (durable(f) && !record_sync(f.path)) return SQLITE_IOERR_FSYNC;
  return forward_sync(f, flags);
}

int PowerLossVfs::on_device_characteristics(File& f) {
  // Claim nothing (no atomic or sequential writes, no powersafe overwrite): SQLite must then
  // be as careful as on the weakest disk, which is what the simulated power cut assumes.
  (void)f;
  return 0;
}

int PowerLossVfs::on_delete(const char* path, int sync_dir) {
  if (!record_delete(path)) return SQLITE_IOERR_DELETE;
  return forward_delete(path, sync_dir);
}

void PowerLossVfs::arm(uint64_t crash_at) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_ = 0;
  crash_at_ = crash_at;
  crashed_ = false;
}

bool PowerLossVfs::crashed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return crashed_;
}

uint64_t PowerLossVfs::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

bool PowerLossVfs::count_event_locked() {
  if (crashed_) return false;
  ++events_;
  if (crash_at_ != 0 && events_ >= crash_at_) {
    crashed_ = true;
    return false;
  }
  return true;
}

PowerLossVfs::FileState& PowerLossVfs::file_locked(const std::string& path) {
  FileState& f = files_[path];
  if (!f.known) {
    // First sight: what is on disk now was synced by whoever wrote it (or does not exist).
    f.known = true;
    f.durable = read_whole(path);
  }
  return f;
}

bool PowerLossVfs::record_write(const std::string& path, int64_t offset, const void* data,
                                int amount) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!count_event_locked()) return false;
  Op op;
  op.offset = offset;
  op.data.assign(static_cast<const char*>(data), static_cast<size_t>(amount));
  file_locked(path).unsynced.push_back(std::move(op));
  return true;
}

bool PowerLossVfs::record_truncate(const std::string& path, int64_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!count_event_locked()) return false;
  Op op;
  op.truncate = true;
  op.offset = size;
  file_locked(path).unsynced.push_back(std::move(op));
  return true;
}

bool PowerLossVfs::record_sync(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!count_event_locked()) return false;
  FileState& f = file_locked(path);
  for (const Op& op : f.unsynced) apply(f.durable, op, op.data.size());
  f.unsynced.clear();
  return true;
}

bool PowerLossVfs::record_delete(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (crashed_) return false;
  // A deleted file (the WAL after the last connection's checkpoint) is forgotten: if it is
  // created again, its first sight reads the disk.
  files_.erase(path);
  return true;
}

void PowerLossVfs::power_loss(uint32_t seed, Model model) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::mt19937 rng(seed);
  constexpr size_t kSector = 512;
  // Keeps a prefix of `op` cut at a random sector boundary inside it (0 bytes when it lies
  // within one sector).
  auto torn = [&](std::string& image, const Op& op) {
    if (op.truncate) return;
    const size_t start = static_cast<size_t>(op.offset);
    const size_t end = start + op.data.size();
    std::vector<size_t> cuts;
    for (size_t b = (start / kSector + 1) * kSector; b < end; b += kSector)
      cuts.push_back(b - start);
    if (!cuts.empty()) apply(image, op, cuts[rng() % cuts.size()]);
  };
  for (auto& entry : files_) {
    const std::string& path = entry.first;
    FileState& f = entry.second;
    std::string image = f.durable;
    if (model == Model::kInOrder) {
      // The disk wrote the unsynced writes in order and the power failed inside one of them.
      const size_t cut = f.unsynced.empty() ? 0 : rng() % (f.unsynced.size() + 1);
      for (size_t i = 0; i < cut; ++i) apply(image, f.unsynced[i], f.unsynced[i].data.size());
      if (cut < f.unsynced.size()) torn(image, f.unsynced[cut]);
    } else {
      // Each unsynced write independently reached the disk, was lost, or was torn.
      for (const Op& op : f.unsynced) {
        const uint32_t choice = rng() % 3;
        if (choice == 0) apply(image, op, op.data.size());
        if (choice == 2) torn(image, op);
      }
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(image.data(), static_cast<std::streamsize>(image.size()));
    // Shared memory does not survive a power cut.
    const bool wal = path.size() > 4 && path.compare(path.size() - 4, 4, "-wal") == 0;
    std::remove(((wal ? path.substr(0, path.size() - 4) : path) + "-shm").c_str());
  }
  files_.clear();
}

}  // namespace test
}  // namespace experiture
