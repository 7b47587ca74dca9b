package com.experiture.sdk;

/** The SDK's status codes; mirrors experiture_status_t (values append-only). */
public enum Status {
  OK(0), INVALID_ARGUMENT(1), INVALID_JSON(2), RECORD_NOT_OBJECT(3), RECORD_EMPTY(4),
  MATCH_KEY_MISSING(5), MATCH_KEY_NULL(6), MATCH_KEY_NOT_STRING(7), MATCH_KEY_NOT_IDENTITY(8),
  RECORD_TOO_LARGE(9), INVALID_EMAIL(10), INVALID_PHONE(11), TIMESTAMP_WITHOUT_ZONE(12),
  QUEUE_FULL(13), CONSENT_DENIED(14), CLOSED(15), TIMEOUT(16), STORAGE_ERROR(17),
  STORAGE_FULL(18), STORAGE_RECOVERED(19), NOT_FOUND(20), INVALID_CONFIG(21), NETWORK_ERROR(22),
  UNAUTHORIZED(23), FORBIDDEN(24), PAUSED(25), REJECTED(26), WRONG_STATE(27), INTERNAL(28),
  /** A code this version of the binding does not know. */
  UNKNOWN(-1);

  private final int code;

  Status(int code) {
    this.code = code;
  }

  /** The numeric code shared with the C API. */
  public int code() {
    return code;
  }

  /** The status with this numeric code, or UNKNOWN. */
  public static Status fromCode(int code) {
    for (Status status : values()) {
      if (status.code == code) return status;
    }
    return UNKNOWN;
  }
}
