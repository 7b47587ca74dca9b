package com.experiture.sdk;

/**
 * The JNI entry points (registered by JNI_OnLoad in libexperiture_jni). Strings cross as UTF-8
 * byte arrays; a null array is an absent value. Statuses are experiture_status_t codes; after a
 * non-OK status, lastError() on the same thread returns the SDK's message.
 */
final class NativeBridge {
  static final int CONFIG_STORAGE_PATH = 0;
  static final int CONFIG_ENDPOINT = 1;
  static final int CONFIG_TOKEN = 2;
  static final int CONFIG_DEFAULT_PHONE_REGION = 3;
  static final int CONFIG_PROFILE_OBJECT = 4;
  static final int CONFIG_PLATFORM_NAME = 5;
  static final int CONFIG_ENCRYPTION_KEY = 6;
  static final int CONFIG_TLS_CA_BUNDLE_PATH = 7;
  static final int CONFIG_TLS_PINNED_PUBLIC_KEYS = 8;
  static final int CONFIG_TLS_PROXY = 9;
  static final int CONFIG_DEFAULT_IDENTITY_KEYS = 10;

  static final int CONFIG_BATCH_SIZE = 0;
  static final int CONFIG_FLUSH_INTERVAL_MS = 1;
  static final int CONFIG_MAX_OUTBOX_BYTES = 2;
  static final int CONFIG_MAX_RECORD_BYTES = 3;
  static final int CONFIG_INGRESS_CAPACITY = 4;
  static final int CONFIG_COMMIT_WINDOW_MS = 5;
  static final int CONFIG_MANUAL_MODE = 6;
  static final int CONFIG_INITIAL_CONSENT = 7;
  static final int CONFIG_LOGOUT_CLEARS_PUSH_TOKEN = 8;
  static final int CONFIG_LOGOUT_NEW_DEVICE_ID = 9;
  static final int CONFIG_HTTP_TIMEOUT_MS = 10;
  static final int CONFIG_CLOCK_SKEW_THRESHOLD_MS = 11;
  static final int CONFIG_MAX_DEAD_LETTERS = 12;

  static final int HINT_BACKGROUND = 0;
  static final int HINT_FOREGROUND = 1;
  static final int HINT_ONLINE = 2;
  static final int HINT_OFFLINE = 3;
  static final int HINT_PAUSE = 4;
  static final int HINT_RESUME = 5;

  static {
    String path = System.getProperty("experiture.jni.library");
    if (path != null && !path.isEmpty()) {
      System.load(path);
    } else {
      // libexperiture_jni needs libexperiture; Android before API 23 does not look for a
      // library's dependencies in the app's own library folder, so load it first (elsewhere it
      // may come from the system's library path instead: then this first load may fail).
      try {
        System.loadLibrary("experiture");
      } catch (UnsatisfiedLinkError notOnLibraryPath) {
        // libexperiture_jni's own load resolves it, or reports what is missing
      }
      System.loadLibrary("experiture_jni");
    }
  }

  private NativeBridge() {}

  static void load() {}

  static native long configNew();

  static native void configFree(long config);

  static native int configSetString(long config, int key, byte[] value);

  static native int configSetLong(long config, int key, long value);

  static native int configSetIdentityKeys(long config, byte[] object, byte[] keysJson);

  static native int configSetRetryPolicy(long config, long baseMs, double factor, long capMs);

  /** Installs the callbacks whose flag is set; each table holds its own global reference. */
  static native int configSetCallbacks(long config, NativeCallbacks callbacks, boolean http,
      boolean tokens, boolean listener, boolean logger);

  /** Opens a client; out[0] receives the handle. */
  static native int open(long config, long[] out);

  static native int close(long client, long timeoutMs);

  static native void free(long client);

  static native int upsert(long client, byte[] object, byte[] record, byte[] matchKey);

  static native int append(long client, byte[] object, byte[] record);

  static native int login(long client, byte[] email, byte[] customerId, byte[] phone);

  static native int logout(long client);

  static native int setPushToken(long client, byte[] token);

  static native int setConsent(long client, int consent);

  static native int persist(long client, long timeoutMs);

  static native int flush(long client, long timeoutMs);

  static native int pump(long client);

  static native int hint(long client, int hint);

  static native int retryDeadLetters(long client);

  static native int purgeDeadLetters(long client);

  /** Text results (UTF-8); status[0] receives the status, null unless OK. */
  static native byte[] stats(long client, int[] status);

  static native byte[] deadLetters(long client, long limit, int[] status);

  static native byte[] deviceId(long client, int[] status);

  static native byte[] lastError();

  /** Completes the request behind {@code handle}; exactly once per handle. */
  static native int httpComplete(long handle, int status, byte[][] headerNames,
      byte[][] headerValues, byte[] body, int error, byte[] errorMessage);
}
