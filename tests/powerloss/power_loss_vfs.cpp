#include "power_loss_vfs.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace experiture {
namespace test {
namespace {

struct ShimFile {
  sqlite3_file base;
  PowerLossVfs* owner;
  const char* path;  // SQLite keeps the name alive until xClose; null for temp files
  sqlite3_file* real;
};

PowerLossVfs* owner_of(sqlite3_vfs* vfs) {
  return static_cast<PowerLossVfs*>(vfs->pAppData);
}
ShimFile* shim(sqlite3_file* f) {
  return reinterpret_cast<ShimFile*>(f);
}
sqlite3_file* real(sqlite3_file* f) {
  return shim(f)->real;
}
const sqlite3_io_methods* m(sqlite3_file* f) {
  return real(f)->pMethods;
}

int x_close(sqlite3_file* f) {
  int rc = m(f)->xClose(real(f));
  f->pMethods = nullptr;
  return rc;
}
int x_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
  return m(f)->xRead(real(f), b, n, o);
}
int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  if (shim(f)->path != nullptr && !shim(f)->owner->record_write(shim(f)->path, o, b, n)) {
    return SQLITE_IOERR_WRITE;
  }
  return m(f)->xWrite(real(f), b, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (shim(f)->path != nullptr && !shim(f)->owner->record_truncate(shim(f)->path, size)) {
    return SQLITE_IOERR_TRUNCATE;
  }
  return m(f)->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (shim(f)->path != nullptr && !shim(f)->owner->record_sync(shim(f)->path)) {
    return SQLITE_IOERR_FSYNC;
  }
  return m(f)->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* out) {
  return m(f)->xFileSize(real(f), out);
}
int x_lock(sqlite3_file* f, int level) {
  return m(f)->xLock(real(f), level);
}
int x_unlock(sqlite3_file* f, int level) {
  return m(f)->xUnlock(real(f), level);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  return m(f)->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return m(f)->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return m(f)->xSectorSize(real(f));
}
int x_device(sqlite3_file* f) {
  // Claim nothing (no atomic or sequential writes, no powersafe overwrite): SQLite must then
  // be as careful as on the weakest disk, which is what the simulated power cut assumes.
  (void)f;
  return 0;
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return m(f)->xShmMap(real(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return m(f)->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  m(f)->xShmBarrier(real(f));
}
int x_shm_unmap(sqlite3_file* f, int del) {
  return m(f)->xShmUnmap(real(f), del);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** out) {
  // No memory-mapped reads: every byte SQLite reads comes through xRead.
  (void)f;
  (void)o;
  (void)n;
  *out = nullptr;
  return SQLITE_OK;
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) {
  (void)f;
  (void)o;
  (void)p;
  return SQLITE_OK;
}

const sqlite3_io_methods kMethods = {
    3,           x_close,   x_read,     x_write,          x_truncate,     x_sync,
    x_file_size, x_lock,    x_unlock,   x_check_reserved, x_file_control, x_sector_size,
    x_device,    x_shm_map, x_shm_lock, x_shm_barrier,    x_shm_unmap,    x_fetch,
    x_unfetch,
};

int v_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  PowerLossVfs* owner = owner_of(vfs);
  ShimFile* s = shim(file);
  s->owner = owner;
  const bool durable =
      (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
  s->path = durable ? name : nullptr;
  s->real = reinterpret_cast<sqlite3_file*>(s + 1);
  s->real->pMethods = nullptr;
  int rc = owner->real()->xOpen(owner->real(), name, s->real, flags, out_flags);
  file->pMethods = s->real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}
int v_delete(sqlite3_vfs* v, const char* n, int sync_dir) {
  if (!owner_of(v)->record_delete(n)) return SQLITE_IOERR_DELETE;
  return owner_of(v)->real()->xDelete(owner_of(v)->real(), n, sync_dir);
}
int v_access(sqlite3_vfs* v, const char* n, int flags, int* out) {
  return owner_of(v)->real()->xAccess(owner_of(v)->real(), n, flags, out);
}
int v_full_pathname(sqlite3_vfs* v, const char* n, int size, char* out) {
  return owner_of(v)->real()->xFullPathname(owner_of(v)->real(), n, size, out);
}
void* v_dl_open(sqlite3_vfs* v, const char* n) {
  return owner_of(v)->real()->xDlOpen(owner_of(v)->real(), n);
}
void v_dl_error(sqlite3_vfs* v, int size, char* out) {
  owner_of(v)->real()->xDlError(owner_of(v)->real(), size, out);
}
void (*v_dl_sym(sqlite3_vfs* v, void* h, const char* s))(void) {
  return owner_of(v)->real()->xDlSym(owner_of(v)->real(), h, s);
}
void v_dl_close(sqlite3_vfs* v, void* h) {
  owner_of(v)->real()->xDlClose(owner_of(v)->real(), h);
}
int v_randomness(sqlite3_vfs* v, int size, char* out) {
  return owner_of(v)->real()->xRandomness(owner_of(v)->real(), size, out);
}
int v_sleep(sqlite3_vfs* v, int us) {
  return owner_of(v)->real()->xSleep(owner_of(v)->real(), us);
}
int v_current_time(sqlite3_vfs* v, double* out) {
  return owner_of(v)->real()->xCurrentTime(owner_of(v)->real(), out);
}
int v_last_error(sqlite3_vfs* v, int size, char* out) {
  return owner_of(v)->real()->xGetLastError(owner_of(v)->real(), size, out);
}
int v_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  return owner_of(v)->real()->xCurrentTimeInt64(owner_of(v)->real(), out);
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

PowerLossVfs::PowerLossVfs() {
  name_ = "experiture-powerloss-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  real_ = sqlite3_vfs_find(nullptr);
  if (real_ == nullptr) throw std::runtime_error("PowerLossVfs: no default SQLite VFS");
  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(sizeof(ShimFile)) + real_->szOsFile;
  vfs_.mxPathname = real_->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = v_open;
  vfs_.xDelete = v_delete;
  vfs_.xAccess = v_access;
  vfs_.xFullPathname = v_full_pathname;
  vfs_.xDlOpen = v_dl_open;
  vfs_.xDlError = v_dl_error;
  vfs_.xDlSym = v_dl_sym;
  vfs_.xDlClose = v_dl_close;
  vfs_.xRandomness = v_randomness;
  vfs_.xSleep = v_sleep;
  vfs_.xCurrentTime = v_current_time;
  vfs_.xGetLastError = v_last_error;
  vfs_.xCurrentTimeInt64 = v_current_time_int64;
  const int rc = sqlite3_vfs_register(&vfs_, 0);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(std::string("PowerLossVfs: register failed: ") + sqlite3_errstr(rc));
  }
}

PowerLossVfs::~PowerLossVfs() {
  sqlite3_vfs_unregister(&vfs_);
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
