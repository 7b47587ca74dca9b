package com.experiture.sdk;

/** The user's data-capture consent (experiture_consent_t). */
public enum Consent {
  UNKNOWN, GRANTED, DENIED
}
