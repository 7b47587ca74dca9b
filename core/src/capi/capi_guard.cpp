#include "capi/capi_guard.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace experiture {
namespace capi {
namespace {

// Per thread, so that a failed call's message cannot be overwritten by another thread's call.
thread_local std::string t_last_error;

void set_last_error(const char* message, size_t length) noexcept {
  try {
    t_last_error.assign(message, length);
  } catch (...) {
    t_last_error.clear();  // clear() never allocates
  }
}

}  // namespace

experiture_status_t finish(const Status& status) noexcept {
  set_last_error(status.message().data(), status.message().size());
  return static_cast<experiture_status_t>(status.code());
}

experiture_status_t fail(experiture_status_t code, const char* message) noexcept {
  set_last_error(message, std::strlen(message));
  return code;
}

bool to_view(const char* data, size_t length, std::string_view* out) noexcept {
  if (data == nullptr) {
    *out = std::string_view();
    return length == 0;
  }
  *out = std::string_view(data, length);
  return true;
}

Status bad_string(const char* name) {
  return Status(Code::kInvalidArgument,
                std::string(name) + ": NULL pointer with a non-zero length");
}

Status copy_out(const std::string& text, char** out, size_t* length_out) {
  if (out == nullptr) return Status(Code::kInvalidArgument, "output pointer is NULL");
  *out = nullptr;
  char* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy == nullptr) return Status(Code::kInternal, "out of memory");
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  *out = copy;
  if (length_out != nullptr) *length_out = text.size();
  return Status::ok();
}

}  // namespace capi
}  // namespace experiture

extern "C" {

EXPERITURE_API const char* experiture_status_name(experiture_status_t status) {
  // Any int may arrive here; code_name() answers "UNKNOWN" for one that names no status.
  const long long value = experiture::capi::enum_as_integer(status);
  if (value < 0 || value > INT32_MAX) return "UNKNOWN";
  return experiture::code_name(static_cast<experiture::Code>(value));
}

EXPERITURE_API const char* experiture_last_error(size_t* length) {
  const std::string& message = experiture::capi::t_last_error;
  if (length != nullptr) *length = message.size();
  return message.c_str();
}

EXPERITURE_API void experiture_string_free(char* string) {
  std::free(string);
}

}  // extern "C"
