package com.experiture.sdk;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * UrlConnectionHttpClient keeps the HttpClient contract: the same checks as
 * tests/support/http_client_contract.cpp runs against the curl client.
 */
public class HttpClientContractTest {
  private LoopbackHttpServer server;
  private UrlConnectionHttpClient client;
  private Collector collector;

  /** Completions with their tags, in arrival order. */
  static final class Collector {
    private final List<Map.Entry<Integer, HttpResponse>> responses = new ArrayList<>();

    HttpCompletion callback(int tag) {
      return response -> {
        synchronized (this) {
          responses.add(new AbstractMap.SimpleImmutableEntry<>(tag, response));
          notifyAll();
        }
      };
    }

    synchronized boolean waitFor(int count) throws InterruptedException {
      long end = System.nanoTime() + 20_000_000_000L;
      while (responses.size() < count) {
        long left = (end - System.nanoTime()) / 1_000_000;
        if (left <= 0) return false;
        wait(left);
      }
      return true;
    }

    HttpResponse waitOne() throws InterruptedException {
      assertTrue("a completion arrives", waitFor(1));
      return responses().get(0).getValue();
    }

    synchronized List<Map.Entry<Integer, HttpResponse>> responses() {
      return new ArrayList<>(responses);
    }
  }

  private static Map.Entry<String, String> header(String name, String value) {
    return new AbstractMap.SimpleImmutableEntry<>(name, value);
  }

