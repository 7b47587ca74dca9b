package com.experiture.sdk.android;

import android.app.Activity;
import android.app.Application;
import android.content.Context;
import android.net.ConnectivityManager;
import android.net.Network;
import android.net.NetworkCapabilities;
import android.net.NetworkRequest;
import android.os.Bundle;
import com.experiture.sdk.Experiture;
import com.experiture.sdk.ExperitureException;
import com.experiture.sdk.Status;
import java.util.HashSet;
import java.util.Set;

/**
 * Maps the Android process lifecycle and connectivity onto the SDK's hints. Call once, from
 * {@code Application.onCreate()}, after opening the SDK:
 *
 * <pre>
 *   ExperitureAndroid.install(this, sdk);
 * </pre>
 *
 * <ul>
 *   <li>Foreground/background: {@link Application.ActivityLifecycleCallbacks} count started
 *       activities; the first start is {@code onForeground()}, the last stop is
 *       {@code onBackground()} (delivery starts at once). A stop for a configuration change
 *       (rotation) is not a background.
 *   <li>Connectivity: a {@link ConnectivityManager.NetworkCallback} for networks with
 *       {@code NET_CAPABILITY_INTERNET} (API 21); online while at least one is available. Needs
 *       ACCESS_NETWORK_STATE (in the library manifest).
 *   <li>Deferred flush: {@link ExperitureFlushWorker}, which the app enqueues with WorkManager,
 *       flushes the SDK installed here.
 * </ul>
 *
 * Thread-safe: callbacks may arrive on the main thread and on ConnectivityManager's thread.
 * Hints never block; a closed SDK is ignored.
 */
public final class ExperitureAndroid {
  private static volatile ExperitureAndroid current;

  private final Application application;
  private final LifecycleHints hints;
  private final ActivityCounter activities = new ActivityCounter();
  private final NetworkTracker networks = new NetworkTracker();
  private boolean networkCallbackRegistered;  // guarded by this

  ExperitureAndroid(Application application, LifecycleHints hints) {
    this.application = application;
    this.hints = hints;
  }

  /** Installs the mapping for {@code sdk}; replaces (uninstalls) an earlier installation. */
  public static ExperitureAndroid install(Application application, final Experiture sdk) {
    return install(application, adapt(sdk));
  }

  /** As {@link #install(Application, Experiture)} with any {@link LifecycleHints}. */
  public static synchronized ExperitureAndroid install(Application application,
      LifecycleHints hints) {
    ExperitureAndroid previous = current;
    if (previous != null) previous.uninstall();
    ExperitureAndroid installed = new ExperitureAndroid(application, hints);
    installed.register();
    current = installed;
    return installed;
  }

  /** The hints of the current installation, or null (read by {@link ExperitureFlushWorker}). */
  public static LifecycleHints currentHints() {
    ExperitureAndroid installed = current;
    return installed == null ? null : installed.hints;
  }

  /** Stops observing. Idempotent. */
  public void uninstall() {
    application.unregisterActivityLifecycleCallbacks(activities);
    synchronized (this) {
      if (networkCallbackRegistered) {
        ConnectivityManager manager = connectivityManager();
        if (manager != null) manager.unregisterNetworkCallback(networks);
        networkCallbackRegistered = false;
      }
    }
    synchronized (ExperitureAndroid.class) {
      if (current == this) current = null;
    }
  }

  private void register() {
    application.registerActivityLifecycleCallbacks(activities);
    ConnectivityManager manager = connectivityManager();
    if (manager == null) return;
    NetworkRequest request =
        new NetworkRequest.Builder().addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            .build();
    try {
      manager.registerNetworkCallback(request, networks);
      synchronized (this) {
        networkCallbackRegistered = true;
      }
    } catch (RuntimeException e) {
      // SecurityException without ACCESS_NETWORK_STATE (manifest merging turned off): the SDK
      // then learns about outages from failed requests (backoff) instead.
    }
  }

  private ConnectivityManager connectivityManager() {
    Object service = application.getSystemService(Context.CONNECTIVITY_SERVICE);
    return service instanceof ConnectivityManager ? (ConnectivityManager) service : null;
  }

  static LifecycleHints adapt(final Experiture sdk) {
    return new LifecycleHints() {
      @Override
      public void onForeground() {
        try {
          sdk.onForeground();
        } catch (ExperitureException closed) {
          // only CLOSED can fail; nothing to do then
        }
      }

      @Override
      public void onBackground() {
        try {
          sdk.onBackground();
        } catch (ExperitureException closed) {
          // only CLOSED can fail
        }
      }

      @Override
      public void setOnline(boolean online) {
        try {
          sdk.setOnline(online);
        } catch (ExperitureException closed) {
          // only CLOSED can fail
        }
      }

      @Override
      public Status flush(long timeoutMs) {
        try {
          return sdk.flush(timeoutMs);
        } catch (ExperitureException e) {
          return e.status();
        }
      }
    };
  }

  ActivityCounter activityCallbacks() {
    return activities;
  }

  NetworkTracker networkCallback() {
    return networks;
  }

  /** Started activities: 0 -> 1 is foreground, 1 -> 0 (not for a rotation) is background. */
  final class ActivityCounter implements Application.ActivityLifecycleCallbacks {
    private int started;  // guarded by this
    private boolean changingConfiguration;  // guarded by this

    @Override
    public void onActivityStarted(Activity activity) {
      boolean foreground;
      synchronized (this) {
        foreground = started++ == 0 && !changingConfiguration;
        changingConfiguration = false;
      }
      if (foreground) hints.onForeground();
    }

    @Override
    public void onActivityStopped(Activity activity) {
      boolean background;
      synchronized (this) {
        if (started == 0) return;  // a stop without its start (installed late)
        started--;
        changingConfiguration = activity.isChangingConfigurations();
        background = started == 0 && !changingConfiguration;
      }
      if (background) hints.onBackground();
    }

    @Override
    public void onActivityCreated(Activity activity, Bundle savedInstanceState) {}

    @Override
    public void onActivityResumed(Activity activity) {}

    @Override
    public void onActivityPaused(Activity activity) {}

    @Override
    public void onActivitySaveInstanceState(Activity activity, Bundle outState) {}

    @Override
    public void onActivityDestroyed(Activity activity) {}
  }

  /** Networks with internet: online while at least one is available. */
  final class NetworkTracker extends ConnectivityManager.NetworkCallback {
    private final Set<Network> available = new HashSet<Network>();  // guarded by this

    @Override
    public void onAvailable(Network network) {
      boolean online;
      synchronized (this) {
        online = available.add(network) && available.size() == 1;
      }
      if (online) hints.setOnline(true);
    }

    @Override
    public void onLost(Network network) {
      boolean offline;
      synchronized (this) {
        offline = available.remove(network) && available.isEmpty();
      }
      if (offline) hints.setOnline(false);
    }
  }
}
