package com.experiture.sdk;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

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
 */
public final class Experiture implements AutoCloseable {
  /** Default wait of {@link #close()}. */
  public static final long DEFAULT_CLOSE_TIMEOUT_MS = 5000;

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private long handle;  // guarded by lock; 0 once closed

  private Experiture(long handle) {
    this.handle = handle;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Accepts an upsert of a JSON object keyed by its field {@code matchKey}. */
  public void upsert(String object, String recordJson, String matchKey) {
    check(call(h -> NativeBridge.upsert(h, bytes(object), bytes(recordJson), bytes(matchKey))));
  }

  /** Accepts an event row (never merged by the server). */
  public void append(String object, String recordJson) {
    check(call(h -> NativeBridge.append(h, bytes(object), bytes(recordJson))));
  }

  /** Links this device to a user; each identifier may be null. */
  public void login(String email, String customerId, String phone) {
    check(call(h -> NativeBridge.login(h, bytes(email), bytes(customerId), bytes(phone))));
  }

  public void logout() {
    check(call(NativeBridge::logout));
  }

  public void setPushToken(String token) {
    check(call(h -> NativeBridge.setPushToken(h, bytes(token))));
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

  /** Persists (at most timeoutMs), stops delivery and releases the native client. Idempotent. */
  public Status close(long timeoutMs) {
    long h;
    lock.writeLock().lock();
    try {
      h = handle;
      handle = 0;
    } finally {
      lock.writeLock().unlock();
    }
    if (h == 0) return Status.OK;
    Status status = Status.fromCode(NativeBridge.close(h, timeoutMs));
    NativeBridge.free(h);
    return status;
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

  /** Runs f on the open handle; CLOSED when the client is closed. */
  private int call(NativeCall f) {
    lock.readLock().lock();
    try {
      return handle == 0 ? Status.CLOSED.code() : f.run(handle);
    } finally {
      lock.readLock().unlock();
    }
  }

  private String text(NativeText f) {
    byte[] result;
    lock.readLock().lock();
    try {
      if (handle == 0) throw new ExperitureException(Status.CLOSED, "the client is closed");
      result = f.run(handle);
    } finally {
      lock.readLock().unlock();
    }
    check(STATUS.get()[0]);
    return NativeCallbacks.utf8(result);
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

  /** Configuration; defaults as in the C++ Config. build() opens the client (waits for disk). */
  public static final class Builder {
    private final Map<Integer, String> strings = new LinkedHashMap<>();
    private final Map<Integer, Long> longs = new LinkedHashMap<>();
    private final Map<String, List<String>> identityKeys = new LinkedHashMap<>();
    private long[] retry;
    private byte[] encryptionKey;
    private HttpClient http;
    private boolean nativeHttp;
    private TokenProvider tokenProvider;
    private DeliveryListener listener;
    private Logger logger;

    private Builder() {
      strings.put(NativeBridge.CONFIG_PLATFORM_NAME, "android");
    }

    /** Required: the outbox SQLite file (e.g. under Context.getFilesDir()). */
    public Builder storagePath(String path) {
      strings.put(NativeBridge.CONFIG_STORAGE_PATH, path);
      return this;
    }

    /** API base URL; default https://api.experiture.ai/public/v1. */
    public Builder endpoint(String url) {
      strings.put(NativeBridge.CONFIG_ENDPOINT, url);
      return this;
    }

    /** A fixed bearer token (a token provider wins when both are set). */
    public Builder token(String token) {
      strings.put(NativeBridge.CONFIG_TOKEN, token);
      return this;
    }

    public Builder tokenProvider(TokenProvider provider) {
      tokenProvider = provider;
      return this;
    }

    public Builder listener(DeliveryListener listener) {
      this.listener = listener;
      return this;
    }

    public Builder logger(Logger logger) {
      this.logger = logger;
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
      longs.put(NativeBridge.CONFIG_BATCH_SIZE, (long) records);
      return this;
    }

    public Builder flushIntervalMs(long ms) {
      longs.put(NativeBridge.CONFIG_FLUSH_INTERVAL_MS, ms);
      return this;
    }

    public Builder maxOutboxBytes(long bytes) {
      longs.put(NativeBridge.CONFIG_MAX_OUTBOX_BYTES, bytes);
      return this;
    }

    public Builder maxRecordBytes(long bytes) {
      longs.put(NativeBridge.CONFIG_MAX_RECORD_BYTES, bytes);
      return this;
    }

    public Builder ingressCapacity(long writes) {
      longs.put(NativeBridge.CONFIG_INGRESS_CAPACITY, writes);
      return this;
    }

    public Builder commitWindowMs(long ms) {
      longs.put(NativeBridge.CONFIG_COMMIT_WINDOW_MS, ms);
      return this;
    }

    public Builder defaultPhoneRegion(String isoRegion) {
      strings.put(NativeBridge.CONFIG_DEFAULT_PHONE_REGION, isoRegion);
      return this;
    }

    /** No SDK threads: the app calls {@link Experiture#pump()}. */
    public Builder manualMode(boolean manual) {
      longs.put(NativeBridge.CONFIG_MANUAL_MODE, manual ? 1L : 0L);
      return this;
    }

    public Builder initialConsent(Consent consent) {
      longs.put(NativeBridge.CONFIG_INITIAL_CONSENT, (long) consent.ordinal());
      return this;
    }

    public Builder profileObject(String object) {
      strings.put(NativeBridge.CONFIG_PROFILE_OBJECT, object);
      return this;
    }

    /** Fields usable as match keys for every object without its own list. */
    public Builder defaultIdentityKeys(String... keys) {
      strings.put(NativeBridge.CONFIG_DEFAULT_IDENTITY_KEYS, jsonList(Arrays.asList(keys)));
      return this;
    }

    public Builder identityKeys(String object, String... keys) {
      identityKeys.put(object, new ArrayList<>(Arrays.asList(keys)));
      return this;
    }

    /** Written to the anonymous profile's platform field; default "android". */
    public Builder platformName(String name) {
      strings.put(NativeBridge.CONFIG_PLATFORM_NAME, name);
      return this;
    }

    public Builder logoutClearsPushToken(boolean enabled) {
      longs.put(NativeBridge.CONFIG_LOGOUT_CLEARS_PUSH_TOKEN, enabled ? 1L : 0L);
      return this;
    }

    public Builder logoutNewDeviceId(boolean enabled) {
      longs.put(NativeBridge.CONFIG_LOGOUT_NEW_DEVICE_ID, enabled ? 1L : 0L);
      return this;
    }

    public Builder retryPolicy(long baseMs, double factor, long capMs) {
      retry = new long[] {baseMs, Double.doubleToLongBits(factor), capMs};
      return this;
    }

    public Builder httpTimeoutMs(long ms) {
      longs.put(NativeBridge.CONFIG_HTTP_TIMEOUT_MS, ms);
      return this;
    }

    public Builder clockSkewThresholdMs(long ms) {
      longs.put(NativeBridge.CONFIG_CLOCK_SKEW_THRESHOLD_MS, ms);
      return this;
    }

    public Builder maxDeadLetters(long count) {
      longs.put(NativeBridge.CONFIG_MAX_DEAD_LETTERS, count);
      return this;
    }

    /** 32 bytes from the Android Keystore: payloads at rest sealed with AES-256-GCM. */
    public Builder encryptionKey(byte[] key) {
      encryptionKey = key == null ? null : key.clone();
      return this;
    }

    /** Opens the client. Throws ExperitureException (INVALID_CONFIG names the field). */
    public Experiture build() {
      long config = NativeBridge.configNew();
      if (config == 0) throw new ExperitureException(Status.INTERNAL, "out of memory");
      HttpClient httpClient = http != null ? http : nativeHttp ? null : new UrlConnectionHttpClient();
      try {
        for (Map.Entry<Integer, String> e : strings.entrySet()) {
          check(NativeBridge.configSetString(config, e.getKey(), bytes(e.getValue())));
        }
        if (encryptionKey != null) {
          check(NativeBridge.configSetString(config, NativeBridge.CONFIG_ENCRYPTION_KEY,
              encryptionKey));
        }
        for (Map.Entry<Integer, Long> e : longs.entrySet()) {
          check(NativeBridge.configSetLong(config, e.getKey(), e.getValue()));
        }
        for (Map.Entry<String, List<String>> e : identityKeys.entrySet()) {
          check(NativeBridge.configSetIdentityKeys(config, bytes(e.getKey()),
              bytes(jsonList(e.getValue()))));
        }
        if (retry != null) {
          check(NativeBridge.configSetRetryPolicy(config, retry[0],
              Double.longBitsToDouble(retry[1]), retry[2]));
        }
        NativeCallbacks callbacks =
            new NativeCallbacks(httpClient, tokenProvider, listener, logger);
        // From here the config owns httpClient (closed when the last native user drops it).
        HttpClient owned = httpClient;
        httpClient = null;
        check(NativeBridge.configSetCallbacks(config, callbacks, owned != null,
            tokenProvider != null, listener != null, logger != null));
        long[] out = new long[1];
        check(NativeBridge.open(config, out));
        return new Experiture(out[0]);
      } finally {
        NativeBridge.configFree(config);
        if (httpClient != null) httpClient.close();
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
