package com.experiture.sdk.android;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import android.app.Activity;
import android.app.Application;
import android.net.ConnectivityManager;
import android.net.Network;
import android.net.NetworkCapabilities;
import androidx.work.ListenableWorker;
import com.experiture.sdk.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.After;
import org.junit.Test;

/**
 * ExperitureAndroid's mapping, on the JVM against test-only stand-ins of the Android classes it
 * uses (bindings/android/src/standins): callbacks are driven the way Android drives them.
 */
public class ExperitureAndroidTest {
  private final Application app = new Application();
  private final ConnectivityManager connectivity = new ConnectivityManager();
  private final RecordingHints hints = new RecordingHints();

  @After
  public void uninstall() {
    ExperitureAndroid installed = installedOrNull;
    if (installed != null) installed.uninstall();
  }

  private ExperitureAndroid installedOrNull;

  private ExperitureAndroid install() {
    app.setConnectivityServiceForTest(connectivity);
    installedOrNull = ExperitureAndroid.install(app, hints);
    return installedOrNull;
  }

  private Application.ActivityLifecycleCallbacks activities() {
    assertEquals(1, app.callbacksForTest().size());
    return app.callbacksForTest().get(0);
  }

  private ConnectivityManager.NetworkCallback network() {
    assertEquals(1, connectivity.callbacksForTest().size());
    return connectivity.callbacksForTest().get(0);
  }

  @Test
  public void theFirstStartedActivityIsForegroundAndTheLastStoppedOneIsBackground() {
    install();
    Application.ActivityLifecycleCallbacks callbacks = activities();
    Activity main = new Activity();
    Activity detail = new Activity();
    callbacks.onActivityCreated(main, null);
    callbacks.onActivityStarted(main);
    callbacks.onActivityResumed(main);
    callbacks.onActivityPaused(main);
    callbacks.onActivityStarted(detail);  // detail opens over main
    callbacks.onActivityStopped(main);
    callbacks.onActivityStarted(main);  // back from detail
    callbacks.onActivityStopped(detail);
    callbacks.onActivityDestroyed(detail);
    assertEquals(Arrays.asList("foreground"), hints.calls());
    callbacks.onActivityStopped(main);  // home button
    callbacks.onActivityStarted(main);  // back to the app
    assertEquals(Arrays.asList("foreground", "background", "foreground"), hints.calls());
  }

  @Test
  public void aRotationStopsAndRestartsTheActivityWithoutABackground() {
    install();
    Application.ActivityLifecycleCallbacks callbacks = activities();
    Activity before = new Activity();
    callbacks.onActivityStarted(before);
    before.setChangingConfigurationsForTest(true);
    callbacks.onActivityStopped(before);
    callbacks.onActivityDestroyed(before);
    Activity after = new Activity();
    callbacks.onActivityStarted(after);
    assertEquals(Arrays.asList("foreground"), hints.calls());
    callbacks.onActivityStopped(after);
    assertEquals(Arrays.asList("foreground", "background"), hints.calls());
  }

  @Test
  public void aStopWithoutItsStartIsIgnored() {
    install();
    activities().onActivityStopped(new Activity());  // installed while an activity was started
    assertEquals(Collections.emptyList(), hints.calls());
  }

  @Test
  public void onlineWhileAtLeastOneInternetNetworkIsAvailable() {
    install();
    assertEquals(Arrays.asList(NetworkCapabilities.NET_CAPABILITY_INTERNET),
        connectivity.requestsForTest().get(0).capabilitiesForTest());
    ConnectivityManager.NetworkCallback callback = network();
    Network wifi = new Network();
    Network cell = new Network();
    callback.onAvailable(wifi);
    callback.onAvailable(cell);
    callback.onAvailable(wifi);  // repeated
    callback.onLost(wifi);  // cell still up
    assertEquals(Arrays.asList("online"), hints.calls());
    callback.onLost(cell);
    callback.onLost(cell);  // repeated
    callback.onAvailable(cell);
    assertEquals(Arrays.asList("online", "offline", "online"), hints.calls());
  }

  @Test
  public void uninstallUnregistersBothCallbacksAndASecondInstallReplacesTheFirst() {
    ExperitureAndroid first = install();
    RecordingHints second = new RecordingHints();
    installedOrNull = ExperitureAndroid.install(app, second);
    assertEquals(1, app.callbacksForTest().size());
    assertEquals(1, connectivity.callbacksForTest().size());
    assertSame(second, ExperitureAndroid.currentHints());
    activities().onActivityStarted(new Activity());
    assertEquals(Collections.emptyList(), hints.calls());
    assertEquals(Arrays.asList("foreground"), second.calls());
    first.uninstall();  // already replaced: a no-op
    installedOrNull.uninstall();
    installedOrNull.uninstall();  // idempotent
    assertEquals(0, app.callbacksForTest().size());
    assertEquals(0, connectivity.callbacksForTest().size());
    assertNull(ExperitureAndroid.currentHints());
  }

  @Test
  public void withoutAConnectivityServiceOnlyTheLifecycleIsMapped() {
    installedOrNull = ExperitureAndroid.install(app, hints);  // no connectivity service
    activities().onActivityStarted(new Activity());
    assertEquals(Arrays.asList("foreground"), hints.calls());
    installedOrNull.uninstall();
  }

  @Test
  public void theFlushWorkerSucceedsWhenDeliveredAndRetriesOtherwise() {
    assertTrue(ExperitureFlushWorker.resultOf(null, 1) instanceof ListenableWorker.Result.Retry);
    hints.flushResult = Status.OK;
    assertTrue(ExperitureFlushWorker.resultOf(hints, 1) instanceof ListenableWorker.Result.Success);
    hints.flushResult = Status.CLOSED;
    assertTrue(ExperitureFlushWorker.resultOf(hints, 1) instanceof ListenableWorker.Result.Success);
    for (Status status : new Status[] {Status.TIMEOUT, Status.PAUSED, Status.STORAGE_ERROR}) {
      hints.flushResult = status;
      assertTrue(status.name(),
          ExperitureFlushWorker.resultOf(hints, 1) instanceof ListenableWorker.Result.Retry);
    }
  }

  @Test
  public void theFlushWorkerFlushesTheInstalledSdkWithItsTimeout() {
    install();
    hints.flushResult = Status.OK;
    ListenableWorker.Result result = new ExperitureFlushWorker(app, null).doWork();
    assertTrue(result instanceof ListenableWorker.Result.Success);
    assertEquals(Arrays.asList("flush " + ExperitureFlushWorker.FLUSH_TIMEOUT_MS), hints.calls());
  }

  static final class RecordingHints implements LifecycleHints {
    private final List<String> calls = new ArrayList<String>();
    volatile Status flushResult = Status.OK;

    synchronized List<String> calls() {
      return new ArrayList<String>(calls);
    }

    @Override
    public synchronized void onForeground() {
      calls.add("foreground");
    }

    @Override
    public synchronized void onBackground() {
      calls.add("background");
    }

    @Override
    public synchronized void setOnline(boolean online) {
      calls.add(online ? "online" : "offline");
    }

    @Override
    public Status flush(long timeoutMs) {
      synchronized (this) {
        calls.add("flush " + timeoutMs);
      }
      return flushResult;
    }
  }
}
