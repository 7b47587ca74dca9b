package com.experiture.sdk;

/**
 * The platform's HTTP stack, plugged into the SDK through the C HttpClient table. Contract (same as
 * the C++ platform::HttpClient): send() never blocks on the network and may be called from any
 * thread; each send() leads to exactly one completion, from any thread, also after cancelAll()
 * (with CANCELLED); after close() returns no completion runs any more; response header names are
 * lower-cased; bodies and header values travel as exact UTF-8 bytes.
 */
public interface HttpClient extends AutoCloseable {
  void send(HttpRequest request, HttpCompletion completion);

  /** Completes every request in flight with {@link TransportError#CANCELLED}. */
  void cancelAll();

  /** Cancels what is in flight and waits for running completions. */
  @Override
  void close();
}
