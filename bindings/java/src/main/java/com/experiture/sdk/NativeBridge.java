package com.experiture.sdk;

/**
 * The JNI entry points (registered by JNI_OnLoad in libexperiture_jni). Strings cross as UTF-8
 * byte arrays; a null array is an absent value. Statuses are experiture_status_t codes; after a
 * non-OK status, lastError() on the same thread returns the SDK's message.
 */
final class NativeBridge {
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

  /**
   * Sets an option of experiture/config_options.inc by its name (UTF-8, e.g. "storage_path"):
   * STRING, BYTES and KEYS options through configSetString, SIZE, MS, FLAG and CONSENT through
   * configSetLong. An unknown name, or one of the other kind, is INVALID_ARGUMENT.
   */
  static native int configSetString(long config, byte[] option, byte[] value);

  static native int configSetLong(long config, byte[] option, long value);

  /** The option table compiled into the glue, one "name KIND javaNames" line per option. */
  static native byte[] configOptions();

  /** Installs the phone normaliser hook (its table holds a global reference). */
  static native int configSetPhoneNormalizer(long config, NativePhoneNormalizer normalizer);

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
