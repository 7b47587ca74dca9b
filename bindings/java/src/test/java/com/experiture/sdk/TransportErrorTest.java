package com.experiture.sdk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLHandshakeException;
import org.junit.Test;

/**
 * How the Java HttpClient names a failed exchange (UrlConnectionHttpClient.transportErrorOf), a
 * real name-resolution failure, and that DNS crosses JNI as NETWORK.DNS. The host name has a
 * 64-byte label, longer than DNS allows: the system resolver refuses it without sending a query,
 * so nothing leaves the machine.
 */
public class TransportErrorTest extends EmulatorTestBase {
  private static final String UNRESOLVABLE = new String(new char[64]).replace('\0', 'a')
      + ".invalid";

  @Test
  public void eachExceptionMapsToItsKind() {
    assertEquals(TransportError.DNS,
        UrlConnectionHttpClient.transportErrorOf(new UnknownHostException("x.invalid"), false));
    assertEquals(TransportError.TIMEOUT,
        UrlConnectionHttpClient.transportErrorOf(new SocketTimeoutException(), true));
    assertEquals(TransportError.TLS,
        UrlConnectionHttpClient.transportErrorOf(new SSLHandshakeException("bad"), false));
    assertEquals(TransportError.CONNECT,
        UrlConnectionHttpClient.transportErrorOf(new ConnectException(), false));
    assertEquals(TransportError.CONNECT,
        UrlConnectionHttpClient.transportErrorOf(new NoRouteToHostException(), false));
    assertEquals(TransportError.CONNECT,
        UrlConnectionHttpClient.transportErrorOf(new IOException(), false));
    assertEquals(TransportError.RESET,
        UrlConnectionHttpClient.transportErrorOf(new EOFException(), true));
    assertEquals(TransportError.OTHER,
        UrlConnectionHttpClient.transportErrorOf(new IllegalStateException(), true));
  }

  @Test
  public void dnsKeepsTheNumberOfTheCApi() {
    // experiture_transport_error_t: EXPERITURE_TRANSPORT_DNS = 8 (the native side reads ordinals).
    assertEquals(8, TransportError.DNS.ordinal());
  }

  @Test
  public void aHostNameThatDoesNotResolveIsDnsAndTheMessageNamesTheHost() throws Exception {
    HttpClientContractTest.Collector collector = new HttpClientContractTest.Collector();
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    headers.add(new java.util.AbstractMap.SimpleImmutableEntry<>("Authorization",
        "Bearer secret-token-4711"));
    try (UrlConnectionHttpClient client = new UrlConnectionHttpClient()) {
      client.send(new HttpRequest("GET", "https://" + UNRESOLVABLE + "/public/v1/profiles",
          headers, new byte[0], 20_000), collector.callback(0));
      HttpResponse response = collector.waitOne();
      assertEquals(response.errorMessage(), TransportError.DNS, response.error());
      assertEquals(0, response.status());
      assertTrue(response.errorMessage(), response.errorMessage().contains(UNRESOLVABLE));
      assertFalse(response.errorMessage().contains("secret-token-4711"));
    }
  }

  @Test
  public void aDnsFailureReachesTheClientsLastErrorAsNetworkDns() throws Exception {
    try (Experiture sdk = clientFor("dns.db").endpoint("https://" + UNRESOLVABLE + "/public/v1")
             .token("java-test-token").build()) {
      sdk.upsert("profiles", "{\"email\":\"dns@example.com\"}", "email");
      assertNotEquals(Status.OK, sdk.flush(1000));
      String stats = sdk.stats();
      assertTrue(stats, stats.contains("NETWORK.DNS"));
      assertTrue(stats, stats.contains(" to " + UNRESOLVABLE + " ("));
      assertFalse(stats, stats.contains("java-test-token"));
    }
  }
}
