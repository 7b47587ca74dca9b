#include "faulty_vfs.hpp"

#include <cstdint>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace experiture {
namespace test {
namespace {

// An open file: our header, then the real VFS's file object in the same allocation.
struct ShimFile {
  sqlite3_file base;
  FaultyVfs* owner;
  sqlite3_file* real;
};

FaultyVfs* owner_of(sqlite3_vfs* vfs) {
  return static_cast<FaultyVfs*>(vfs->pAppData);
}
ShimFile* shim(sqlite3_file* file) {
  return reinterpret_cast<ShimFile*>(file);
}
sqlite3_file* real(sqlite3_file* file) {
  return shim(file)->real;
}
const sqlite3_io_methods* methods(sqlite3_file* file) {
  return real(file)->pMethods;
}

int shim_close(sqlite3_file* file) {
  shim(file)->owner->track_close(file);
  int rc = methods(file)->xClose(real(file));
  file->pMethods = nullptr;
  return rc;
}

int shim_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  if (shim(file)->owner->should_fail(FaultyVfs::Operation::kRead)) return SQLITE_IOERR;
  return methods(file)->xRead(real(file), buffer, amount, offset);
}

int shim_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  if (shim(file)->owner->should_fail(FaultyVfs::Operation::kWrite)) return SQLITE_FULL;
  return shim(file)->owner->within_quota(real(file), offset + amount, [&] {
    return methods(file)->xWrite(real(file), buffer, amount, offset);
  });
}

int shim_truncate(sqlite3_file* file, sqlite3_int64 size) {
  return shim(file)->owner->within_quota(
      real(file), size, [&] { return methods(file)->xTruncate(real(file), size); });
}

int shim_sync(sqlite3_file* file, int flags) {
  if (shim(file)->owner->should_fail(FaultyVfs::Operation::kSync)) return SQLITE_IOERR_FSYNC;
  return methods(file)->xSync(real(file), flags);
}

int shim_file_size(sqlite3_file* file, sqlite3_int64* size) {
  return methods(file)->xFileSize(real(file), size);
}

int shim_lock(sqlite3_file* file, int level) {
  if (shim(file)->owner->should_fail(FaultyVfs::Operation::kLock)) return SQLITE_BUSY;
  return methods(file)->xLock(real(file), level);
}

int shim_unlock(sqlite3_file* file, int level) {
  return methods(file)->xUnlock(real(file), level);
}

int shim_check_reserved_lock(sqlite3_file* file, int* out) {
  return methods(file)->xCheckReservedLock(real(file), out);
}

int shim_file_control(sqlite3_file* file, int op, void* arg) {
  return methods(file)->xFileControl(real(file), op, arg);
}

int shim_sector_size(sqlite3_file* file) {
  return methods(file)->xSectorSize(real(file));
}

int shim_device_characteristics(sqlite3_file* file) {
  return methods(file)->xDeviceCharacteristics(real(file));
}

int shim_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return methods(file)->xShmMap(real(file), region, size, extend, out);
}

int shim_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  // Only exclusive requests: the WAL write lock (and checkpoint/recovery locks). Failing shared
  // WAL read locks would exercise SQLite's own read-retry protocol, not the SDK.
  const int exclusive_lock = SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE;
  if ((flags & exclusive_lock) == exclusive_lock &&
      shim(file)->owner->should_fail(FaultyVfs::Operation::kLock)) {
    return SQLITE_BUSY;
  }
  return methods(file)->xShmLock(real(file), offset, n, flags);
}

void shim_shm_barrier(sqlite3_file* file) {
  methods(file)->xShmBarrier(real(file));
}

int shim_shm_unmap(sqlite3_file* file, int delete_flag) {
  return methods(file)->xShmUnmap(real(file), delete_flag);
}

int shim_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return methods(file)->xFetch(real(file), offset, amount, out);
}

int shim_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return methods(file)->xUnfetch(real(file), offset, page);
}

// Constant: the only static object here, shared read-only by every instance.
const sqlite3_io_methods kIoMethods = {
    3,  // iVersion
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved_lock,
    shim_file_control,
    shim_sector_size,
    shim_device_characteristics,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    shim_fetch,
    shim_unfetch,
};

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  FaultyVfs* owner = owner_of(vfs);
  ShimFile* s = shim(file);
  s->owner = owner;
  s->real = reinterpret_cast<sqlite3_file*>(s + 1);
  s->real->pMethods = nullptr;
  int rc = owner->real()->xOpen(owner->real(), name, s->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, also after a failed open.
  file->pMethods = s->real->pMethods != nullptr ? &kIoMethods : nullptr;
  if (file->pMethods != nullptr) owner->track_open(file, s->real, name);
  return rc;
}

int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  owner_of(vfs)->track_delete(name);
  return owner_of(vfs)->real()->xDelete(owner_of(vfs)->real(), name, sync_dir);
}

int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return owner_of(vfs)->real()->xAccess(owner_of(vfs)->real(), name, flags, out);
}

int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return owner_of(vfs)->real()->xFullPathname(owner_of(vfs)->real(), name, size, out);
}

void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
  return owner_of(vfs)->real()->xDlOpen(owner_of(vfs)->real(), name);
}

void vfs_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  owner_of(vfs)->real()->xDlError(owner_of(vfs)->real(), size, out);
}

void (*vfs_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return owner_of(vfs)->real()->xDlSym(owner_of(vfs)->real(), handle, symbol);
}

void vfs_dl_close(sqlite3_vfs* vfs, void* handle) {
  owner_of(vfs)->real()->xDlClose(owner_of(vfs)->real(), handle);
}

