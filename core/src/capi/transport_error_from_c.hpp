// The `error` of an experiture_http_response_t as the C++ TransportError (header-only, so that
// tests/unit/capi checks it without the shared library).
#pragma once

#include "experiture/experiture.h"
#include "experiture/platform/http_client.hpp"

namespace experiture {
namespace capi {

// Each EXPERITURE_TRANSPORT_* value to the kind of the same number; a number experiture.h does
// not define is kOther. Pure; any thread.
inline platform::TransportError transport_error_from_c(int error) {
  using platform::TransportError;
  switch (error) {
    case EXPERITURE_TRANSPORT_NONE:
      return TransportError::kNone;
    case EXPERITURE_TRANSPORT_CONNECT:
      return TransportError::kConnect;
    case EXPERITURE_TRANSPORT_TIMEOUT:
      return TransportError::kTimeout;
    case EXPERITURE_TRANSPORT_TLS:
      return TransportError::kTls;
    case EXPERITURE_TRANSPORT_PINNING:
      return TransportError::kPinning;
    case EXPERITURE_TRANSPORT_RESET:
      return TransportError::kReset;
    case EXPERITURE_TRANSPORT_CANCELLED:
      return TransportError::kCancelled;
    case EXPERITURE_TRANSPORT_OTHER:
      return TransportError::kOther;
    case EXPERITURE_TRANSPORT_DNS:
      return TransportError::kDns;
    default:
      return TransportError::kOther;
  }
}

}  // namespace capi
}  // namespace experiture
