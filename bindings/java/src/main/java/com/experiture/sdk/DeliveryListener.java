package com.experiture.sdk;

/** Runs on an SDK thread, never under an SDK lock; must return quickly. Exceptions are ignored. */
@FunctionalInterface
public interface DeliveryListener {
  void onEvent(DeliveryEvent event);
}
