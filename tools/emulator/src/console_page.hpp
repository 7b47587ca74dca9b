// The dev console page served at /_emulator/: plain HTML + a little JS, embedded in the binary
// (no CDN, no files to install). It reads /_emulator/api/* and posts to the admin routes.
#pragma once

namespace experiture {
namespace emulator {

// The page, NUL-terminated, static storage.
const char* console_page_html();

}  // namespace emulator
}  // namespace experiture
