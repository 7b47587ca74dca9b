// TEST-ONLY stand-in, written from the Android API reference (developer.android.com/reference):
// exactly the members ExperitureAndroid uses, so that it compiles and its mapping is tested on a
// desktop JVM. Never packaged: on a device the real class is used.
// (androidx.work, AndroidX reference.)
package androidx.work;

import android.content.Context;

public abstract class Worker extends ListenableWorker {
  public Worker(Context context, WorkerParameters workerParams) {
    super(context, workerParams);
  }

  /** Runs on WorkManager's background executor. */
  public abstract Result doWork();
}
