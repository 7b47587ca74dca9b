package com.experiture.sdk;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.NoRouteToHostException;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocketFactory;

/**
 * {@link HttpClient} over {@link HttpURLConnection} (Android's and the JDK's stack) on an executor:
 * one blocking exchange per worker thread, a timer for the total timeout, and cancellation by
 * disconnecting. Keep-alive comes from HttpURLConnection's connection cache (bodies are read fully).
 * Bodies use fixed-length streaming, so HttpURLConnection never silently re-sends a POST.
 *
 * <p>Hostile networks: a response body longer than {@link #MAX_RESPONSE_BODY_BYTES} completes
 * with {@link TransportError#OTHER} (reading stops there), as does running out of memory; a
 * cleartext {@code http://} URL whose host is not loopback (127.0.0.0/8, ::1, localhost) is refused
 * with {@link TransportError#OTHER} before connecting.
 */
public final class UrlConnectionHttpClient implements HttpClient {
  /**
   * The most response body bytes kept (8 MiB, as the core's kMaxResponseBodyBytes): the API's
   * largest answer (per-record results for 10,000 records) is far smaller.
   */
  public static final int MAX_RESPONSE_BODY_BYTES = 8 << 20;

  private static final AtomicInteger CLIENTS = new AtomicInteger();

  private final ExecutorService workers;
  private final ScheduledExecutorService timer;
  // Not ConcurrentHashMap.newKeySet: Android API 21 lacks it.
  private final Set<Call> inFlight =
      Collections.newSetFromMap(new ConcurrentHashMap<Call, Boolean>());
  private final long connectTimeoutMs;
  private final PublicKeyPins pins;
  private final SSLSocketFactory socketFactory;  // null: the platform's default trust
  private final boolean allowInsecureHttp;  // the loudly named test-rig opt-in
  private volatile boolean closed;

  public UrlConnectionHttpClient() {
    this(10_000);
  }

  /** @param connectTimeoutMs upper bound for connecting (the request's own timeout also applies) */
  public UrlConnectionHttpClient(long connectTimeoutMs) {
    this(connectTimeoutMs, PublicKeyPins.parse(null), null, false);
  }

  /**
   * Options beyond the defaults: public-key pins and the TLS socket factory.
   *
   * <pre>
   *   Experiture.builder().httpClient(UrlConnectionHttpClient.builder()
   *       .pinnedPublicKeys("sha256//AbC...=;sha256//BackupKey...=").build())
   * </pre>
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link UrlConnectionHttpClient}; not thread-safe, the client is. */
  public static final class Builder {
    private long connectTimeoutMs = 10_000;
    private PublicKeyPins pins = PublicKeyPins.parse(null);
    private SSLSocketFactory socketFactory;
    private boolean allowInsecureHttp;

    private Builder() {}

    /** Upper bound for connecting (the request's own total timeout also applies). */
    public Builder connectTimeoutMs(long ms) {
      if (ms <= 0) throw new IllegalArgumentException("connectTimeoutMs: must be > 0");
      connectTimeoutMs = ms;
      return this;
    }

    /**
     * Public-key pins in curl's format, {@code "sha256//<base64>"}, ';'-separated (a current key
     * and a backup): the server's certificate key must match one, else the request fails with
     * {@link TransportError#PINNING} before any byte of it is sent (the SDK retries later and
     * reports NETWORK.PINNING). Pins never replace certificate verification, they add to it.
     * With pins, plain-HTTP URLs fail with PINNING too. Throws IllegalArgumentException for a
     * malformed pin. Null or "" turns pinning off.
     */
    public Builder pinnedPublicKeys(String pins) {
      this.pins = PublicKeyPins.parse(pins);
      return this;
    }

    /**
     * The TLS socket factory for HTTPS, e.g. from an SSLContext trusting a private CA; null (the
     * default) uses the platform's trust (on Android: the app's network security config).
     * Certificate and host name verification stay on either way.
     */
    public Builder sslSocketFactory(SSLSocketFactory factory) {
      socketFactory = factory;
      return this;
    }

    /**
     * DANGER, test rigs only: allows cleartext http:// to any host, sending the bearer token and
     * every record unencrypted. Never set it in an app. Default false: http:// only to loopback.
     */
    public Builder allowInsecureHttpForTesting(boolean allow) {
      allowInsecureHttp = allow;
      return this;
    }

    public UrlConnectionHttpClient build() {
      return new UrlConnectionHttpClient(connectTimeoutMs, pins, socketFactory, allowInsecureHttp);
    }
  }