  private static HttpRequest post(String url, byte[] body, long timeoutMs) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    headers.add(header("Content-Type", "application/json"));
    return new HttpRequest("POST", url, headers, body, timeoutMs);
  }

  private static HttpRequest post(String url, String body) {
    return post(url, body.getBytes(StandardCharsets.UTF_8), 20_000);
  }

  private static String text(HttpResponse response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  @Before
  public void setUp() throws Exception {
    server = new LoopbackHttpServer();
    client = new UrlConnectionHttpClient();
    collector = new Collector();
  }

  @After
  public void tearDown() throws Exception {
    client.close();
    server.close();
  }

  @Test
  public void aPostArrivesByteExactAndStatusBodyAndLowerCasedHeadersComeBack() throws Exception {
    // Multi-byte and 4-byte UTF-8 (emoji), a NUL and CR/LF inside the body.
    byte[] body = "{\"name\":\"Zo\u00eb \uD83D\uDE00\",\"raw\":\"\u0000\r\n\"}"
        .getBytes(StandardCharsets.UTF_8);
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    headers.add(header("Content-Type", "application/json; charset=utf-8"));
    headers.add(header("Authorization", "Bearer t0ken"));
    headers.add(header("Idempotency-Key", "6f1c2b9e-0d1a-4c55-9f3e-2b7d8e1a4c00"));
    headers.add(header("X-Note", "caf\u00e9 \uD83D\uDE80"));
    client.send(new HttpRequest("POST", server.url("/echo"), headers, body, 20_000),
        collector.callback(0));
    HttpResponse response = collector.waitOne();
    assertEquals(TransportError.NONE, response.error());
    assertEquals(200, response.status());
    assertArrayEquals(body, response.body());
    assertEquals("Mixed Value", response.header("x-mixed-case"));
    assertEquals(String.valueOf(body.length), response.header("content-length"));
    for (Map.Entry<String, String> h : response.headers()) {
      assertEquals(h.getKey().toLowerCase(Locale.ROOT), h.getKey());
    }
    List<LoopbackHttpServer.Received> received = server.requests();
    assertEquals(1, received.size());
    assertEquals("POST", received.get(0).method);
    assertEquals("/echo", received.get(0).target);
    assertArrayEquals(body, received.get(0).body);
    for (Map.Entry<String, String> h : headers) {
      assertArrayEquals(h.getKey(), h.getValue().getBytes(StandardCharsets.UTF_8),
          received.get(0).header(h.getKey()));
    }
  }

  @Test
  public void anErrorStatusIsAResponseNotATransportError() throws Exception {
    client.send(post(server.url("/status/503"), "{}"), collector.callback(0));
    HttpResponse response = collector.waitOne();
    assertEquals(TransportError.NONE, response.error());
    assertEquals(503, response.status());
    assertEquals("status 503", text(response));
  }

  @Test
  public void manyConcurrentRequestsEachCompleteExactlyOnceWithTheirOwnResponse()
      throws Exception {
    final int requests = 40;
    for (int i = 0; i < requests; ++i) {
      client.send(post(server.url("/echo"), "request " + i), collector.callback(i));
    }
    assertTrue(collector.waitFor(requests));
    client.close();  // nothing more may arrive, also not during shutdown
    Map<Integer, Integer> completions = new HashMap<>();
    for (Map.Entry<Integer, HttpResponse> entry : collector.responses()) {
      completions.merge(entry.getKey(), 1, Integer::sum);
      assertEquals(200, entry.getValue().status());
      assertEquals("request " + entry.getKey(), text(entry.getValue()));
    }
    assertEquals(requests, completions.size());
    for (int count : completions.values()) assertEquals(1, count);
  }

  @Test
  public void connectionRefusedIsConnectAndTheErrorNeverShowsTheToken() throws Exception {
    // Bound and closed at once: nothing listens on the port afterwards.
    ServerSocket bound = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    int port = bound.getLocalPort();
    bound.close();
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    headers.add(header("Authorization", "Bearer secret-token-4711"));
    client.send(new HttpRequest("POST", "http://127.0.0.1:" + port + "/echo", headers,
        new byte[] {'{', '}'}, 20_000), collector.callback(0));
    HttpResponse response = collector.waitOne();
    assertEquals(TransportError.CONNECT, response.error());
    assertEquals(0, response.status());
    assertFalse(response.errorMessage().contains("secret-token-4711"));
  }

  @Test
  public void aServerSlowerThanTimeoutMsIsTimeout() throws Exception {
    client.send(post(server.url("/hang"), "{}".getBytes(StandardCharsets.UTF_8), 300),
        collector.callback(0));
    HttpResponse response = collector.waitOne();
    assertEquals(TransportError.TIMEOUT, response.error());
    assertEquals(0, response.status());
  }

  @Test
  public void aConnectionClosedWithoutAResponseIsReset() throws Exception {
    client.send(post(server.url("/close"), "{}"), collector.callback(0));
    HttpResponse response = collector.waitOne();
    assertEquals(TransportError.RESET, response.error());
    assertEquals(0, response.status());
  }

  @Test
  public void cancelAllCompletesInFlightRequestsWithCancelledAndLaterOnesStillWork()
      throws Exception {
    for (int i = 0; i < 3; ++i) client.send(post(server.url("/hang"), "{}"), collector.callback(i));
    assertTrue(server.waitForHeld(3));
    client.cancelAll();
    assertTrue(collector.waitFor(3));
    for (Map.Entry<Integer, HttpResponse> entry : collector.responses()) {
      assertEquals(TransportError.CANCELLED, entry.getValue().error());
    }
    client.send(post(server.url("/echo"), "after"), collector.callback(99));
    assertTrue(collector.waitFor(4));
    List<Map.Entry<Integer, HttpResponse>> all = collector.responses();
    Map.Entry<Integer, HttpResponse> last = all.get(all.size() - 1);
    assertEquals(99, (int) last.getKey());
    assertEquals(200, last.getValue().status());
    assertEquals("after", text(last.getValue()));
  }

  @Test
  public void closeCompletesInFlightRequestsWithCancelledBeforeItReturns() throws Exception {
    for (int i = 0; i < 3; ++i) client.send(post(server.url("/hang"), "{}"), collector.callback(i));
    assertTrue(server.waitForHeld(3));
    client.close();
    List<Map.Entry<Integer, HttpResponse>> responses = collector.responses();
    assertEquals(3, responses.size());
    for (Map.Entry<Integer, HttpResponse> entry : responses) {
      assertEquals(TransportError.CANCELLED, entry.getValue().error());
    }
  }

  @Test
  public void sequentialRequestsReuseOneKeptAliveConnection() throws Exception {
    for (int i = 0; i < 3; ++i) {
      client.send(post(server.url("/echo"), "keep " + i), collector.callback(i));
      assertTrue(collector.waitFor(i + 1));
    }
    for (Map.Entry<Integer, HttpResponse> entry : collector.responses()) {
      assertEquals(200, entry.getValue().status());
    }
    assertEquals(1, server.connections());
  }

  @Test
  public void aCompletionMaySendTheNextRequest() throws Exception {
    HttpCompletion second = collector.callback(2);
    HttpCompletion first = collector.callback(1);
    String secondUrl = server.url("/echo");
    client.send(post(server.url("/echo"), "first"), response -> {
      client.send(post(secondUrl, "second"), second);
      first.complete(response);
    });
    assertTrue(collector.waitFor(2));
    List<Map.Entry<Integer, HttpResponse>> responses = collector.responses();
    assertEquals(1, (int) responses.get(0).getKey());
    assertEquals("first", text(responses.get(0).getValue()));
    assertEquals(2, (int) responses.get(1).getKey());
    assertEquals("second", text(responses.get(1).getValue()));
    assertNotNull(responses.get(1).getValue().header("content-length"));
  }
}
