#include "experiture/platform/backends.hpp"

namespace experiture {
namespace platform {

std::optional<std::string> E164OnlyPhoneNormalizer::to_e164(std::string_view raw,
                                                            std::string_view) const {
  // Surrounding white space is the only thing forgiven: anything else could be a guess.
  size_t begin = 0;
  size_t end = raw.size();
  while (begin < end && (raw[begin] == ' ' || raw[begin] == '\t')) ++begin;
  while (end > begin && (raw[end - 1] == ' ' || raw[end - 1] == '\t')) --end;
  std::string_view v = raw.substr(begin, end - begin);
  if (v.size() < 9 || v.size() > 16 || v[0] != '+' || v[1] == '0') return std::nullopt;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return std::nullopt;
  }
  return std::string(v);
}

}  // namespace platform
}  // namespace experiture
