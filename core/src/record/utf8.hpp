// UTF-8 well-formedness, shared by the record validator and the single-pass canonicaliser.
#pragma once

#include <string_view>

namespace experiture {
namespace record {

// Well-formed UTF-8 per RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s);

}  // namespace record
}  // namespace experiture
