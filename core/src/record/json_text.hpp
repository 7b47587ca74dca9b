// Small pieces of JSON text handling shared by the one-pass canonicaliser and the stored-form
// reader. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace experiture {
namespace record {

// Past JSON's four white-space characters (a local pointer, so the loop stays in a register).
inline const char* skip_json_ws(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

// The text between a string's quotes, with its escape sequences replaced, as JSON's grammar and
// nlohmann's lexer define them (surrogates only in high-low pairs). False for anything else.
bool decode_escapes(std::string_view raw, std::string* out);

}  // namespace record
}  // namespace experiture
