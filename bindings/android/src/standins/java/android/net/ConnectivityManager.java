// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
package android.net;

import java.util.ArrayList;
import java.util.List;

public class ConnectivityManager {
  /** API 21. */
  public static class NetworkCallback {
    public NetworkCallback() {}

    public void onAvailable(Network network) {}

    public void onLost(Network network) {}
  }

  private final List<NetworkCallback> callbacks = new ArrayList<>();
  private final List<NetworkRequest> requests = new ArrayList<>();

  /** API 21. */
  public void registerNetworkCallback(NetworkRequest request, NetworkCallback callback) {
    synchronized (callbacks) {
      requests.add(request);
      callbacks.add(callback);
    }
  }

  /** API 21. */
  public void unregisterNetworkCallback(NetworkCallback callback) {
    synchronized (callbacks) {
      int at = callbacks.indexOf(callback);
      if (at < 0) throw new IllegalArgumentException("NetworkCallback was not registered");
      callbacks.remove(at);
      requests.remove(at);
    }
  }

  /** Test control, not Android API. */
  public List<NetworkCallback> callbacksForTest() {
    synchronized (callbacks) {
      return new ArrayList<>(callbacks);
    }
  }

  /** Test control, not Android API. */
  public List<NetworkRequest> requestsForTest() {
    synchronized (callbacks) {
      return new ArrayList<>(requests);
    }
  }
}
