#include "shim_vfs.hpp"

#include <stdexcept>
#include <utility>

namespace experiture {
namespace test {
namespace {

using File = ShimVfs::File;

ShimVfs* owner_of(sqlite3_vfs* vfs) {
  return static_cast<ShimVfs*>(vfs->pAppData);
}
File& shim(sqlite3_file* f) {
  return *reinterpret_cast<File*>(f);
}
sqlite3_file* real(sqlite3_file* f) {
  return shim(f).real;
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
  return shim(f).owner->on_write(shim(f), b, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return shim(f).owner->on_truncate(shim(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  return shim(f).owner->on_sync(shim(f), flags);
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
  return shim(f).owner->on_device_characteristics(shim(f));
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
  if (!shim(f).owner->memory_mapped_reads()) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return m(f)->xFetch(real(f), o, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) {
  if (!shim(f).owner->memory_mapped_reads()) return SQLITE_OK;
  return m(f)->xUnfetch(real(f), o, p);
}

const sqlite3_io_methods kMethods = {
    3,           x_close,   x_read,     x_write,          x_truncate,     x_sync,
    x_file_size, x_lock,    x_unlock,   x_check_reserved, x_file_control, x_sector_size,
    x_device,    x_shm_map, x_shm_lock, x_shm_barrier,    x_shm_unmap,    x_fetch,
    x_unfetch,
};

int v_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  ShimVfs* owner = owner_of(vfs);
  File& s = shim(file);
  s.owner = owner;
  s.open_flags = flags;
  s.path = name;
  s.real = reinterpret_cast<sqlite3_file*>(&s + 1);
  s.real->pMethods = nullptr;
  int rc = owner->real()->xOpen(owner->real(), name, s.real, flags, out_flags);
  file->pMethods = s.real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}
int v_delete(sqlite3_vfs* v, const char* n, int sync_dir) {
  return owner_of(v)->on_delete(n, sync_dir);
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

}  // namespace

ShimVfs::ShimVfs(std::string name) : name_(std::move(name)) {
  real_ = sqlite3_vfs_find(nullptr);
  if (real_ == nullptr) throw std::runtime_error(name_ + ": no default SQLite VFS");
  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
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
    throw std::runtime_error(name_ + ": register failed: " + sqlite3_errstr(rc));
  }
}

ShimVfs::~ShimVfs() {
  sqlite3_vfs_unregister(&vfs_);
}

int ShimVfs::on_write(File& f, const void* data, int amount, sqlite3_int64 offset) {
  return forward_write(f, data, amount, offset);
}
int ShimVfs::on_truncate(File& f, sqlite3_int64 size) {
  return forward_truncate(f, size);
}
int ShimVfs::on_sync(File& f, int flags) {
  return forward_sync(f, flags);
}
int ShimVfs::on_device_characteristics(File& f) {
  return f.real->pMethods->xDeviceCharacteristics(f.real);
}
int ShimVfs::on_delete(const char* path, int sync_dir) {
  return forward_delete(path, sync_dir);
}

int ShimVfs::forward_write(File& f, const void* data, int amount, sqlite3_int64 offset) {
  return f.real->pMethods->xWrite(f.real, data, amount, offset);
}
int ShimVfs::forward_truncate(File& f, sqlite3_int64 size) {
  return f.real->pMethods->xTruncate(f.real, size);
}
int ShimVfs::forward_sync(File& f, int flags) {
  return f.real->pMethods->xSync(f.real, flags);
}
int ShimVfs::forward_delete(const char* path, int sync_dir) {
  return real_->xDelete(real_, path, sync_dir);
}

}  // namespace test
}  // namespace experiture
