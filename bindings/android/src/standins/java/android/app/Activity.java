// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
package android.app;

public class Activity {
  private boolean changingConfigurations;

  /** API 11. */
  public boolean isChangingConfigurations() {
    return changingConfigurations;
  }

  /** Test control, not Android API. */
  public void setChangingConfigurationsForTest(boolean changing) {
    changingConfigurations = changing;
  }
}
