#include "client/storage_diag_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/json.hpp"

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
  // dump() writes U+FFFD for bytes that are not UTF-8 (a cut may split a character).
  const json::Value doc = json::Value::object({{"error", diag.error.substr(0, kMaxErrorBytes)},
                                               {"code", diag.code.substr(0, 64)},
                                               {"at_ms", json::number(diag.at_ms)}});
  std::string text = doc.dump();
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
  json::Value doc;
  if (!json::parse(text, &doc) || !doc.is_object()) return diag;
  diag.error = doc.string_or("error", std::string());
  diag.code = doc.string_or("code", std::string());
  const json::Value* at_ms = doc.find("at_ms");
  diag.at_ms = at_ms != nullptr ? at_ms->to_int64().value_or(0) : 0;
  return diag;
}

}  // namespace client
}  // namespace experiture
