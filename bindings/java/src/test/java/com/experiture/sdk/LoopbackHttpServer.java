package com.experiture.sdk;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The Java twin of the C++ contract server (tests/support/http_client_contract.cpp): HTTP/1.1 on
 * 127.0.0.1 with keep-alive, a thread per connection, raw sockets so connections can be counted.
 * Routes: /echo (200 + request body + "X-Mixed-Case: Mixed Value"), /status/N, /hang (never
 * answers), /close (closes without answering).
 */
final class LoopbackHttpServer implements AutoCloseable {
  /** One request as received; header values as raw bytes. */
  static final class Received {
    String method;
    String target;
    final List<String> headerNames = new ArrayList<>();
    final List<byte[]> headerValues = new ArrayList<>();
    byte[] body;

    byte[] header(String name) {
      for (int i = 0; i < headerNames.size(); ++i) {
        if (headerNames.get(i).equalsIgnoreCase(name)) return headerValues.get(i);
      }
      return null;
    }
  }

  private final ServerSocket listener;
  private final Thread acceptor;
  private final List<Socket> connections = new ArrayList<>();  // guarded by this
  private final List<Thread> threads = new ArrayList<>();      // guarded by this
  private final List<Received> requests = new ArrayList<>();   // guarded by this
  private int held;                                            // guarded by this
  private boolean stopping;                                    // guarded by this

  LoopbackHttpServer() throws IOException {
    listener = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::acceptLoop, "loopback-acceptor");
    acceptor.start();
  }

  String url(String path) {
    return "http://127.0.0.1:" + listener.getLocalPort() + path;
  }

  synchronized int connections() {
    return connections.size();
  }

  synchronized List<Received> requests() {
    return new ArrayList<>(requests);
  }

  synchronized boolean waitForHeld(int count) throws InterruptedException {
    long end = System.nanoTime() + 20_000_000_000L;
    while (held < count) {
      long left = (end - System.nanoTime()) / 1_000_000;
      if (left <= 0) return false;
      wait(left);
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    synchronized (this) {
      stopping = true;
      notifyAll();
      for (Socket s : connections) s.close();
    }
    listener.close();
    List<Thread> all = new ArrayList<>();
    all.add(acceptor);
    joinAll(all);
    synchronized (this) {
      all = new ArrayList<>(threads);
    }
    joinAll(all);
  }

  private void acceptLoop() {
    for (;;) {
      Socket socket;
      try {
        socket = listener.accept();
      } catch (IOException e) {
        return;
      }
      synchronized (this) {
        if (stopping) {
          closeQuietly(socket);
          return;
        }
        connections.add(socket);
        Thread t = new Thread(() -> serve(socket), "loopback-connection");
        threads.add(t);
        t.start();
      }
    }
  }

  private void serve(Socket socket) {
    try {
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      for (;;) {
        Received request = read(in);
        if (request == null) return;
        synchronized (this) {
          requests.add(request);
        }
        String target = request.target;
        if (target.equals("/echo")) {
          respond(out, 200, request.body);
        } else if (target.startsWith("/status/")) {
          String n = target.substring(8);
          respond(out, Integer.parseInt(n), ("status " + n).getBytes(StandardCharsets.UTF_8));
        } else if (target.equals("/hang")) {
          synchronized (this) {
            ++held;
            notifyAll();
            while (!stopping) wait();
          }
          return;
        } else if (target.equals("/close")) {
          socket.shutdownOutput();
          socket.shutdownInput();
          return;
        } else {
          respond(out, 404, "no such route".getBytes(StandardCharsets.UTF_8));
        }
      }
    } catch (IOException | InterruptedException e) {
      // the connection ends
    }
  }

  /** One request (Content-Length bodies only), or null at end of stream. */
  private static Received read(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) return null;
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    byte[] bytes = head.toByteArray();
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    String[] lines = text.substring(0, text.length() - 4).split("\r\n");
    Received r = new Received();
    String[] requestLine = lines[0].split(" ");
    r.method = requestLine[0];
    r.target = requestLine[1];
    int contentLength = 0;
    for (int i = 1; i < lines.length; ++i) {
      int colon = lines[i].indexOf(':');
      if (colon < 0) continue;
      String name = lines[i].substring(0, colon);
      String value = lines[i].substring(colon + 1).trim();
      if (name.toLowerCase(Locale.ROOT).equals("content-length")) {
        contentLength = Integer.parseInt(value);
      }
      r.headerNames.add(name);
      r.headerValues.add(value.getBytes(StandardCharsets.ISO_8859_1));
    }
    r.body = in.readNBytes(contentLength);
    if (r.body.length < contentLength) return null;
    return r;
  }

  private static void respond(OutputStream out, int status, byte[] body) throws IOException {
    String head = "HTTP/1.1 " + status + " Status\r\nContent-Length: " + body.length
        + "\r\nContent-Type: application/octet-stream\r\nX-Mixed-Case: Mixed Value\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
  }

  private static void joinAll(List<Thread> threads) {
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // nothing to do
    }
  }
}