int vfs_randomness(sqlite3_vfs* vfs, int size, char* out) {
  return owner_of(vfs)->real()->xRandomness(owner_of(vfs)->real(), size, out);
}

int vfs_sleep(sqlite3_vfs* vfs, int microseconds) {
  if (owner_of(vfs)->instant_sleep()) return microseconds;
  return owner_of(vfs)->real()->xSleep(owner_of(vfs)->real(), microseconds);
}

int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  return owner_of(vfs)->real()->xCurrentTime(owner_of(vfs)->real(), out);
}

int vfs_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  return owner_of(vfs)->real()->xGetLastError(owner_of(vfs)->real(), size, out);
}

int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return owner_of(vfs)->real()->xCurrentTimeInt64(owner_of(vfs)->real(), out);
}

}  // namespace

FaultyVfs::FaultyVfs(std::string name) : name_(std::move(name)) {
  if (name_.empty()) {
    name_ = "experiture-faulty-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  }
  real_ = sqlite3_vfs_find(nullptr);
  if (real_ == nullptr) throw std::runtime_error("FaultyVfs: no default SQLite VFS");
  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(sizeof(ShimFile)) + real_->szOsFile;
  vfs_.mxPathname = real_->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = vfs_open;
  vfs_.xDelete = vfs_delete;
  vfs_.xAccess = vfs_access;
  vfs_.xFullPathname = vfs_full_pathname;
  vfs_.xDlOpen = vfs_dl_open;
  vfs_.xDlError = vfs_dl_error;
  vfs_.xDlSym = vfs_dl_sym;
  vfs_.xDlClose = vfs_dl_close;
  vfs_.xRandomness = vfs_randomness;
  vfs_.xSleep = vfs_sleep;
  vfs_.xCurrentTime = vfs_current_time;
  vfs_.xGetLastError = vfs_get_last_error;
  vfs_.xCurrentTimeInt64 = vfs_current_time_int64;
  int rc = sqlite3_vfs_register(&vfs_, 0);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(std::string("FaultyVfs: register failed: ") + sqlite3_errstr(rc));
  }
}

FaultyVfs::~FaultyVfs() {
  sqlite3_vfs_unregister(&vfs_);
}

void FaultyVfs::arm(Operation op, int after_calls, int fail_count) {
  std::lock_guard<std::mutex> lock(mutex_);
  Countdown& c = countdowns_[static_cast<size_t>(op)];
  c.after_calls = after_calls;
  c.fail_count = fail_count;
}

void FaultyVfs::disarm(Operation op) {
  arm(op, 0, 0);
}

void FaultyVfs::disarm_all() {
  disarm(Operation::kWrite);
  disarm(Operation::kSync);
  disarm(Operation::kLock);
  disarm(Operation::kRead);
}

void FaultyVfs::set_instant_sleep(bool instant) {
  std::lock_guard<std::mutex> lock(mutex_);
  instant_sleep_ = instant;
}

uint64_t FaultyVfs::calls(Operation op) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return countdowns_[static_cast<size_t>(op)].calls;
}

uint64_t FaultyVfs::failures(Operation op) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return countdowns_[static_cast<size_t>(op)].failures;
}

bool FaultyVfs::should_fail(Operation op) {
  std::lock_guard<std::mutex> lock(mutex_);
  Countdown& c = countdowns_[static_cast<size_t>(op)];
  ++c.calls;
  if (c.fail_count == 0) return false;
  if (c.after_calls > 0) {
    --c.after_calls;
    return false;
  }
  if (c.fail_count > 0) --c.fail_count;
  ++c.failures;
  return true;
}

void FaultyVfs::set_quota_bytes(int64_t bytes) {
  std::lock_guard<std::mutex> lock(quota_mutex_);
  quota_bytes_ = bytes;
}

int64_t FaultyVfs::used_bytes() const {
  std::lock_guard<std::mutex> lock(quota_mutex_);
  return used_bytes_locked();
}

uint64_t FaultyVfs::quota_failures() const {
  std::lock_guard<std::mutex> lock(quota_mutex_);
  return quota_failures_;
}

int64_t FaultyVfs::used_bytes_locked() const {
  std::set<std::string> counted;
  int64_t total = 0;
  for (const auto& entry : open_files_) {
    const OpenFile& f = entry.second;
    if (!f.path.empty() && !counted.insert(f.path).second) continue;  // another connection's
    sqlite3_int64 size = 0;
    if (f.real->pMethods->xFileSize(f.real, &size) == SQLITE_OK) total += size;
  }
  for (const std::string& path : closed_paths_) {
    if (!counted.insert(path).second) continue;  // open again
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  return total;
}

void FaultyVfs::track_open(sqlite3_file* shim_file, sqlite3_file* real_file, const char* path) {
  std::lock_guard<std::mutex> lock(quota_mutex_);
  open_files_[shim_file] = OpenFile{real_file, path != nullptr ? std::string(path) : std::string()};
}

void FaultyVfs::track_close(sqlite3_file* shim_file) {
  std::lock_guard<std::mutex> lock(quota_mutex_);
  auto it = open_files_.find(shim_file);
  if (it == open_files_.end()) return;
  if (!it->second.path.empty()) closed_paths_.insert(it->second.path);
  open_files_.erase(it);
}

void FaultyVfs::track_delete(const char* path) {
  if (path == nullptr) return;
  std::lock_guard<std::mutex> lock(quota_mutex_);
  closed_paths_.erase(path);
}

bool FaultyVfs::instant_sleep() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return instant_sleep_;
}

}  // namespace test
}  // namespace experiture
