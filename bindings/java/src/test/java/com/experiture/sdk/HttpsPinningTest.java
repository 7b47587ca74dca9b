package com.experiture.sdk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * UrlConnectionHttpClient over real TLS: a loopback HTTPS server whose self-signed certificate
 * (EC P-256, SAN IP:127.0.0.1) keytool makes for each test run. Pins use curl's format.
 */
public class HttpsPinningTest {
  private Path dir;
  private HttpsServer server;
  private final List<String> bodies = new CopyOnWriteArrayList<>();
  private SSLSocketFactory trusting;  // trusts the self-signed certificate only
  private String serverPin;

  private static Path keyDir;
  private static KeyStore keys;

  /** One certificate for the class: keytool takes seconds on a loaded machine. */
  @BeforeClass
  public static void makeCertificate() throws Exception {
    keyDir = Files.createTempDirectory("experiture-tls-key-");
    Path keystore = keyDir.resolve("server.p12");
    run(Paths.get(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-keyalg", "EC", "-groupname", "secp256r1", "-alias", "server",
        "-dname", "CN=127.0.0.1", "-ext", "SAN=IP:127.0.0.1", "-validity", "2",
        "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "changeit");
    keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(keystore.toFile())) {
      keys.load(in, "changeit".toCharArray());
    }
  }

  @AfterClass
  public static void removeCertificate() throws Exception {
    delete(keyDir);
  }

  private static void delete(Path path) throws Exception {
    try (Stream<Path> paths = Files.walk(path)) {
      paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    }
  }

  @Before
  public void setUp() throws Exception {
    dir = Files.createTempDirectory("experiture-tls-");
    Certificate certificate = keys.getCertificate("server");
    serverPin = PublicKeyPins.pinOf(certificate);

    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, "changeit".toCharArray());
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(kmf.getKeyManagers(), null, null);
    server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.setHttpsConfigurator(new HttpsConfigurator(serverContext));
    server.createContext("/", exchange -> {
      try (InputStream in = exchange.getRequestBody()) {
        bodies.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
      byte[] answer = "{\"success\":true,\"data\":{}}".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, answer.length);
      exchange.getResponseBody().write(answer);
      exchange.close();
    });
    server.start();

    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("server", certificate);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext clientContext = SSLContext.getInstance("TLS");
    clientContext.init(null, tmf.getTrustManagers(), null);
    trusting = clientContext.getSocketFactory();
  }

  @After
  public void tearDown() throws Exception {
    if (server != null) server.stop(0);
    delete(dir);
  }

