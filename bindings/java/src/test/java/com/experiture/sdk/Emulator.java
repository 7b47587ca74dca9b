package com.experiture.sdk;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** experiture-emulator (path in -Dexperiture.emulator) as a child process on a loopback port. */
final class Emulator implements AutoCloseable {
  private final Process process;
  private final int port;

  Emulator() throws IOException {
    String path = System.getProperty("experiture.emulator");
    if (path == null) throw new IllegalStateException("-Dexperiture.emulator is not set");
    process = new ProcessBuilder(path, "--port", "0")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null) throw new IOException("the emulator printed no port");
    port = Integer.parseInt(line.trim());
  }

  /** "http://127.0.0.1:P/public/v1" */
  String baseUrl() {
    return "http://127.0.0.1:" + port + "/public/v1";
  }

  /** The profile JSON carrying key=value (UTF-8 decoded), or null when there is none. */
  String profile(String key, String value) throws IOException {
    URL url = new URL("http://127.0.0.1:" + port + "/_emulator/profile?key="
        + URLEncoder.encode(key, StandardCharsets.UTF_8) + "&value="
        + URLEncoder.encode(value, StandardCharsets.UTF_8));
    HttpURLConnection conn = (HttpURLConnection) url.openConnection();
    try {
      int status = conn.getResponseCode();
      if (status == 404) return null;
      InputStream in = status >= 400 ? conn.getErrorStream() : conn.getInputStream();
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      in.transferTo(body);
      in.close();
      if (status != 200) throw new IOException("profile lookup: HTTP " + status);
      return body.toString(StandardCharsets.UTF_8);
    } finally {
      conn.disconnect();
    }
  }

  @Override
  public void close() {
    process.destroy();  // SIGTERM
    try {
      // Its clean stop waits out idle keep-alive connections (the JDK caches them for 5 s);
      // it holds no state worth a clean stop, so do not wait for that.
      if (!process.waitFor(500, TimeUnit.MILLISECONDS)) process.destroyForcibly().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
