package com.experiture.sdk;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.Test;

/**
 * Experiture.Builder against the option table compiled into the JNI glue
 * (experiture/config_options.inc): by reflection, the builder has a method for every option and
 * no option method the table lacks; every option the builder passes by name is known to the glue.
 */
public class ConfigOptionsTest {
  /** name -> {kind, java names}. */
  private static Map<String, String[]> table() {
    Map<String, String[]> options = new TreeMap<>();
    for (String line : NativeCallbacks.utf8(NativeBridge.configOptions()).split("\n")) {
      String[] fields = line.split(" ", 3);
      options.put(fields[0], new String[] {fields[1], fields.length > 2 ? fields[2] : ""});
    }
    return options;
  }

  @Test
  public void theBuilderHasExactlyTheOptionsOfTheNativeTable() {
    Map<String, String[]> table = table();
    assertTrue("the table holds the options", table.size() > 30);
    Set<String> tableMethods = new TreeSet<>();
    for (String[] row : table.values()) {
      for (String method : row[1].split(" ")) {
        if (!method.isEmpty()) tableMethods.add(method);
      }
    }
    Set<String> builderMethods = new TreeSet<>();
    for (Method method : Experiture.Builder.class.getDeclaredMethods()) {
      if (Modifier.isPublic(method.getModifiers()) && !method.getName().equals("build")) {
        builderMethods.add(method.getName());
      }
    }
    assertEquals("Experiture.Builder's public methods vs config_options.inc", tableMethods,
        builderMethods);
  }

  @Test
  public void everyOptionPassedByNameIsSetThroughTheGlue() {
    long config = NativeBridge.configNew();
    try {
      for (Map.Entry<String, String[]> e : table().entrySet()) {
        byte[] name = NativeCallbacks.bytes(e.getKey());
        String kind = e.getValue()[0];
        int status;
        switch (kind) {
          case "STRING":
          case "BYTES":
            status = NativeBridge.configSetString(config, name, NativeCallbacks.bytes(""));
            break;
          case "KEYS":
            status = NativeBridge.configSetString(config, name, NativeCallbacks.bytes("[]"));
            break;
          case "SIZE":
          case "MS":
          case "FLAG":
          case "CONSENT":
            status = NativeBridge.configSetLong(config, name, 1);
            break;
          default:
            continue;  // own natives: identity keys, retry policy, callback tables
        }
        assertEquals(e.getKey() + " (" + kind + ")", Status.OK.code(), status);
      }
      assertEquals("an unknown name is refused", Status.INVALID_ARGUMENT.code(),
          NativeBridge.configSetLong(config, NativeCallbacks.bytes("no_such_option"), 1));
      assertEquals("a string option is not set as a number", Status.INVALID_ARGUMENT.code(),
          NativeBridge.configSetLong(config, NativeCallbacks.bytes("endpoint"), 1));
    } finally {
      NativeBridge.configFree(config);
    }
  }

  @Test
  public void theLoudOptInIsNeededForCleartextToAFarHost() {
    Experiture.Builder builder = Experiture.builder()
        .storagePath(System.getProperty("java.io.tmpdir") + "/experiture-optin-"
            + System.nanoTime() + ".db")
        .endpoint("http://203.0.113.7/public/v1");
    try {
      builder.build().close();
      throw new AssertionError("cleartext to a far host was accepted without the opt-in");
    } catch (ExperitureException e) {
      assertEquals(Status.INVALID_CONFIG, e.status());
      assertTrue(e.getMessage(), e.getMessage().contains("endpoint"));
    }
    try (Experiture sdk = builder.allowInsecureHttpForTesting(true).build()) {
      assertFalse(sdk.deviceId().isEmpty());
    }
  }
}
