// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
package android.net;

import java.util.ArrayList;
import java.util.List;

/** API 21. */
public class NetworkRequest {
  private final List<Integer> capabilities;

  NetworkRequest(List<Integer> capabilities) {
    this.capabilities = capabilities;
  }

  public static class Builder {
    private final List<Integer> capabilities = new ArrayList<>();

    public Builder() {}

    public Builder addCapability(int capability) {
      capabilities.add(capability);
      return this;
    }

    public NetworkRequest build() {
      return new NetworkRequest(new ArrayList<>(capabilities));
    }
  }

  /** Test control, not Android API. */
  public List<Integer> capabilitiesForTest() {
    return capabilities;
  }
}
