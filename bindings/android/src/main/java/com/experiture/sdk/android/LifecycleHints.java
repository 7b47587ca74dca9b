package com.experiture.sdk.android;

import com.experiture.sdk.Status;

/**
 * The SDK hints that the Android lifecycle drives. {@link ExperitureAndroid#install} adapts an
 * {@link com.experiture.sdk.Experiture}; tests pass their own. Every method but {@code flush}
 * returns at once; {@code flush} waits at most {@code timeoutMs}.
 */
public interface LifecycleHints {
  void onForeground();

  void onBackground();

  void setOnline(boolean online);

  Status flush(long timeoutMs);
}
