package com.experiture.samples.android;

import com.experiture.sdk.ExperitureException;
import com.experiture.sdk.Experiture;

/**
 * The screens of the sample app, written as an Android Activity would call the SDK (on Android the
 * methods are the click handlers; the SDK calls never block the UI thread). Each returns what the
 * UI would show.
 */
public final class SampleActivity {
  private final Experiture sdk;

  public SampleActivity(Experiture sdk) {
    this.sdk = sdk;
  }

  /** FirebaseMessagingService.onNewToken: works offline; delivered later. */
  public void onNewPushToken(String token) {
    sdk.setPushToken(token);
  }

  /** The sign-up form: bad input comes back as a message naming the field, never a crash. */
  public String onCheckIn(String email, String phone, String firstName) {
    try {
      sdk.upsert("profiles", "{\"email\":" + quote(email) + ",\"phone\":" + quote(phone)
          + ",\"first_name\":" + quote(firstName) + "}", "email");
      return "checked in";
    } catch (ExperitureException e) {
      return "please correct: " + e.detail() + " (" + e.status() + ")";
    }
  }

  /** A screen view: an event row. */
  public void onScreenView(String screen) {
    sdk.append("events", "{\"event\":\"screen_view\",\"properties\":{\"screen\":" + quote(screen)
        + "}}");
  }

  /** The login screen: links this device to the customer. */
  public void onLogin(String email, String customerId) {
    sdk.login(email, customerId, null);
  }

  /** JSON string literal. */
  static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
