package com.experiture.sdk;

import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the JNI glue calls from SDK threads. Every method catches everything: no Java exception is
 * left pending for native code, and each request's handle is completed exactly once.
 */
final class NativeCallbacks {
  private static final DeliveryEvent.Type[] EVENT_TYPES = DeliveryEvent.Type.values();
  private static final TransportError[] ERRORS = TransportError.values();

  private final HttpClient http;
  private final TokenProvider tokens;
  private final DeliveryListener listener;
  private final Logger logger;

  NativeCallbacks(HttpClient http, TokenProvider tokens, DeliveryListener listener, Logger logger) {
    this.http = http;
    this.tokens = tokens;
    this.listener = listener;
    this.logger = logger;
  }

  boolean hasHttp() {
    return http != null;
  }

  boolean hasTokens() {
    return tokens != null;
  }

  boolean hasListener() {
    return listener != null;
  }

  boolean hasLogger() {
    return logger != null;
  }

  static String utf8(byte[] bytes) {
    return bytes == null ? "" : new String(bytes, StandardCharsets.UTF_8);
  }

  static byte[] bytes(String text) {
    return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * UTF-8 of an argument, or INVALID_ARGUMENT naming it when the string holds a lone surrogate
   * (String.getBytes would silently turn it into '?').
   */
  static byte[] utf8Strict(String text, String name) {
    if (text == null) return null;
    int n = text.length();
    int size = 0;
    for (int i = 0; i < n; ++i) {
      char c = text.charAt(i);
      if (c < 0x80) {
        size += 1;
      } else if (c < 0x800) {
        size += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < n
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        size += 4;
        ++i;
      } else if (Character.isSurrogate(c)) {
        throw new ExperitureException(Status.INVALID_ARGUMENT, name
            + ": not valid text (a lone UTF-16 surrogate at index " + i + " has no UTF-8 form)");
      } else {
        size += 3;
      }
    }
    if (size == n) return text.getBytes(StandardCharsets.UTF_8);  // ASCII
    byte[] out = new byte[size];
    int k = 0;
    for (int i = 0; i < n; ++i) {
      int c = text.charAt(i);
      if (c < 0x80) {
        out[k++] = (byte) c;
      } else if (c < 0x800) {
        out[k++] = (byte) (0xC0 | (c >> 6));
        out[k++] = (byte) (0x80 | (c & 0x3F));
      } else if (Character.isHighSurrogate((char) c)) {
        int cp = Character.toCodePoint((char) c, text.charAt(++i));
        out[k++] = (byte) (0xF0 | (cp >> 18));
        out[k++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
        out[k++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
        out[k++] = (byte) (0x80 | (cp & 0x3F));
      } else {
        out[k++] = (byte) (0xE0 | (c >> 12));
        out[k++] = (byte) (0x80 | ((c >> 6) & 0x3F));
        out[k++] = (byte) (0x80 | (c & 0x3F));
      }
    }
    return out;
  }

  void send(byte[] method, byte[] url, byte[][] names, byte[][] values, byte[] body, long timeoutMs,
      long handle) {
    NativeCompletion completion = new NativeCompletion(handle);
    try {
      List<Map.Entry<String, String>> headers = new ArrayList<>(names.length);
      for (int i = 0; i < names.length; ++i) {
        headers.add(new AbstractMap.SimpleImmutableEntry<>(utf8(names[i]), utf8(values[i])));
      }
      http.send(new HttpRequest(utf8(method), utf8(url), headers, body, timeoutMs), completion);
    } catch (Throwable t) {
      completion.complete(HttpResponse.failure(TransportError.OTHER,
          "HttpClient.send threw " + t.getClass().getSimpleName()));
    }
  }

  void cancelAll() {
    try {
      http.cancelAll();
    } catch (Throwable t) {
      // nothing to report to
    }
  }

  void closeHttp() {
    try {
      http.close();
    } catch (Throwable t) {
      // nothing to report to
    }
  }

  byte[] token(boolean refresh) {
    try {
      return bytes(tokens.token(refresh));
    } catch (Throwable t) {
      return null;
    }
  }

  void onEvent(int type, long count, byte[] reason) {
    try {
      DeliveryEvent.Type t =
          type >= 0 && type < EVENT_TYPES.length ? EVENT_TYPES[type] : DeliveryEvent.Type.DROPPED;
      listener.onEvent(new DeliveryEvent(t, count, utf8(reason)));
    } catch (Throwable t) {
      // listener problems never reach the SDK
    }
  }

  void log(int level, byte[] message) {
    try {
      logger.log(level, utf8(message));
    } catch (Throwable t) {
      // logger problems never reach the SDK
    }
  }

  /** Completes a native handle exactly once. */
  static final class NativeCompletion implements HttpCompletion {
    private final long handle;
    private final AtomicBoolean done = new AtomicBoolean();

    NativeCompletion(long handle) {
      this.handle = handle;
    }

    @Override
    public void complete(HttpResponse response) {
      if (!done.compareAndSet(false, true)) return;
      if (response == null) {
        response = HttpResponse.failure(TransportError.OTHER, "null response");
      }
      List<Map.Entry<String, String>> headers = response.headers();
      byte[][] names = new byte[headers.size()][];
      byte[][] values = new byte[headers.size()][];
      for (int i = 0; i < names.length; ++i) {
        names[i] = bytes(headers.get(i).getKey());
        values[i] = bytes(headers.get(i).getValue());
      }
      int error = response.error().ordinal();
      NativeBridge.httpComplete(handle, response.status(), names, values,
          response.body() == null ? new byte[0] : response.body(), error < ERRORS.length ? error : 7,
          bytes(response.errorMessage()));
    }
  }
}
