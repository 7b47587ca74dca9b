package com.experiture.samples.android;

import com.experiture.sdk.Experiture;
import com.experiture.sdk.Status;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

/**
 * The Android sample's flow on the desktop JVM:
 *
 * <pre>
 * java -Dexperiture.jni.library=.../libexperiture_jni.so -cp experiture-android-sample.jar:experiture.jar \
 *     com.experiture.samples.android.DesktopMain --start-emulator     (needs -Dexperiture.emulator=PATH)
 *     com.experiture.samples.android.DesktopMain --endpoint URL --token T [--storage FILE]
 * </pre>
 *
 * An anonymous visitor gets a push token while the network is down, checks in with email and
 * phone, logs in with a customer id; the network comes back, the app goes to the background
 * (delivery flushes), and the unified profile is read back from the emulator. Exit code 0 when the
 * profile holds everything, 1 otherwise, 2 on usage errors.
 */
public final class DesktopMain {
  private DesktopMain() {}

  public static void main(String[] args) throws Exception {
    String endpoint = null;
    String token = "sample-token";
    String storage = null;
    boolean startEmulator = false;
    for (int i = 0; i < args.length; ++i) {
      switch (args[i]) {
        case "--start-emulator": startEmulator = true; break;
        case "--endpoint": endpoint = args[++i]; break;
        case "--token": token = args[++i]; break;
        case "--storage": storage = args[++i]; break;
        default:
          System.err.println("usage: DesktopMain (--start-emulator | --endpoint URL) [--token T]"
              + " [--storage FILE]");
          System.exit(2);
      }
    }
    Process emulator = null;
    String root = null;
    if (startEmulator) {
      String path = System.getProperty("experiture.emulator");
      if (path == null) {
        System.err.println("--start-emulator needs -Dexperiture.emulator=PATH");
        System.exit(2);
      }
      emulator = new ProcessBuilder(path, "--port", "0")
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String port = new BufferedReader(new InputStreamReader(emulator.getInputStream(),
          StandardCharsets.UTF_8)).readLine();
      root = "http://127.0.0.1:" + port.trim();
      endpoint = root + "/public/v1";
    }
    if (endpoint == null) {
      System.err.println("give --start-emulator or --endpoint URL");
      System.exit(2);
    }
    File dir = Files.createTempDirectory("experiture-android-sample").toFile();
    if (storage == null) storage = new File(dir, "experiture.db").getPath();
    int exit;
    try {
      exit = run(endpoint, token, storage, root);
    } finally {
      if (emulator != null) {
        emulator.destroy();
        if (!emulator.waitFor(500, TimeUnit.MILLISECONDS)) emulator.destroyForcibly().waitFor();
      }
      new File(dir, "experiture.db").delete();
      new File(dir, "experiture.db-wal").delete();
      new File(dir, "experiture.db-shm").delete();
      dir.delete();
    }
    System.exit(exit);
  }

  private static int run(String endpoint, String token, String storage, String emulatorRoot)
      throws IOException {
    final String customerId = "android-sample-42";
    // Application.onCreate
    try (Experiture sdk = Experiture.builder()
             .storagePath(storage)
             .endpoint(endpoint)
             .tokenProvider(refresh -> token)  // an app asks its own backend here
             .listener(event -> System.out.println("  [sdk] " + event))
             .build()) {
      ExperitureLifecycle lifecycle = new ExperitureLifecycle(sdk);
      SampleActivity activity = new SampleActivity(sdk);

      lifecycle.onStarted();        // MainActivity.onStart
      lifecycle.onNetwork(false);   // the device is offline
      System.out.println("anonymous visitor, device_id " + sdk.deviceId());
      activity.onNewPushToken("fcm-token-sample");
      activity.onScreenView("welcome");
      System.out.println("check-in with a bad email: "
          + activity.onCheckIn("ada(at)example", "(650) 253-0000", "Ada"));
      System.out.println("check-in: "
          + activity.onCheckIn("Ada@Example.com", "(650) 253-0000", "Ada \uD83D\uDE80"));
      activity.onLogin("ada@example.com", customerId);
      System.out.println("offline, queued: " + sdk.stats());

      lifecycle.onNetwork(true);    // NetworkCallback.onAvailable
      lifecycle.onStopped();        // MainActivity.onStop: the app is in the background
      Status flushed = sdk.flush(20_000);
      System.out.println("flush: " + flushed);
      System.out.println("stats: " + sdk.stats());
      if (flushed != Status.OK) return 1;
    }
    if (emulatorRoot == null) return 0;
    String profile = get(emulatorRoot + "/_emulator/profile?key=customer_id&value=" + customerId);
    System.out.println("unified profile: " + profile);
    boolean ok = profile.contains("\"email\":\"ada@example.com\"")
        && profile.contains("\"phone\":\"+16502530000\"")
        && profile.contains("\"push_token\":\"fcm-token-sample\"")
        && profile.contains("\"first_name\":\"Ada \uD83D\uDE80\"")
        && profile.contains("\"platform\":\"android\"");
    System.out.println(ok ? "OK: one profile with email, phone, customer_id, device and push token"
                          : "FAILED: the profile is incomplete");
    return ok ? 0 : 1;
  }

  private static String get(String url) throws IOException {
    HttpURLConnection conn = (HttpURLConnection) new URL(url).openConnection();
    try {
      InputStream in = conn.getResponseCode() >= 400 ? conn.getErrorStream() : conn.getInputStream();
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      if (in != null) {
        in.transferTo(body);
        in.close();
      }
      return body.toString(StandardCharsets.UTF_8);
    } finally {
      conn.disconnect();
    }
  }
}
