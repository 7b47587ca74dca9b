// The last storage error, kept in a small fixed-size file next to the outbox
// (`<outbox>.diag`, owner-only) so that another process (`experiture-cli status`) sees it while
// the disk is still full: the outbox's own meta cannot take a write then. The file is created at
// its full size when there is room (at open) and afterwards only rewritten in place, which needs
// no new blocks on the usual filesystems (ext4, xfs, apfs, f2fs; a copy-on-write filesystem may
// still refuse). Best effort: every failure is ignored, never fatal.
#pragma once

#include <cstdint>
#include <string>

namespace experiture {
namespace client {

struct StorageDiag {
  std::string error;  // "" when none
  std::string code;   // the Status code's name, "" when unknown
  int64_t at_ms = 0;  // wall-clock ms since the Unix epoch
};

constexpr size_t kStorageDiagFileBytes = 512;

// "<outbox path>.diag"
std::string storage_diag_path(const std::string& outbox_path);

// Creates the file at kStorageDiagFileBytes (0600) when it is missing or shorter; false when
// there is no room (or no permission).
bool preallocate_storage_diag(const std::string& path);

// Rewrites the file in place (the error cut to fit). False when it could not be written.
bool write_storage_diag(const std::string& path, const StorageDiag& diag);

// What the file holds; at_ms 0 when missing, empty or unreadable.
StorageDiag read_storage_diag(const std::string& path);

}  // namespace client
}  // namespace experiture
