package com.experiture.sdk;

/**
 * Turns phone numbers as users type them into E.164 ("+442079460958"): the app's own normaliser,
 * e.g. libphonenumber-java on Android. Without one the SDK uses libphonenumber when the native
 * library was built with it, else a strict rule: spaces, dashes, dots and brackets are removed and
 * only E.164 is accepted; a national number is rejected with {@link Status#INVALID_PHONE}.
 *
 * <p>Called on the thread that calls upsert/append/login (several at once when the app writes from
 * several threads): must be thread-safe and quick, and must not call the SDK. Return null when the
 * text is not a valid number (INVALID_PHONE); exceptions count as null. A number already in E.164
 * must come back unchanged (the SDK passes its own results through again). An answer that is not
 * E.164 ("+" then 8 to 15 digits, no leading 0) is rejected, never stored.
 */
@FunctionalInterface
public interface PhoneNormalizer {
  /**
   * @param raw the phone value as given
   * @param defaultRegion ISO 3166-1 alpha-2 region for numbers without a country code ("US")
   */
  String toE164(String raw, String defaultRegion);
}
