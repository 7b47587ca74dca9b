package com.experiture.sdk;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;

/**
 * A fresh experiture-emulator and temporary folder for each test; {@link #clientFor} points a
 * client's outbox into the folder and its endpoint at the emulator.
 */
abstract class EmulatorTestBase {
  protected Emulator emulator;
  protected Path dir;

  @Before
  public final void startEmulator() throws Exception {
    emulator = new Emulator();
    dir = Files.createTempDirectory("experiture-java-" + getClass().getSimpleName() + "-");
  }

  @After
  public final void stopEmulator() throws Exception {
    emulator.close();
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    }
  }

  /** A builder with the outbox {@code dir/name} and the emulator's endpoint. */
  protected Experiture.Builder clientFor(String name) {
    return Experiture.builder()
        .storagePath(dir.resolve(name).toString())
        .endpoint(emulator.baseUrl());
  }
}
