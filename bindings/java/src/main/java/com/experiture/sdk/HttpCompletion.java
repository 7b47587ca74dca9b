package com.experiture.sdk;

/** Receives the one answer to a request; may be called from any thread. */
@FunctionalInterface
public interface HttpCompletion {
  void complete(HttpResponse response);
}
