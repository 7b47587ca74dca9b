// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
package android.content;

public abstract class Context {
  public static final String CONNECTIVITY_SERVICE = "connectivity";

  public abstract Object getSystemService(String name);
}
