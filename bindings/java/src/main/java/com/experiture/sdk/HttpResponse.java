package com.experiture.sdk;

import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The answer to one {@link HttpRequest}: an HTTP status, or a transport error. Immutable. */
public final class HttpResponse {
  private final int status;
  private final List<Map.Entry<String, String>> headers;
  private final byte[] body;
  private final TransportError error;
  private final String errorMessage;

  public HttpResponse(int status, List<Map.Entry<String, String>> headers, byte[] body) {
    this(status, headers, body, TransportError.NONE, "");
  }

  private HttpResponse(int status, List<Map.Entry<String, String>> headers, byte[] body,
      TransportError error, String errorMessage) {
    this.status = status;
    this.headers = Collections.unmodifiableList(headers);
    this.body = body;
    this.error = error;
    this.errorMessage = errorMessage;
  }

  /** A response without HTTP status; {@code message} must never hold the Authorization header. */
  public static HttpResponse failure(TransportError error, String message) {
    return new HttpResponse(0, Collections.emptyList(), new byte[0], error,
        message == null ? "" : message);
  }

  public int status() {
    return status;
  }

  /** Names lower-cased. */
  public List<Map.Entry<String, String>> headers() {
    return headers;
  }

  /** First value of the header with this name (case-insensitive), or null. */
  public String header(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (Map.Entry<String, String> header : headers) {
      if (header.getKey().equals(lower)) return header.getValue();
    }
    return null;
  }

  public byte[] body() {
    return body;
  }

  public TransportError error() {
    return error;
  }

  public String errorMessage() {
    return errorMessage;
  }
}
