package com.experiture.sdk;

/**
 * A call the SDK refused: bad input (the message names the field and the rule), a closed client,
 * or a storage problem. Carries the SDK status; getMessage() is "STATUS_NAME: detail".
 */
public class ExperitureException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Status status;
  private final String detail;

  public ExperitureException(Status status, String detail) {
    super(detail == null || detail.isEmpty() ? status.name() : status.name() + ": " + detail);
    this.status = status;
    this.detail = detail == null ? "" : detail;
  }

  public Status status() {
    return status;
  }

  /** The numeric status code shared with the C API. */
  public int statusCode() {
    return status.code();
  }

  /** The SDK's message without the status name. */
  public String detail() {
    return detail;
  }
}
