package com.experiture.sdk;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/** One request from the SDK to an {@link HttpClient}. Immutable. */
public final class HttpRequest {
  private final String method;
  private final String url;
  private final List<Map.Entry<String, String>> headers;
  private final byte[] body;
  private final long timeoutMs;

  public HttpRequest(String method, String url, List<Map.Entry<String, String>> headers,
      byte[] body, long timeoutMs) {
    this.method = method;
    this.url = url;
    this.headers = Collections.unmodifiableList(headers);
    this.body = body;
    this.timeoutMs = timeoutMs;
  }

  public String method() {
    return method;
  }

  public String url() {
    return url;
  }

  /** Header names and values in order (values are sent as their UTF-8 bytes). */
  public List<Map.Entry<String, String>> headers() {
    return headers;
  }

  /** The exact body bytes; do not modify. */
  public byte[] body() {
    return body;
  }

  /** Total time allowed for the exchange. */
  public long timeoutMs() {
    return timeoutMs;
  }
}
