package com.experiture.sdk;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Experiture SDK for Java and Android: capture profile data offline, deliver it to the CDP.
 *
 * <pre>
 * try (Experiture sdk = Experiture.builder()
 *         .storagePath(new File(context.getFilesDir(), "experiture.db").getPath())
 *         .tokenProvider(refresh -> backend.fetchToken(refresh))
 *         .build()) {
 *   sdk.upsert("profiles", "{\"email\":\"ada@example.com\",\"tier\":\"gold\"}", "email");
 * }
 * </pre>
 *
 * Thread-safe. Calls return at once (they never touch disk or network) except those named as
 * waiting: {@link #persist}, {@link #flush}, {@link #close}, dead letters. Records are JSON object
 * text. Bad input throws {@link ExperitureException} carrying the SDK status; nothing the SDK
 * accepted before is lost because of it. By default requests go through
 * {@link UrlConnectionHttpClient}; {@link Builder#httpClient} plugs in another stack.
 *
 * <p>No call waits for another: once {@link #close} has started, every other call throws (or
 * returns) CLOSED at once instead of waiting for the close to finish. {@code close()} may be
 * called from inside the listener, the token provider or the HTTP client: it then returns at once
 * and the SDK finishes closing on its own thread when the callback returns. Strings must be valid
 * UTF-16 (a lone surrogate is INVALID_ARGUMENT naming the argument). A client that becomes
 * unreachable without {@code close()} is closed and released by the SDK (a daemon thread draining
 * a reference queue), but only after a garbage collection: close it yourself.
 */
public final class Experiture implements AutoCloseable {
  /** Default wait of {@link #close()}. */
  public static final long DEFAULT_CLOSE_TIMEOUT_MS = 5000;

  private final NativeClient nativeClient;
  private final Reaper.Ref reaperRef;  // refers to this object only weakly (phantom)

  private Experiture(long handle) {
    this.nativeClient = new NativeClient(handle);
    this.reaperRef = Reaper.watch(this, nativeClient);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Accepts an upsert of a JSON object keyed by its field {@code matchKey}. */
  public void upsert(String object, String recordJson, String matchKey) {
    byte[] o = bytes(object, "object");
    byte[] r = bytes(recordJson, "record_json");
    byte[] k = bytes(matchKey, "match_key");
    check(call(h -> NativeBridge.upsert(h, o, r, k)));
  }

  /** Accepts an event row (never merged by the server). */
  public void append(String object, String recordJson) {
    byte[] o = bytes(object, "object");
    byte[] r = bytes(recordJson, "record_json");
    check(call(h -> NativeBridge.append(h, o, r)));
  }

  /** Links this device to a user; each identifier may be null. */
  public void login(String email, String customerId, String phone) {
    byte[] e = bytes(email, "email");
    byte[] c = bytes(customerId, "customer_id");
    byte[] p = bytes(phone, "phone");
    check(call(h -> NativeBridge.login(h, e, c, p)));
  }

  public void logout() {
    check(call(NativeBridge::logout));
  }

  public void setPushToken(String token) {
    byte[] t = bytes(token, "token");
    check(call(h -> NativeBridge.setPushToken(h, t)));
  }

  public void setConsent(Consent consent) {
    check(call(h -> NativeBridge.setConsent(h, consent.ordinal())));
  }

  /** Waits until every write accepted before the call is durable: OK or TIMEOUT. */
  public Status persist(long timeoutMs) {
    return waited(call(h -> NativeBridge.persist(h, timeoutMs)));
  }

  /**
   * Waits until every write accepted before the call is delivered or dead-lettered: OK, TIMEOUT,
   * or PAUSED when delivery cannot progress (see {@link #stats()} for the reason).
   */
  public Status flush(long timeoutMs) {
    return waited(call(h -> NativeBridge.flush(h, timeoutMs)));
  }

  /** Manual mode only: does all due work on the calling thread. */
  public void pump() {
    check(call(NativeBridge::pump));
  }

  /** The app went to the background (Activity.onStop): delivery flushes now. */
  public void onBackground() {
    check(call(h -> NativeBridge.hint(h, NativeBridge.HINT_BACKGROUND)));
  }

  /** The app came to the foreground (Activity.onStart). */
  public void onForeground() {
    check(call(h -> NativeBridge.hint(h, NativeBridge.HINT_FOREGROUND)));
  }

  /** Connectivity changed (ConnectivityManager callback); offline pauses delivery. */
  public void setOnline(boolean online) {
    check(call(h -> NativeBridge.hint(h, online ? NativeBridge.HINT_ONLINE
                                                : NativeBridge.HINT_OFFLINE)));
  }

  public void pause() {
    check(call(h -> NativeBridge.hint(h, NativeBridge.HINT_PAUSE)));
  }

  public void resume() {
    check(call(h -> NativeBridge.hint(h, NativeBridge.HINT_RESUME)));
  }

  /** The current device_id (a new one after logout by default). */
  public String deviceId() {
    return text(h -> NativeBridge.deviceId(h, STATUS.get()));
  }

  /** A health snapshot as JSON text (fields of experiture_client_stats). */
  public String stats() {
    return text(h -> NativeBridge.stats(h, STATUS.get()));
  }

  /** At most {@code limit} dead letters, oldest first, as a JSON array. */
  public String deadLetters(int limit) {
    return text(h -> NativeBridge.deadLetters(h, limit, STATUS.get()));
  }

  /** Re-queues every dead letter at the end of the outbox. */
  public void retryDeadLetters() {
    check(call(NativeBridge::retryDeadLetters));
  }

  public void purgeDeadLetters() {
    check(call(NativeBridge::purgeDeadLetters));
  }

  /**
   * Persists (at most timeoutMs), stops delivery and releases the native client. Idempotent: a
   * second close returns OK at once, also while the first is still running. From the moment it
   * starts, every other call on this client throws (or returns) CLOSED without waiting. Inside a
   * callback of this client (listener, token provider, HTTP client) it returns OK at once and the
   * SDK finishes on its own thread after the callback.
   */
  public Status close(long timeoutMs) {
    Reaper.forget(reaperRef);
    return nativeClient.close(timeoutMs);
  }

  @Override
  public void close() {
    close(DEFAULT_CLOSE_TIMEOUT_MS);
  }

  // ---- plumbing ----

  // Not ThreadLocal.withInitial: Android API 21 lacks it (Java 8 bytecode, minSdk 21).
  private static final ThreadLocal<int[]> STATUS =
      new ThreadLocal<int[]>() {
        @Override
        protected int[] initialValue() {
          return new int[1];
        }
      };

  private interface NativeCall {
    int run(long handle);
  }

  private interface NativeText {
    byte[] run(long handle);
  }

  /** Runs f on the open handle; CLOSED at once when the client is closed or closing. */
  private int call(NativeCall f) {
    if (!nativeClient.acquire()) return Status.CLOSED.code();
    try {
      return f.run(nativeClient.handle);
    } finally {
      nativeClient.release();
    }
  }

  private String text(NativeText f) {
    byte[] result;
    if (!nativeClient.acquire()) throw new ExperitureException(Status.CLOSED, "the client is closed");
    try {
      result = f.run(nativeClient.handle);
    } finally {
      nativeClient.release();
    }
    check(STATUS.get()[0]);
    return NativeCallbacks.utf8(result);
  }

  /**
   * The native client and who is using it. Never refers to its Experiture, so that one can become
   * unreachable. The handle is freed by whoever drops the last use: the open reference is dropped
   * by close(), each running call holds one more. Nothing here ever blocks.
   */
  static final class NativeClient {
    final long handle;
    private final AtomicInteger uses = new AtomicInteger(1);  // 1: the open reference
    private final AtomicBoolean closing = new AtomicBoolean();

    NativeClient(long handle) {
      this.handle = handle;
    }

    /** A use of the open handle, or false (CLOSED) once close() has started. */
    boolean acquire() {
      for (;;) {
        if (closing.get()) return false;
        int n = uses.get();
        if (n == 0) return false;
        if (uses.compareAndSet(n, n + 1)) {
          if (!closing.get()) return true;
          release();
          return false;
        }
      }
    }

    void release() {
      if (uses.decrementAndGet() == 0) NativeBridge.free(handle);
    }

    Status close(long timeoutMs) {
      if (!closing.compareAndSet(false, true)) return Status.OK;
      // Calls already running finish against the handle; it is freed after the last of them.
      Status status = Status.fromCode(NativeBridge.close(handle, timeoutMs));
      release();
      return status;
    }
  }

  /**
   * Closes and frees clients that became unreachable without close(): a PhantomReference queue
   * drained by one daemon thread (java.lang.ref.Cleaner does not exist before Android 33).
   */
  static final class Reaper {
    private static final ReferenceQueue<Experiture> QUEUE = new ReferenceQueue<>();
    // The references themselves must stay reachable until enqueued.
    private static final Set<Ref> LIVE = Collections.synchronizedSet(new HashSet<Ref>());
    private static boolean started;  // guarded by Reaper.class

    static final class Ref extends PhantomReference<Experiture> {
      final NativeClient nativeClient;

      Ref(Experiture owner, NativeClient nativeClient) {
        super(owner, QUEUE);
        this.nativeClient = nativeClient;
      }
    }

    static Ref watch(Experiture owner, NativeClient nativeClient) {
      Ref ref = new Ref(owner, nativeClient);
      LIVE.add(ref);
      start();
      return ref;
    }

    /** After close(): the reference has nothing left to do. */
    static void forget(Ref ref) {
      LIVE.remove(ref);
      ref.clear();
    }

    private static synchronized void start() {
      if (started) return;
      started = true;
      Thread thread = new Thread(Reaper::drain, "experiture-reaper");
      thread.setDaemon(true);
      thread.start();
    }

    private static void drain() {
      for (;;) {
        try {
          Ref ref = (Ref) QUEUE.remove();
          LIVE.remove(ref);
          ref.nativeClient.close(DEFAULT_CLOSE_TIMEOUT_MS);
        } catch (Throwable t) {
          // keep draining: one client's failure must not leak the others
        }
      }
    }
  }

  private static Status waited(int code) {
    Status status = Status.fromCode(code);
    if (status == Status.OK || status == Status.TIMEOUT || status == Status.PAUSED) return status;
    throw exception(code);
  }

  private static void check(int code) {
    if (code != Status.OK.code()) throw exception(code);
  }

  private static ExperitureException exception(int code) {
    Status status = Status.fromCode(code);
    String detail = status == Status.CLOSED ? "the client is closed"
                                            : NativeCallbacks.utf8(NativeBridge.lastError());
    return new ExperitureException(status, detail);
  }

  private static byte[] bytes(String text) {
    return NativeCallbacks.bytes(text);
  }

  /** UTF-8 of an argument; a lone surrogate is INVALID_ARGUMENT naming it. */
  private static byte[] bytes(String text, String name) {
    return NativeCallbacks.utf8Strict(text, name);
  }

  /**
   * Configuration; defaults as in the C++ Config. build() opens the client (waits for disk). The
   * options are those of experiture/config_options.inc, passed to the native library by their
   * names there (ConfigOptionsTest keeps this builder and that table equal).
   */
  public static final class Builder {
    private final Map<String, byte[]> texts = new LinkedHashMap<>();
    private final Map<String, Long> numbers = new LinkedHashMap<>();
    private final Map<String, List<String>> identityKeys = new LinkedHashMap<>();
    private long[] retry;
    private HttpClient http;
    private boolean nativeHttp;
    private boolean allowInsecureHttp;
    private String logLevel;
    private TokenProvider tokenProvider;
    private DeliveryListener listener;
    private Logger logger;
    private PhoneNormalizer phoneNormalizer;

    private Builder() {
      text("platform_name", "android");
    }

    private Builder text(String option, String value) {
      texts.put(option, bytes(value));
      return this;
    }

    private Builder number(String option, long value) {
      numbers.put(option, value);
      return this;
    }

    /** Required: the outbox SQLite file (e.g. under Context.getFilesDir()). */
    public Builder storagePath(String path) {
      return text("storage_path", path);
    }

    /** API base URL; default https://api.experiture.ai/public/v1; http:// only to loopback. */
    public Builder endpoint(String url) {
      return text("endpoint", url);
    }

    /**
     * DANGER, test rigs only: allows cleartext http:// to any host (in the core's check and in
     * the default {@link UrlConnectionHttpClient}), sending the bearer token and every record
     * unencrypted. Never set it in an app.
     */
    public Builder allowInsecureHttpForTesting(boolean allow) {
      allowInsecureHttp = allow;
      return number("allow_insecure_http_for_testing", allow ? 1L : 0L);
    }

    /** A fixed bearer token (a token provider wins when both are set). */
    public Builder token(String token) {
      return text("token", token);
    }

    public Builder tokenProvider(TokenProvider provider) {
      tokenProvider = provider;
      return this;
    }

    public Builder listener(DeliveryListener listener) {
      this.listener = listener;
      return this;
    }

    /**
     * A log sink for the SDK's lines (never tokens or record values). Without one, lines go to
     * logcat on Android (tag "Experiture") and to stderr elsewhere, at {@link #logLevel}.
     */
    public Builder logger(Logger logger) {
      this.logger = logger;
      return this;
    }

    /**
     * The default logger's level: "off", "error", "warn", "info" or "debug"; null or "" reads the
     * EXPERITURE_LOG environment variable, else "warn". Ignored when {@link #logger} is set.
     */
    public Builder logLevel(String level) {
      logLevel = level;
      return text("log_level", level);
    }

    /**
     * The app's phone normaliser (e.g. over libphonenumber-java); see {@link PhoneNormalizer}.
     * Default: the native library's (libphonenumber when built in, else E.164 only).
     */
    public Builder phoneNormalizer(PhoneNormalizer normalizer) {
      phoneNormalizer = normalizer;
      return this;
    }

    /** The HTTP stack; taken: closed when the SDK is closed. Default UrlConnectionHttpClient. */
    public Builder httpClient(HttpClient client) {
      http = client;
      nativeHttp = false;
      return this;
    }

    /** Use the SDK's built-in native transport (curl on Linux) instead of a Java one. */
    public Builder nativeHttpClient() {
      http = null;
      nativeHttp = true;
      return this;
    }

    public Builder batchSize(int records) {
      return number("batch_size", records);
    }

    public Builder flushIntervalMs(long ms) {
      return number("flush_interval_ms", ms);
    }

    public Builder maxOutboxBytes(long bytes) {
      return number("max_outbox_bytes", bytes);
    }

    public Builder maxRecordBytes(long bytes) {
      return number("max_record_bytes", bytes);
    }

    public Builder ingressCapacity(long writes) {
      return number("ingress_capacity", writes);
    }

    public Builder ingressMaxBytes(long bytes) {
      return number("ingress_max_bytes", bytes);
    }

    public Builder commitWindowMs(long ms) {
      return number("commit_window_ms", ms);
    }

    public Builder defaultPhoneRegion(String isoRegion) {
      return text("default_phone_region", isoRegion);
    }

    /** No SDK threads: the app calls {@link Experiture#pump()}. */
    public Builder manualMode(boolean manual) {
      return number("manual_mode", manual ? 1L : 0L);
    }

    public Builder initialConsent(Consent consent) {
      return number("initial_consent", consent.ordinal());
    }

    public Builder profileObject(String object) {
      return text("profile_object", object);
    }

    /** Fields usable as match keys for every object without its own list. */
    public Builder defaultIdentityKeys(String... keys) {
      return text("default_identity_keys", jsonList(Arrays.asList(keys)));
    }

    public Builder identityKeys(String object, String... keys) {
      identityKeys.put(object, new ArrayList<>(Arrays.asList(keys)));
      return this;
    }

    /** Written to the anonymous profile's platform field; default "android". */
    public Builder platformName(String name) {
      return text("platform_name", name);
    }

    public Builder logoutClearsPushToken(boolean enabled) {
      return number("logout_clears_push_token", enabled ? 1L : 0L);
    }

    public Builder logoutNewDeviceId(boolean enabled) {
      return number("logout_new_device_id", enabled ? 1L : 0L);
    }

    public Builder retryPolicy(long baseMs, double factor, long capMs) {
      retry = new long[] {baseMs, Double.doubleToLongBits(factor), capMs};
      return this;
    }

    public Builder httpTimeoutMs(long ms) {
      return number("http_timeout_ms", ms);
    }

    public Builder clockSkewThresholdMs(long ms) {
      return number("clock_skew_threshold_ms", ms);
    }

    public Builder maxDeadLetters(long count) {
      return number("max_dead_letters", count);
    }

    /** 32 bytes from the Android Keystore: payloads at rest sealed with AES-256-GCM. */
    public Builder encryptionKey(byte[] key) {
      texts.put("encryption_key", key == null ? null : key.clone());
      return this;
    }

    /** Key rotation: the key older rows were sealed with (keep it until the outbox drained). */
    public Builder previousEncryptionKey(byte[] key) {
      texts.put("previous_encryption_key", key == null ? null : key.clone());
      return this;
    }

    /** {@link #nativeHttpClient()} only: a PEM bundle replacing the system's CA store. */
    public Builder tlsCaBundlePath(String path) {
      return text("tls_ca_bundle_path", path);
    }

    /**
     * Public-key pins, {@code "sha256//<base64>"}, ';'-separated: honoured by the native
     * transport and by the default {@link UrlConnectionHttpClient}; a custom {@link #httpClient}
     * gets no pins from here.
     */
    public Builder tlsPinnedPublicKeys(String pins) {
      return text("tls_pinned_public_keys", pins);
    }

    /** {@link #nativeHttpClient()} only: a proxy URL (the environment is never read). */
    public Builder tlsProxy(String proxy) {
      return text("tls_proxy", proxy);
    }

    /** Opens the client. Throws ExperitureException (INVALID_CONFIG names the field). */
    public Experiture build() {
      long config = NativeBridge.configNew();
      if (config == 0) throw new ExperitureException(Status.INTERNAL, "out of memory");
      HttpClient httpClient = null;
      try {
        for (Map.Entry<String, byte[]> e : texts.entrySet()) {
          check(NativeBridge.configSetString(config, bytes(e.getKey()), e.getValue()));
        }
        for (Map.Entry<String, Long> e : numbers.entrySet()) {
          check(NativeBridge.configSetLong(config, bytes(e.getKey()), e.getValue()));
        }
        for (Map.Entry<String, List<String>> e : identityKeys.entrySet()) {
          check(NativeBridge.configSetIdentityKeys(config, bytes(e.getKey()),
              bytes(jsonList(e.getValue()))));
        }
        if (retry != null) {
          check(NativeBridge.configSetRetryPolicy(config, retry[0],
              Double.longBitsToDouble(retry[1]), retry[2]));
        }
        if (phoneNormalizer != null) {
          check(NativeBridge.configSetPhoneNormalizer(config,
              new NativePhoneNormalizer(phoneNormalizer)));
        }
        httpClient = http != null ? http : nativeHttp ? null : defaultHttpClient();
        Logger log = logger != null ? logger : PlatformLog.defaultLogger(logLevel);
        NativeCallbacks callbacks = new NativeCallbacks(httpClient, tokenProvider, listener, log);
        // From here the config owns httpClient (closed when the last native user drops it).
        HttpClient owned = httpClient;
        httpClient = null;
        check(NativeBridge.configSetCallbacks(config, callbacks, owned != null,
            tokenProvider != null, listener != null, log != null));
        long[] out = new long[1];
        check(NativeBridge.open(config, out));
        return new Experiture(out[0]);
      } finally {
        NativeBridge.configFree(config);
        if (httpClient != null) httpClient.close();
      }
    }

    private HttpClient defaultHttpClient() {
      byte[] pins = texts.get("tls_pinned_public_keys");
      String pinText = pins == null ? null : NativeCallbacks.utf8(pins);
      try {
        return UrlConnectionHttpClient.builder().pinnedPublicKeys(pinText)
            .allowInsecureHttpForTesting(allowInsecureHttp).build();
      } catch (IllegalArgumentException e) {
        throw new ExperitureException(Status.INVALID_CONFIG,
            "tls_pinned_public_keys: " + e.getMessage());
      }
    }

    private static String jsonList(List<String> keys) {
      StringBuilder json = new StringBuilder("[");
      for (String key : keys) {
        if (json.length() > 1) json.append(',');
        json.append('"');
        for (char c : key.toCharArray()) {
          if (c == '"' || c == '\\') {
            json.append('\\').append(c);
          } else if (c < 0x20) {
            json.append(String.format("\\u%04x", (int) c));
          } else {
            json.append(c);
          }
        }
        json.append('"');
      }
      return json.append(']').toString();
    }
  }
}
