package com.experiture.sdk;

/**
 * Why a request produced no HTTP status (experiture_transport_error_t). The ordinal is the C
 * value passed through JNI: constants are only ever appended.
 */
public enum TransportError {
  NONE, CONNECT, TIMEOUT, TLS, PINNING, RESET, CANCELLED, OTHER,
  /** The host name did not resolve (java.net.UnknownHostException). */
  DNS
}
