package com.experiture.sdk;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Public-key pins in curl's format: {@code "sha256//<base64 of SHA-256(SubjectPublicKeyInfo DER)>"},
 * several separated by ';'. As with curl, the server's own (leaf) certificate must match one pin.
 * Immutable; thread-safe. (Its own Base64: java.util.Base64 is missing on Android before API 26.)
 */
final class PublicKeyPins {
  private static final String PREFIX = "sha256//";

  private final List<String> pins;

  private PublicKeyPins(List<String> pins) {
    this.pins = pins;
  }

  /** Parses "sha256//...;sha256//..."; null or "" means no pinning. */
  static PublicKeyPins parse(String text) {
    List<String> pins = new ArrayList<>();
    if (text != null) {
      for (String raw : text.split(";", -1)) {
        String pin = raw.trim();
        if (pin.isEmpty() && text.trim().isEmpty()) continue;
        if (!pin.startsWith(PREFIX) || pin.length() != PREFIX.length() + 44
            || !pin.endsWith("=") || !isBase64(pin.substring(PREFIX.length()))) {
          throw new IllegalArgumentException("pinnedPublicKeys: each pin must be sha256// and 44"
              + " base64 characters (SHA-256 of the SubjectPublicKeyInfo), ';'-separated");
        }
        pins.add(pin);
      }
    }
    return new PublicKeyPins(Collections.unmodifiableList(pins));
  }

  boolean isEmpty() {
    return pins.isEmpty();
  }

  boolean matches(Certificate leaf) {
    return pins.contains(pinOf(leaf));
  }

  /** "sha256//..." of a certificate's public key. */
  static String pinOf(Certificate certificate) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
                          .digest(certificate.getPublicKey().getEncoded());
      return PREFIX + base64(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
  }

  private static final char[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".toCharArray();

  static String base64(byte[] bytes) {
    StringBuilder out = new StringBuilder((bytes.length + 2) / 3 * 4);
    for (int i = 0; i < bytes.length; i += 3) {
      int b0 = bytes[i] & 0xff;
      int b1 = i + 1 < bytes.length ? bytes[i + 1] & 0xff : 0;
      int b2 = i + 2 < bytes.length ? bytes[i + 2] & 0xff : 0;
      out.append(ALPHABET[b0 >> 2]);
      out.append(ALPHABET[((b0 & 0x3) << 4) | (b1 >> 4)]);
      out.append(i + 1 < bytes.length ? ALPHABET[((b1 & 0xf) << 2) | (b2 >> 6)] : '=');
      out.append(i + 2 < bytes.length ? ALPHABET[b2 & 0x3f] : '=');
    }
    return out.toString();
  }

  private static boolean isBase64(String text) {
    for (byte c : text.getBytes(StandardCharsets.US_ASCII)) {
      boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '+' || c == '/' || c == '=';
      if (!ok) return false;
    }
    return true;
  }
}
