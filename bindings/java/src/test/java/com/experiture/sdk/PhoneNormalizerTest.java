package com.experiture.sdk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/** The phone normaliser hook through JNI and the C ABI, against the real emulator. */
public class PhoneNormalizerTest extends EmulatorTestBase {

  private Experiture.Builder builder(String name) {
    return clientFor(name)
        .token("java-test-token")
        .defaultPhoneRegion("GB")
        .flushIntervalMs(50);
  }

  private static void expectInvalidPhone(Runnable call) {
    try {
      call.run();
      fail("expected INVALID_PHONE");
    } catch (ExperitureException e) {
      assertEquals(e.getMessage(), Status.INVALID_PHONE, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains("phone"));
    }
  }

  @Test
  public void theAppNormaliserTurnsANationalNumberIntoTheDeliveredE164() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    String[] region = new String[1];
    PhoneNormalizer gb = (raw, defaultRegion) -> {
      calls.incrementAndGet();
      region[0] = defaultRegion;
      if (raw.equals("020 7946 0958") || raw.equals("+442079460958")) return "+442079460958";
      if (raw.equals("broken")) return "442079460958";  // not E.164: refused
      if (raw.equals("throws")) throw new IllegalStateException("bad metadata");
      return null;
    };
    try (Experiture sdk = builder("hook.db").phoneNormalizer(gb).build()) {
      sdk.upsert("profiles", "{\"phone\":\"020 7946 0958\",\"tier\":\"java-hook\"}", "phone");
      assertEquals("GB", region[0]);
      expectInvalidPhone(() -> sdk.upsert("profiles", "{\"phone\":\"broken\"}", "phone"));
      expectInvalidPhone(() -> sdk.upsert("profiles", "{\"phone\":\"throws\"}", "phone"));
      expectInvalidPhone(() -> sdk.upsert("profiles", "{\"phone\":\"07700 900123\"}", "phone"));
      expectInvalidPhone(() -> sdk.login(null, null, "07700 900123"));
      assertEquals(Status.OK, sdk.flush(20000));
    }
    assertTrue(calls.get() >= 5);
    String profile = emulator.profile("phone", "+442079460958");
    assertNotNull("profile keyed by the normalised phone", profile);
    assertTrue(profile, profile.contains("java-hook"));
  }

  @Test
  public void withoutAHookE164WithSeparatorsIsAcceptedAndGarbageRefused() throws Exception {
    try (Experiture sdk = builder("default.db").build()) {
      sdk.upsert("profiles", "{\"phone\":\"+44 (20) 7946-0958\",\"tier\":\"java-default\"}",
          "phone");
      expectInvalidPhone(() -> sdk.upsert("profiles", "{\"phone\":\"not a number\"}", "phone"));
      assertEquals(Status.OK, sdk.flush(20000));
    }
    String profile = emulator.profile("phone", "+442079460958");
    assertNotNull(profile);
    assertTrue(profile, profile.contains("java-default"));
  }
}
