// Helpers shared by the extern "C" layer: the exception guard, the per-thread last error, and
// pointer + length string arguments.
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>

#include "experiture/experiture.h"
#include "experiture/status.hpp"

namespace experiture {
namespace capi {

// Records `status` as the calling thread's last error ("" when OK) and returns its C code.
experiture_status_t finish(const Status& status) noexcept;
// finish() for a failure described here.
experiture_status_t fail(experiture_status_t code, const char* message) noexcept;

// The one boundary guard: runs f (returning Status) and turns any exception into kInternal.
template <typename F>
experiture_status_t guarded(F&& f) noexcept {
  try {
    return finish(f());
  } catch (const std::bad_alloc&) {
    return fail(EXPERITURE_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    try {
      return finish(Status(Code::kInternal, std::string("unexpected error: ") + e.what()));
    } catch (...) {
      return fail(EXPERITURE_INTERNAL, "unexpected error");
    }
  } catch (...) {
    return fail(EXPERITURE_INTERNAL, "unexpected error");
  }
}

// The integer a C caller passed as the C enum type E, read without loading it as E: C lets a
// caller pass any int, and in C++ loading a value outside E's range is undefined behaviour.
// Validate the integer before converting it to an enum.
template <typename E>
long long enum_as_integer(const E& value) noexcept {
  static_assert(std::is_enum<E>::value, "a C enum");
  std::underlying_type_t<E> raw;
  static_assert(sizeof raw == sizeof value, "an enum has its underlying type's size");
  std::memcpy(&raw, &value, sizeof raw);
  return static_cast<long long>(raw);
}

// A pointer + length argument as a view; false for NULL with a length > 0.
bool to_view(const char* data, size_t length, std::string_view* out) noexcept;

// Status for a bad pointer + length argument named `name`.
Status bad_string(const char* name);

// Copies `text` into a malloc'ed NUL-terminated string (freed by experiture_string_free).
Status copy_out(const std::string& text, char** out, size_t* length_out);

}  // namespace capi
}  // namespace experiture
