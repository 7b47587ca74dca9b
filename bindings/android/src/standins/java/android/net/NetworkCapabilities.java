// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
package android.net;

public final class NetworkCapabilities {
  public static final int NET_CAPABILITY_INTERNET = 12;
}
