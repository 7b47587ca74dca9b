package com.experiture.sdk;

/** Why a request produced no HTTP status (experiture_transport_error_t). */
public enum TransportError {
  NONE, CONNECT, TIMEOUT, TLS, PINNING, RESET, CANCELLED, OTHER
}
