package com.experiture.sdk;

/**
 * Supplies bearer tokens, usually from the app's own backend. Called on an SDK thread (it may block
 * briefly). {@code refresh} is true after the server refused the previous token. Return null or ""
 * when no token is available now: delivery pauses and asks again later. Exceptions count as "".
 */
@FunctionalInterface
public interface TokenProvider {
  String token(boolean refresh);
}
