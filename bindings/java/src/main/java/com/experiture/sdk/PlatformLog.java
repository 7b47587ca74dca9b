package com.experiture.sdk;

import java.lang.reflect.Method;
import java.util.Locale;

/**
 * The default logger of the Java binding. On Android the SDK's lines go to logcat (tag
 * "Experiture", through android.util.Log found by reflection: the SDK has no compile-time
 * dependency on Android); on any other JVM the native library's own logger writes them to stderr.
 * Either way at the configured level: "off", "error", "warn", "info" or "debug"; none set reads
 * the EXPERITURE_LOG environment variable, else "warn". The lines never hold tokens or record
 * values (the native library never logs them).
 */
final class PlatformLog {
  static final String TAG = "Experiture";
  // android.util.Log priorities, by the SDK's levels (0 debug, 1 info, 2 warn, 3 error).
  private static final int[] PRIORITIES = {3, 4, 5, 6};

  private PlatformLog() {}

  /** The logcat logger for {@code configured} on Android; null elsewhere or when off. */
  static Logger defaultLogger(String configured) {
    Method println = logcat();
    if (println == null) return null;  // not Android: the native stderr logger
    int threshold = threshold(configured, System.getenv("EXPERITURE_LOG"));
    if (threshold < 0) return null;
    return new LogcatLogger(println, threshold);
  }

  /**
   * The lowest level logged (0 debug .. 3 error), or -1 for off. An unknown configured level is
   * refused by the native library at open (INVALID_CONFIG naming log_level); an unknown
   * environment value turns logging off, as in the native library.
   */
  static int threshold(String configured, String environment) {
    String level = configured;
    if (level == null || level.isEmpty()) {
      level = environment == null || environment.isEmpty() ? "warn" : environment;
    }
    switch (level.toLowerCase(Locale.ROOT)) {
      case "debug":
        return 0;
      case "info":
        return 1;
      case "warn":
        return 2;
      case "error":
        return 3;
      default:
        return -1;
    }
  }

  /** android.util.Log.println(int, String, String), or null when this is not Android. */
  static Method logcat() {
    try {
      return Class.forName("android.util.Log")
          .getMethod("println", int.class, String.class, String.class);
    } catch (ReflectiveOperationException | LinkageError e) {
      return null;
    }
  }

  static final class LogcatLogger implements Logger {
    private final Method println;
    private final int threshold;

    LogcatLogger(Method println, int threshold) {
      this.println = println;
      this.threshold = threshold;
    }

    @Override
    public void log(int level, String message) {
      if (level < threshold) return;
      int priority = PRIORITIES[Math.max(0, Math.min(level, PRIORITIES.length - 1))];
      try {
        println.invoke(null, priority, TAG, message);
      } catch (ReflectiveOperationException | RuntimeException e) {
        // a log sink never fails the SDK
      }
    }
  }
}
