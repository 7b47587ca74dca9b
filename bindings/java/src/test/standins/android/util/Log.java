package android.util;

import java.util.ArrayList;
import java.util.List;

/**
 * A stand-in for Android's android.util.Log on the desktop JVM, on the classpath of the logcat
 * test only (LogcatTest): it records what the SDK's default logger writes. Android's Log is
 * static, so this one is too.
 */
public final class Log {
  public static final int DEBUG = 3;
  public static final int INFO = 4;
  public static final int WARN = 5;
  public static final int ERROR = 6;

  private static final List<String> LINES = new ArrayList<>();

  private Log() {}

  public static int println(int priority, String tag, String msg) {
    synchronized (LINES) {
      LINES.add(priority + " " + tag + " " + msg);
    }
    return msg.length();
  }

  /** The lines written so far, as "priority tag message". */
  public static List<String> lines() {
    synchronized (LINES) {
      return new ArrayList<>(LINES);
    }
  }

  public static void clear() {
    synchronized (LINES) {
      LINES.clear();
    }
  }
}
