package com.experiture.sdk;

/** What the JNI glue calls for the phone normaliser hook; catches everything. */
final class NativePhoneNormalizer {
  private final PhoneNormalizer normalizer;

  NativePhoneNormalizer(PhoneNormalizer normalizer) {
    this.normalizer = normalizer;
  }

  byte[] normalize(byte[] raw, byte[] region) {
    try {
      return NativeCallbacks.bytes(
          normalizer.toE164(NativeCallbacks.utf8(raw), NativeCallbacks.utf8(region)));
    } catch (Throwable t) {
      return null;
    }
  }
}
