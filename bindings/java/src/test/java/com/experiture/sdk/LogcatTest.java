package com.experiture.sdk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Before;
import org.junit.Test;

/**
 * The default logger on Android goes to logcat. Run with the android.util.Log stand-in
 * (src/test/standins) on the classpath, which records the lines; the SDK finds it by reflection
 * exactly as it finds the real one on a device.
 */
public class LogcatTest extends EmulatorTestBase {
  private static final String TOKEN = "tok-SECRET-4711";
  private static final String EMAIL = "secret.person@example.com";

  @Before
  public void setUp() throws Exception {
    clearLines();
  }

  /** What the stand-in recorded, as "priority tag message". */
  @SuppressWarnings("unchecked")
  private static List<String> lines() throws Exception {
    return (List<String>) Class.forName("android.util.Log").getMethod("lines").invoke(null);
  }

  private static void clearLines() throws Exception {
    Class.forName("android.util.Log").getMethod("clear").invoke(null);
  }

  private Experiture.Builder builder(String name) {
    return clientFor(name)
        .token(TOKEN)
        .flushIntervalMs(50);
  }

  @Test
  public void theDefaultLoggerOnAndroidWritesToLogcatWithoutValuesOrTokens() throws Exception {
    assertNotNull("the stand-in is on the classpath", PlatformLog.logcat());
    try (Experiture sdk = builder("debug.db").logLevel("debug").build()) {
      sdk.upsert("profiles", "{\"email\":\"" + EMAIL + "\"}", "email");
      assertEquals(Status.OK, sdk.flush(20000));
    }
    List<String> lines = lines();
    assertFalse("debug lines reach logcat", lines.isEmpty());
    for (String line : lines) {
      assertTrue(line, line.matches("[3-6] Experiture .*"));
      assertFalse(line, line.contains(TOKEN));
      assertFalse(line, line.contains(EMAIL));
    }
  }

  @Test
  public void logLevelOffWritesNothingAndWarnDropsDebugLines() throws Exception {
    try (Experiture sdk = builder("off.db").logLevel("off").build()) {
      sdk.upsert("profiles", "{\"email\":\"a@example.com\"}", "email");
      assertEquals(Status.OK, sdk.flush(20000));
    }
    assertEquals("off", 0, lines().size());
    try (Experiture sdk = builder("warn.db").logLevel("warn").build()) {
      sdk.upsert("profiles", "{\"email\":\"a@example.com\"}", "email");
      assertEquals(Status.OK, sdk.flush(20000));
    }
    for (String line : lines()) assertTrue(line, line.startsWith("5 ") || line.startsWith("6 "));
  }

  @Test
  public void theLevelComesFromTheConfigElseTheEnvironmentElseWarn() {
    assertEquals(0, PlatformLog.threshold("debug", "error"));
    assertEquals(3, PlatformLog.threshold(null, "error"));
    assertEquals(3, PlatformLog.threshold("", "error"));
    assertEquals(2, PlatformLog.threshold(null, null));
    assertEquals(-1, PlatformLog.threshold("off", "debug"));
    assertEquals(-1, PlatformLog.threshold(null, "loud"));
  }
}
