#include "experiture/client.hpp"

#ifndef EXPERITURE_SDK_VERSION
#define EXPERITURE_SDK_VERSION "0.0.0"
#endif

namespace experiture {

const char* sdk_version() noexcept {
  return EXPERITURE_SDK_VERSION;
}

}  // namespace experiture
