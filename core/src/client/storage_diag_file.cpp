#include "client/storage_diag_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace experiture {
namespace client {

namespace {

constexpr size_t kMaxErrorBytes = 384;  // leaves room for the code, the time and JSON escapes

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string storage_diag_path(const std::string& outbox_path) {
  return outbox_path + ".diag";
}

bool preallocate_storage_diag(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return false;
  ::fchmod(fd.get(), 0600);  // owner-only like the outbox, whatever the umask
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return false;
  if (static_cast<size_t>(st.st_size) >= kStorageDiagFileBytes) return true;
  if (::posix_fallocate(fd.get(), 0, kStorageDiagFileBytes) != 0) {
    (void)::ftruncate(fd.get(), st.st_size);
    return false;
  }
  // Blank content (spaces, a newline): read as "no error".
  std::string blank(kStorageDiagFileBytes - 1, ' ');
  blank += '\n';
  return ::pwrite(fd.get(), blank.data(), blank.size(), 0) == static_cast<ssize_t>(blank.size());
}

bool write_storage_diag(const std::string& path, const StorageDiag& diag) {
  nlohmann::json doc{{"error", diag.error.substr(0, kMaxErrorBytes)},
                     {"code", diag.code.substr(0, 64)},
                     {"at_ms", diag.at_ms}};
  std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kStorageDiagFileBytes - 1) return false;
  text.resize(kStorageDiagFileBytes - 1, ' ');
  text += '\n';
  // No O_CREAT: a missing file could not be created on a full disk anyway; open() makes it.
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;
  return ::pwrite(fd.get(), text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

StorageDiag read_storage_diag(const std::string& path) {
  StorageDiag diag;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return diag;
  std::string text(kStorageDiagFileBytes, '\0');
  const ssize_t n = ::pread(fd.get(), &text[0], text.size(), 0);
  if (n <= 0) return diag;
  text.resize(static_cast<size_t>(n));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return diag;
  try {
    diag.error = doc.value("error", std::string());
    diag.code = doc.value("code", std::string());
    diag.at_ms = doc.value("at_ms", int64_t{0});
  } catch (const nlohmann::json::exception&) {
    return StorageDiag();
  }
  return diag;
}

}  // namespace client
}  // namespace experiture