  private UrlConnectionHttpClient(long connectTimeoutMs, PublicKeyPins pins,
      SSLSocketFactory socketFactory, boolean allowInsecureHttp) {
    this.allowInsecureHttp = allowInsecureHttp;
    this.connectTimeoutMs = connectTimeoutMs;
    this.pins = pins;
    this.socketFactory = socketFactory;
    int id = CLIENTS.incrementAndGet();
    workers = Executors.newCachedThreadPool(daemonThreads("experiture-http-" + id));
    timer = Executors.newSingleThreadScheduledExecutor(daemonThreads("experiture-http-timer-" + id));
  }

  @Override
  public void send(HttpRequest request, HttpCompletion completion) {
    Call call = new Call(request, completion);
    inFlight.add(call);
    if (closed) {
      call.abort(TransportError.CANCELLED, "the HTTP client is closed");
      return;
    }
    try {
      workers.execute(call::run);
    } catch (RejectedExecutionException e) {
      call.abort(TransportError.CANCELLED, "the HTTP client is closed");
    }
  }

  @Override
  public void cancelAll() {
    for (Call call : inFlight.toArray(new Call[0])) {
      call.abort(TransportError.CANCELLED, "cancelled");
    }
  }

  @Override
  public void close() {
    closed = true;
    cancelAll();
    workers.shutdown();
    try {
      // Workers finish fast once disconnected; completions already running are waited for.
      workers.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timer.shutdownNow();
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /** True for 127.0.0.0/8 in dotted-quad form, [::1] and localhost (the cleartext rule). */
  static boolean isLoopbackHost(String host) {
    if (host.equalsIgnoreCase("localhost") || host.equals("[::1]") || host.equals("::1")) {
      return true;
    }
    String[] octets = host.split("\\.", -1);
    if (octets.length != 4) return false;
    for (int i = 0; i < 4; ++i) {
      String octet = octets[i];
      if (octet.isEmpty() || octet.length() > 3) return false;
      for (int j = 0; j < octet.length(); ++j) {
        if (octet.charAt(j) < '0' || octet.charAt(j) > '9') return false;
      }
      int value = Integer.parseInt(octet);
      if (value > 255 || (i == 0 && value != 127)) return false;
    }
    return true;
  }

  /** Thrown by readAll() past MAX_RESPONSE_BODY_BYTES. */
  private static final class BodyTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    BodyTooLargeException() {
      super("response body exceeds 8 MiB (MAX_RESPONSE_BODY_BYTES): not an answer the API sends");
    }
  }

  /** The JDK reads response header bytes as ISO-8859-1: back to the UTF-8 they were. */
  private static String latin1AsUtf8(String text) {
    return new String(text.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
  }

  private final class Call {
    private final HttpRequest request;
    private final HttpCompletion completion;
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile HttpURLConnection connection;
    private volatile ScheduledFuture<?> deadline;

    Call(HttpRequest request, HttpCompletion completion) {
      this.request = request;
      this.completion = completion;
    }

    /** Completes exactly once; later answers are dropped. */
    private void finish(HttpResponse response) {
      if (!finished.compareAndSet(false, true)) return;
      inFlight.remove(this);
      ScheduledFuture<?> timeout = deadline;
      if (timeout != null) timeout.cancel(false);
      try {
        completion.complete(response);
      } catch (RuntimeException e) {
        // The completion's own problem; the exchange is over either way.
      }
    }

    void abort(TransportError error, String message) {
      if (finished.get()) return;
      finish(HttpResponse.failure(error, message));
      HttpURLConnection open = connection;
      if (open != null) open.disconnect();  // unblocks the worker
    }

    void run() {
      if (finished.get()) return;
      long timeoutMs = Math.max(1, request.timeoutMs());
      try {
        deadline = timer.schedule(() -> abort(TransportError.TIMEOUT, "timed out after "
            + timeoutMs + " ms"), timeoutMs, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        abort(TransportError.CANCELLED, "the HTTP client is closed");
        return;
      }
      boolean connected = false;
      try {
        URL url = new URL(request.url());
        if ("http".equalsIgnoreCase(url.getProtocol()) && !allowInsecureHttp
            && !isLoopbackHost(url.getHost())) {
          finish(HttpResponse.failure(TransportError.OTHER, "cleartext http:// is only allowed to"
              + " a loopback host (127.0.0.0/8, ::1, localhost); use https://"));
          return;
        }
        HttpURLConnection conn = (HttpURLConnection) url.openConnection(Proxy.NO_PROXY);
        connection = conn;
        if (finished.get()) return;
        HttpsURLConnection https = conn instanceof HttpsURLConnection
            ? (HttpsURLConnection) conn : null;
        if (https != null && socketFactory != null) https.setSSLSocketFactory(socketFactory);
        if (https == null && !pins.isEmpty()) {
          finish(HttpResponse.failure(TransportError.PINNING,
              "public-key pins are set but the URL is not HTTPS"));
          return;
        }
        int timeout = (int) Math.min(Integer.MAX_VALUE, timeoutMs);
        conn.setConnectTimeout((int) Math.min(timeout, connectTimeoutMs));
        conn.setReadTimeout(timeout);
        conn.setUseCaches(false);
        conn.setInstanceFollowRedirects(false);
        conn.setRequestMethod(request.method());
        for (Map.Entry<String, String> header : request.headers()) {
          // The JDK writes request header values as UTF-8.
          conn.addRequestProperty(header.getKey(), header.getValue());
        }
        byte[] body = request.body();
        boolean hasBody = body.length > 0 || "POST".equals(request.method())
            || "PUT".equals(request.method());
        if (hasBody) {
          conn.setDoOutput(true);
          conn.setFixedLengthStreamingMode(body.length);
        }
        conn.connect();  // HTTPS: the TLS handshake, with certificate and host name checks
        connected = true;
        if (https != null && !pins.isEmpty()) {
          Certificate[] chain = https.getServerCertificates();
          if (chain.length == 0 || !pins.matches(chain[0])) {
            String seen = chain.length == 0 ? "none" : PublicKeyPins.pinOf(chain[0]);
            conn.disconnect();
            finish(HttpResponse.failure(TransportError.PINNING,
                "the server's public key matches no pin (server key " + seen + ")"));
            return;
          }
        }
        if (hasBody) {
          try (OutputStream out = conn.getOutputStream()) {
            out.write(body);
          }
        }
        int status = conn.getResponseCode();
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        for (int i = 0;; ++i) {
          String value = conn.getHeaderField(i);
          String name = conn.getHeaderFieldKey(i);
          if (value == null && name == null && i > 0) break;
          if (name == null) continue;  // the status line
          headers.add(new AbstractMap.SimpleImmutableEntry<>(
              name.toLowerCase(Locale.ROOT), latin1AsUtf8(value == null ? "" : value)));
        }
        InputStream in = status >= 400 ? conn.getErrorStream() : conn.getInputStream();
        byte[] responseBody = in == null ? new byte[0] : readAll(in);
        finish(new HttpResponse(status, headers, responseBody));
      } catch (BodyTooLargeException e) {
        finish(HttpResponse.failure(TransportError.OTHER, e.getMessage()));
        HttpURLConnection open = connection;
        if (open != null) open.disconnect();  // do not keep a connection that still streams
      } catch (IOException | RuntimeException e) {
        finish(HttpResponse.failure(transportErrorOf(e, connected), describe(e)));
      } catch (OutOfMemoryError e) {
        // Completes the request instead of killing the worker with the completion never called.
        finish(HttpResponse.failure(TransportError.OTHER, "out of memory"));
      }
    }
  }

  /**
   * The kind of transport error an exchange that threw {@code e} ended with; {@code connected}
   * says whether the connection (and its TLS handshake) had been made when it threw.
   */
  static TransportError transportErrorOf(Exception e, boolean connected) {
    if (e instanceof UnknownHostException) return TransportError.DNS;
    if (e instanceof SocketTimeoutException) return TransportError.TIMEOUT;
    if (e instanceof SSLException) return TransportError.TLS;
    if (e instanceof ConnectException || e instanceof NoRouteToHostException) {
      return TransportError.CONNECT;
    }
    if (e instanceof IOException) return connected ? TransportError.RESET : TransportError.CONNECT;
    return TransportError.OTHER;
  }

  private static byte[] readAll(InputStream in) throws IOException {
    try (InputStream stream = in) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] chunk = new byte[16384];
      for (int n; (n = stream.read(chunk)) >= 0;) {
        if (n > MAX_RESPONSE_BODY_BYTES - out.size()) throw new BodyTooLargeException();
        out.write(chunk, 0, n);
      }
      return out.toByteArray();
    }
  }

  /** Exception class and message: never holds request headers, so never the token. */
  private static String describe(Exception e) {
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }
}