  private static void run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals("keytool failed: " + output, 0, process.waitFor());
  }

  private String url() {
    return "https://127.0.0.1:" + server.getAddress().getPort() + "/public/v1";
  }

  private static HttpResponse exchange(HttpClient client, String url) throws Exception {
    BlockingQueue<HttpResponse> answers = new LinkedBlockingQueue<>();
    client.send(new HttpRequest("POST", url + "/records/profiles/upsert-batch",
                    Collections.<Map.Entry<String, String>>singletonList(
                        new AbstractMap.SimpleImmutableEntry<>("Authorization", "Bearer secret-token")),
                    "{}".getBytes(StandardCharsets.UTF_8), 10_000),
        answers::add);
    HttpResponse response = answers.poll(20, TimeUnit.SECONDS);
    if (response == null) fail("no completion");
    return response;
  }

  private static final String WRONG_PIN = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

  @Test
  public void aMatchingPinDeliversThroughTheSdk() throws Exception {
    try (Experiture sdk = Experiture.builder()
             .storagePath(dir.resolve("match.db").toString())
             .endpoint(url())
             .token("t")
             .httpClient(UrlConnectionHttpClient.builder()
                             .sslSocketFactory(trusting)
                             .pinnedPublicKeys(WRONG_PIN + ";" + serverPin)  // backup first
                             .build())
             .build()) {
      sdk.upsert("profiles", "{\"email\":\"pinned@example.com\"}", "email");
      assertEquals(Status.OK, sdk.flush(20_000));
    }
    // The device's anonymous profile and the write: both delivered through the pinned client.
    assertTrue(bodies.toString(), bodies.stream().anyMatch(b -> b.contains("pinned@example.com")));
  }

  @Test
  public void aWrongPinIsAPinningFailureThatHoldsDeliveryAndIsReported() throws Exception {
    List<DeliveryEvent> events = new CopyOnWriteArrayList<>();
    try (Experiture sdk = Experiture.builder()
             .storagePath(dir.resolve("wrong.db").toString())
             .endpoint(url())
             .token("t")
             .listener(events::add)
             .retryPolicy(60_000, 2.0, 60_000)
             .httpClient(UrlConnectionHttpClient.builder()
                             .sslSocketFactory(trusting)
                             .pinnedPublicKeys(WRONG_PIN)
                             .build())
             .build()) {
      sdk.upsert("profiles", "{\"email\":\"held@example.com\"}", "email");
      Status flushed = sdk.flush(1500);
      assertTrue(flushed.name(), flushed == Status.TIMEOUT || flushed == Status.PAUSED);
      String stats = sdk.stats();
      // The error names the kind and the host (the SDK adds them to network errors).
      assertTrue(stats, stats.contains("\"last_error\":\"network error NETWORK.PINNING to 127.0.0.1:"));
      // A pin failure pauses delivery (until resume() or another config), saying why.
      assertTrue(stats, stats.contains("\"pause_reason\":\"TLS pinning failure"));
      assertTrue(stats, stats.contains("\"delivered\":0"));
    }
    assertEquals("no request reached the server", Collections.emptyList(), bodies);
  }

  @Test
  public void theClientNamesThePinningFailureAndTheServersKeyButNeverTheToken() throws Exception {
    UrlConnectionHttpClient client = UrlConnectionHttpClient.builder()
        .sslSocketFactory(trusting).pinnedPublicKeys(WRONG_PIN).build();
    try {
      HttpResponse response = exchange(client, url());
      assertEquals(TransportError.PINNING, response.error());
      assertTrue(response.errorMessage(), response.errorMessage().contains(serverPin));
      assertTrue(!response.errorMessage().contains("secret-token"));
      assertEquals(Collections.emptyList(), bodies);

      UrlConnectionHttpClient plain = UrlConnectionHttpClient.builder()
          .pinnedPublicKeys(serverPin).build();
      try {
        HttpResponse cleartext = exchange(plain, "http://127.0.0.1:1/public/v1");
        assertEquals(TransportError.PINNING, cleartext.error());
      } finally {
        plain.close();
      }
    } finally {
      client.close();
    }
  }

  @Test
  public void withoutTrustTheSelfSignedServerIsATlsFailureEvenWithItsPin() throws Exception {
    UrlConnectionHttpClient client =
        UrlConnectionHttpClient.builder().pinnedPublicKeys(serverPin).build();
    try {
      HttpResponse response = exchange(client, url());
      assertEquals(TransportError.TLS, response.error());
      assertEquals(Collections.emptyList(), bodies);
    } finally {
      client.close();
    }
  }

  @Test
  public void systemProxySettingsAreIgnored() throws Exception {
    int deadPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      deadPort = socket.getLocalPort();
    }
    List<String> keys = new ArrayList<>();
    for (String scheme : new String[] {"http", "https"}) {
      keys.add(scheme + ".proxyHost");
      keys.add(scheme + ".proxyPort");
    }
    try {
      for (String scheme : new String[] {"http", "https"}) {
        System.setProperty(scheme + ".proxyHost", "127.0.0.1");
        System.setProperty(scheme + ".proxyPort", Integer.toString(deadPort));
      }
      UrlConnectionHttpClient client = UrlConnectionHttpClient.builder()
          .sslSocketFactory(trusting).pinnedPublicKeys(serverPin).build();
      try {
        HttpResponse response = exchange(client, url());
        assertEquals(response.errorMessage(), TransportError.NONE, response.error());
        assertEquals(200, response.status());
      } finally {
        client.close();
      }
    } finally {
      for (String key : keys) System.clearProperty(key);
    }
  }

  @Test
  public void malformedPinsAreRejectedWhenTheClientIsBuilt() {
    for (String bad : new String[] {"sha1//abc=", "sha256//tooShort=", serverPin + ";;" + serverPin,
             "sha256//" + "!".repeat(43) + "="}) {
      try {
        UrlConnectionHttpClient.builder().pinnedPublicKeys(bad);
        fail("accepted " + bad);
      } catch (IllegalArgumentException expected) {
        assertTrue(expected.getMessage().contains("pinnedPublicKeys"));
      }
    }
  }

  @Test
  public void thePinOfAKeyIsCurlsBase64OfTheSha256OfItsSubjectPublicKeyInfo() throws Exception {
    // Cross-check the hand-written Base64 against the JDK's on many lengths.
    java.util.Random random = new java.util.Random(7);
    for (int length = 0; length < 70; length++) {
      byte[] bytes = new byte[length];
      random.nextBytes(bytes);
      assertEquals(java.util.Base64.getEncoder().encodeToString(bytes),
          PublicKeyPins.base64(bytes));
    }
    assertTrue(serverPin.startsWith("sha256//") && serverPin.length() == 52);
  }
}
