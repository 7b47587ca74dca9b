// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
// (androidx.work, AndroidX reference.)
package androidx.work;

import android.content.Context;

public abstract class ListenableWorker {
  public ListenableWorker(Context appContext, WorkerParameters workerParams) {}

  public abstract static class Result {
    Result() {}

    public static Result success() {
      return new Success();
    }

    public static Result retry() {
      return new Retry();
    }

    public static Result failure() {
      return new Failure();
    }

    /** Real: ListenableWorker.Result.Success, a public static final nested class. */
    public static final class Success extends Result {}

    public static final class Retry extends Result {}

    public static final class Failure extends Result {}
  }
}
