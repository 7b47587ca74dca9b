package com.experiture.sdk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** UrlConnectionHttpClient against a hostile network: an endless body, cleartext to a far host. */
public class HostileNetworkTest {
  private UrlConnectionHttpClient client;

  @Before
  public void setUp() {
    client = new UrlConnectionHttpClient();
  }

  @After
  public void tearDown() {
    client.close();
  }

  /** Answers one request with 200 and a chunked body of 64 KiB chunks, up to limitBytes. */
  static final class EndlessBodyServer implements AutoCloseable {
    final ServerSocket socket;
    final AtomicLong sent = new AtomicLong();
    final Thread thread;

    EndlessBodyServer(long limitBytes) throws IOException {
      socket = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
      thread = new Thread(() -> serve(limitBytes), "endless-body-server");
      thread.setDaemon(true);
      thread.start();
    }

    String url() {
      return "http://127.0.0.1:" + socket.getLocalPort() + "/";
    }

    private void serve(long limitBytes) {
      try (Socket connection = socket.accept()) {
        InputStream in = connection.getInputStream();
        byte[] head = new byte[65536];
        int length = 0;
        while (length < head.length) {
          int n = in.read(head, length, head.length - length);
          if (n < 0) break;
          length += n;
          if (new String(head, 0, length, StandardCharsets.ISO_8859_1).contains("\r\n\r\n")) break;
        }
        OutputStream out = connection.getOutputStream();
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        byte[] data = new byte[65536];
        Arrays.fill(data, (byte) 'x');
        byte[] prefix = "10000\r\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] suffix = "\r\n".getBytes(StandardCharsets.ISO_8859_1);
        while (sent.get() < limitBytes) {
          out.write(prefix);
          out.write(data);
          out.write(suffix);
          sent.addAndGet(data.length);
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
      } catch (IOException e) {
        // The client went away: what this server waits for.
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
      try {
        thread.join(20_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static HttpRequest get(String url) {
    return new HttpRequest("GET", url, new ArrayList<>(), new byte[0], 60_000);
  }

  @Test
  public void anEndlessBodyStopsAtTheCapWithOther() throws Exception {
    try (EndlessBodyServer server = new EndlessBodyServer(256L << 20)) {
      HttpClientContractTest.Collector collector = new HttpClientContractTest.Collector();
      client.send(get(server.url()), collector.callback(0));
      HttpResponse response = collector.waitOne();
      assertEquals(TransportError.OTHER, response.error());
      assertTrue(response.errorMessage(), response.errorMessage().contains("8 MiB"));
      assertTrue(response.body().length <= UrlConnectionHttpClient.MAX_RESPONSE_BODY_BYTES);
      assertTrue("the client stopped reading near the cap, the server sent " + server.sent.get(),
          server.sent.get() < (64L << 20));
    }
  }

  @Test
  public void aBodyExactlyAtTheCapIsStillAResponse() throws Exception {
    try (EndlessBodyServer server =
             new EndlessBodyServer(UrlConnectionHttpClient.MAX_RESPONSE_BODY_BYTES)) {
      HttpClientContractTest.Collector collector = new HttpClientContractTest.Collector();
      client.send(get(server.url()), collector.callback(0));
      HttpResponse response = collector.waitOne();
      assertEquals(TransportError.NONE, response.error());
      assertEquals(200, response.status());
      assertEquals(UrlConnectionHttpClient.MAX_RESPONSE_BODY_BYTES, response.body().length);
    }
  }

  @Test
  public void cleartextToAHostOtherThanLoopbackIsRefusedWithoutConnecting() throws Exception {
    // 203.0.113.7 is TEST-NET-3: nothing answers there, so only the rule can complete this fast.
    HttpClientContractTest.Collector collector = new HttpClientContractTest.Collector();
    client.send(get("http://203.0.113.7/public/v1/records/profiles/upsert-batch"),
        collector.callback(0));
    HttpResponse response = collector.waitOne();
    assertEquals(TransportError.OTHER, response.error());
    assertTrue(response.errorMessage(), response.errorMessage().contains("cleartext"));
  }

  @Test
  public void cleartextToLoopbackNamesIsAllowed() {
    assertTrue(UrlConnectionHttpClient.isLoopbackHost("127.0.0.1"));
    assertTrue(UrlConnectionHttpClient.isLoopbackHost("127.255.0.9"));
    assertTrue(UrlConnectionHttpClient.isLoopbackHost("localhost"));
    assertTrue(UrlConnectionHttpClient.isLoopbackHost("[::1]"));
    assertTrue(!UrlConnectionHttpClient.isLoopbackHost("127.0.0.1.example.com"));
    assertTrue(!UrlConnectionHttpClient.isLoopbackHost("api.experiture.ai"));
    assertTrue(!UrlConnectionHttpClient.isLoopbackHost("128.0.0.1"));
  }

  @Test
  public void anEndpointWithCleartextToAFarHostIsInvalidConfig() throws Exception {
    java.io.File dir = java.nio.file.Files.createTempDirectory("experiture-hostile").toFile();
    try {
      Experiture.builder()
          .storagePath(new java.io.File(dir, "outbox.db").getPath())
          .endpoint("http://api.experiture.ai/public/v1")
          .token("t")
          .build()
          .close();
      throw new AssertionError("build() accepted a cleartext endpoint to a far host");
    } catch (ExperitureException e) {
      assertEquals(Status.INVALID_CONFIG, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains("endpoint"));
    }
  }
}
