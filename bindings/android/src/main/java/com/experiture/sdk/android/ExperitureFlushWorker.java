package com.experiture.sdk.android;

import android.content.Context;
import androidx.work.Worker;
import androidx.work.WorkerParameters;
import com.experiture.sdk.Status;

/**
 * A WorkManager worker that delivers what the SDK installed with {@link ExperitureAndroid} has
 * queued, for apps that want delivery to go on after the process left the foreground:
 *
 * <pre>
 *   WorkManager.getInstance(context).enqueueUniqueWork("experiture-flush",
 *       ExistingWorkPolicy.KEEP,
 *       new OneTimeWorkRequest.Builder(ExperitureFlushWorker.class)
 *           .setConstraints(new Constraints.Builder()
 *               .setRequiredNetworkType(NetworkType.CONNECTED).build())
 *           .build());
 * </pre>
 *
 * Result: success when everything was delivered (or the SDK is closed: nothing left to do here);
 * retry (WorkManager's backoff) when the flush timed out, delivery is paused, or no SDK is
 * installed yet in this process. Needs {@code androidx.work:work-runtime} in the app.
 */
public final class ExperitureFlushWorker extends Worker {
  /** How long one run waits for delivery (WorkManager allows a worker 10 minutes). */
  public static final long FLUSH_TIMEOUT_MS = 60_000;

  public ExperitureFlushWorker(Context context, WorkerParameters parameters) {
    super(context, parameters);
  }

  @Override
  public Result doWork() {
    return resultOf(ExperitureAndroid.currentHints(), FLUSH_TIMEOUT_MS);
  }

  static Result resultOf(LifecycleHints hints, long timeoutMs) {
    if (hints == null) return Result.retry();
    Status status = hints.flush(timeoutMs);
    return status == Status.OK || status == Status.CLOSED ? Result.success() : Result.retry();
  }
}
