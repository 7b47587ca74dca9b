package com.experiture.sdk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/** The Java API through JNI, the C ABI and the Java HttpClient, against the real emulator. */
public class EndToEndTest extends EmulatorTestBase {

  private Experiture.Builder builder(String name) {
    return clientFor(name)
        .token("java-test-token")
        .flushIntervalMs(50);
  }

  private static void expect(Status status, Runnable call) {
    try {
      call.run();
      fail("expected " + status);
    } catch (ExperitureException e) {
      assertEquals(e.getMessage(), status, e.status());
      assertEquals(status.code(), e.statusCode());
      assertTrue(e.getMessage().startsWith(status.name()));
    }
  }

  @Test
  public void upsertAndLoginLinkTheDeviceInTheEmulatorProfile() throws Exception {
    AtomicInteger tokenCalls = new AtomicInteger();
    List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
    try (Experiture sdk = builder("e2e.db")
             .tokenProvider(refresh -> {
               tokenCalls.incrementAndGet();
               return "lambda-token";
             })
             .listener(events::add)
             .build()) {
      String deviceId = sdk.deviceId();
      assertEquals(36, deviceId.length());
      sdk.setPushToken("push-java");
      sdk.upsert("profiles", "{\"email\":\"Grace@Example.com\",\"tier\":\"gold\"}", "email");
      sdk.login(" GRACE@example.com ", "cust-java", null);
      sdk.append("events", "{\"event\":\"app_open\",\"customer_id\":\"cust-java\"}");
      assertEquals(Status.OK, sdk.flush(20_000));

      String profile = emulator.profile("customer_id", "cust-java");
      assertNotNull("profile linked by customer_id", profile);
      assertTrue(profile, profile.contains("\"email\":\"grace@example.com\""));
      assertTrue(profile, profile.contains("\"tier\":\"gold\""));
      assertTrue(profile, profile.contains(deviceId));
      assertTrue(profile, profile.contains("\"push_token\":\"push-java\""));
      assertTrue(profile, profile.contains("\"platform\":\"android\""));
      assertTrue(tokenCalls.get() > 0);
      assertTrue(events.toString(),
          events.stream().anyMatch(e -> e.type() == DeliveryEvent.Type.DELIVERED));
      String stats = sdk.stats();
      assertTrue(stats, stats.contains("\"queued_records\":0"));
      assertEquals("[]", sdk.deadLetters(10));
    }
  }

  @Test
  public void anEmojiAndAFourByteCharacterRoundTripIntoTheProfile() throws Exception {
    // U+1F600 (emoji) and U+1D11E (musical G clef): both 4 bytes in UTF-8, surrogate pairs in
    // Java, and exactly what modified UTF-8 (GetStringUTFChars) would corrupt.
    String name = "Zo\u00eb \uD83D\uDE00 \uD834\uDD1E";
    try (Experiture sdk = builder("utf8.db").build()) {
      sdk.upsert("profiles",
          "{\"email\":\"zoe@example.com\",\"first_name\":\"" + name + "\"}", "email");
      assertEquals(Status.OK, sdk.flush(20_000));
    }
    String profile = emulator.profile("email", "zoe@example.com");
    assertNotNull(profile);
    assertTrue(profile, profile.contains("\"first_name\":\"" + name + "\""));
  }

  @Test
  public void badInputThrowsAnExceptionCarryingTheStatus() throws Exception {
    try (Experiture sdk = builder("bad.db").build()) {
      expect(Status.INVALID_JSON, () -> sdk.upsert("profiles", "{\"email\":", "email"));
      expect(Status.RECORD_NOT_OBJECT, () -> sdk.upsert("profiles", "[1,2]", "email"));
      expect(Status.MATCH_KEY_MISSING, () -> sdk.upsert("profiles", "{\"tier\":\"x\"}", "email"));
      expect(Status.INVALID_EMAIL, () -> sdk.login("not an email", null, null));
      try {
        sdk.upsert("profiles", "{\"tier\":\"x\"}", "email");
      } catch (ExperitureException e) {
        assertTrue(e.detail(), e.detail().contains("email"));
      }
      sdk.upsert("profiles", "{\"email\":\"ok@example.com\"}", "email");  // still accepting
      assertEquals(Status.OK, sdk.flush(20_000));
      assertEquals(Status.OK, sdk.close(5000));
      expect(Status.CLOSED, () -> sdk.upsert("profiles", "{\"email\":\"a@b.co\"}", "email"));
      expect(Status.CLOSED, sdk::stats);
      assertEquals(Status.OK, sdk.close(100));  // idempotent
    }
    assertNotNull(emulator.profile("email", "ok@example.com"));
  }

  @Test
  public void aMissingStoragePathIsInvalidConfig() {
    expect(Status.INVALID_CONFIG, () -> Experiture.builder().endpoint(emulator.baseUrl()).build());
  }

  @Test
  public void offlinePausesDeliveryAndOnlineResumesIt() throws Exception {
    try (Experiture sdk = builder("offline.db").build()) {
      sdk.setOnline(false);
      sdk.upsert("profiles", "{\"email\":\"off@example.com\"}", "email");
      Status paused = sdk.flush(300);
      assertTrue(paused.toString(), paused == Status.PAUSED || paused == Status.TIMEOUT);
      assertEquals(null, emulator.profile("email", "off@example.com"));
      sdk.onBackground();
      sdk.onForeground();
      sdk.setOnline(true);
      assertEquals(Status.OK, sdk.flush(20_000));
    }
    assertNotNull(emulator.profile("email", "off@example.com"));
  }

  @Test
  public void aRecordTheServerRejectsIsADeadLetterThatCanBePurged() throws Exception {
    try (Experiture sdk = builder("dead.db").build()) {
      sdk.upsert("profiles", "{\"email\":\"dl@example.com\",\"no_such_field\":1}", "email");
      assertEquals(Status.OK, sdk.flush(20_000));
      String letters = sdk.deadLetters(10);
      assertTrue(letters, letters.contains("no_such_field"));
      sdk.purgeDeadLetters();
      assertEquals("[]", sdk.deadLetters(10));
    }
  }

  @Test
  public void manualModeDeliversOnlyWhenPumped() throws IOException {
    try (Experiture sdk = builder("manual.db").manualMode(true).build()) {
      sdk.upsert("profiles", "{\"email\":\"pump@example.com\"}", "email");
      for (int i = 0; i < 200 && emulator.profile("email", "pump@example.com") == null; ++i) {
        sdk.pump();
        sdk.flush(10);
      }
      assertNotNull(emulator.profile("email", "pump@example.com"));
    }
  }
}
