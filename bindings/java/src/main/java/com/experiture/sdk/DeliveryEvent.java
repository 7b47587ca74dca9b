package com.experiture.sdk;

/** Delivery progress reported to a {@link DeliveryListener}. */
public final class DeliveryEvent {
  /** What happened (experiture_delivery_event_type_t). */
  public enum Type { DELIVERED, DEAD_LETTERED, PAUSED, RESUMED, DROPPED }

  private final Type type;
  private final long count;
  private final String reason;

  public DeliveryEvent(Type type, long count, String reason) {
    this.type = type;
    this.count = count;
    this.reason = reason;
  }

  public Type type() {
    return type;
  }

  /** Records concerned (delivered, dead-lettered, dropped). */
  public long count() {
    return count;
  }

  /** Why (paused, dead-lettered, dropped); "" otherwise. */
  public String reason() {
    return reason;
  }

  @Override
  public String toString() {
    return type + "(" + count + (reason.isEmpty() ? "" : ", " + reason) + ")";
  }
}
