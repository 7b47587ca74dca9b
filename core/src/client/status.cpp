#include "experiture/status.hpp"

namespace experiture {

const char* code_name(Code code) noexcept {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kInvalidJson:
      return "INVALID_JSON";
    case Code::kRecordNotObject:
      return "RECORD_NOT_OBJECT";
    case Code::kRecordEmpty:
      return "RECORD_EMPTY";
    case Code::kMatchKeyMissing:
      return "MATCH_KEY_MISSING";
    case Code::kMatchKeyNull:
      return "MATCH_KEY_NULL";
    case Code::kMatchKeyNotString:
      return "MATCH_KEY_NOT_STRING";
    case Code::kMatchKeyNotIdentity:
      return "MATCH_KEY_NOT_IDENTITY";
    case Code::kRecordTooLarge:
      return "RECORD_TOO_LARGE";
    case Code::kInvalidEmail:
      return "INVALID_EMAIL";
    case Code::kInvalidPhone:
      return "INVALID_PHONE";
    case Code::kTimestampWithoutZone:
      return "TIMESTAMP_WITHOUT_ZONE";
    case Code::kQueueFull:
      return "QUEUE_FULL";
    case Code::kConsentDenied:
      return "CONSENT_DENIED";
    case Code::kClosed:
      return "CLOSED";
    case Code::kTimeout:
      return "TIMEOUT";
    case Code::kStorageError:
      return "STORAGE_ERROR";
    case Code::kStorageFull:
      return "STORAGE_FULL";
    case Code::kStorageRecovered:
      return "STORAGE_RECOVERED";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kInvalidConfig:
      return "INVALID_CONFIG";
    case Code::kNetworkError:
      return "NETWORK_ERROR";
    case Code::kUnauthorized:
      return "UNAUTHORIZED";
    case Code::kForbidden:
      return "FORBIDDEN";
    case Code::kPaused:
      return "PAUSED";
    case Code::kRejected:
      return "REJECTED";
    case Code::kWrongState:
      return "WRONG_STATE";
    case Code::kInternal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

std::string Status::to_string() const {
  std::string out = code_name(code_);
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace experiture
