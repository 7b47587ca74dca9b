package com.experiture.samples.android;

import com.experiture.sdk.Experiture;

/**
 * Maps Android lifecycle and connectivity callbacks onto the SDK's hints. In an app, register it
 * from Application.onCreate():
 *
 * <pre>
 * registerActivityLifecycleCallbacks(...)        // onActivityStarted/Stopped -> onStarted/onStopped
 * connectivityManager.registerDefaultNetworkCallback(...)  // onAvailable/onLost -> onNetwork
 * </pre>
 *
 * It counts started activities, like ProcessLifecycleOwner: the app is in the background when the
 * last one stops (delivery flushes now), in the foreground when the first one starts.
 */
public final class ExperitureLifecycle {
  private final Experiture sdk;
  private int started;

  public ExperitureLifecycle(Experiture sdk) {
    this.sdk = sdk;
  }

  /** Activity.onStart (ActivityLifecycleCallbacks.onActivityStarted). */
  public synchronized void onStarted() {
    if (started++ == 0) sdk.onForeground();
  }

  /** Activity.onStop (ActivityLifecycleCallbacks.onActivityStopped). */
  public synchronized void onStopped() {
    if (started > 0 && --started == 0) sdk.onBackground();
  }

  /** ConnectivityManager.NetworkCallback onAvailable (true) / onLost (false). */
  public void onNetwork(boolean available) {
    sdk.setOnline(available);
  }
}
