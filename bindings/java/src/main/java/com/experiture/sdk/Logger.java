package com.experiture.sdk;

/** SDK log lines (never tokens or record values), from SDK threads. Exceptions are ignored. */
@FunctionalInterface
public interface Logger {
  /** Level: 0 debug, 1 info, 2 warn, 3 error. */
  void log(int level, String message);
}
