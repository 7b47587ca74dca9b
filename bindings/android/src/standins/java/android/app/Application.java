// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
package android.app;

import android.content.Context;
import android.os.Bundle;
import java.util.ArrayList;
import java.util.List;

/** Real: Application extends ContextWrapper extends Context. */
public class Application extends Context {
  /** API 14 (the methods ExperitureAndroid implements; API 29 added defaulted pre/post ones). */
  public interface ActivityLifecycleCallbacks {
    void onActivityCreated(Activity activity, Bundle savedInstanceState);

    void onActivityStarted(Activity activity);

    void onActivityResumed(Activity activity);

    void onActivityPaused(Activity activity);

    void onActivityStopped(Activity activity);

    void onActivitySaveInstanceState(Activity activity, Bundle outState);

    void onActivityDestroyed(Activity activity);
  }

  private final List<ActivityLifecycleCallbacks> callbacks = new ArrayList<>();
  private Object connectivity;

  public void registerActivityLifecycleCallbacks(ActivityLifecycleCallbacks callback) {
    synchronized (callbacks) {
      callbacks.add(callback);
    }
  }

  public void unregisterActivityLifecycleCallbacks(ActivityLifecycleCallbacks callback) {
    synchronized (callbacks) {
      callbacks.remove(callback);
    }
  }

  @Override
  public Object getSystemService(String name) {
    return CONNECTIVITY_SERVICE.equals(name) ? connectivity : null;
  }

  /** Test control, not Android API: what getSystemService(CONNECTIVITY_SERVICE) returns. */
  public void setConnectivityServiceForTest(Object service) {
    connectivity = service;
  }

  /** Test control, not Android API: the registered callbacks. */
  public List<ActivityLifecycleCallbacks> callbacksForTest() {
    synchronized (callbacks) {
      return new ArrayList<>(callbacks);
    }
  }
}
