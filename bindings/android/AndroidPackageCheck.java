import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The Android package checks (run by ctest with the JDK's single-file launcher; a build tool,
 * not part of the SDK):
 *
 * <pre>
 *   java AndroidPackageCheck.java keep-rules JNI_NAMES.inc PROGUARD.txt [GLUE.cpp ...]
 *   java AndroidPackageCheck.java class-versions CLASSES.jar|LIBRARY.aar
 *   java AndroidPackageCheck.java android21-apis CLASSES.jar|LIBRARY.aar
 *   java AndroidPackageCheck.java aar-layout LIBRARY.aar PROGUARD.txt
 * </pre>
 *
 * Each prints one line per violation and "FAIL: ..." then exits 1, or prints "OK: ..." and exits 0.
 */
public final class AndroidPackageCheck {
  /** Class file major version of Java 8: what D8 reads for every minSdk. */
  static final int MAX_MAJOR = 52;

  /**
   * JDK APIs that Android API 21 (Lollipop) does not have, as patterns over `javap -c -p` lines.
   * The class/method is named with '/' separators as javap prints them.
   */
  static final String[][] NOT_ON_ANDROID_21 = {
    {"java/lang/ThreadLocal\\.withInitial", "ThreadLocal.withInitial (API 26)"},
    {"java/util/concurrent/ConcurrentHashMap\\.newKeySet", "ConcurrentHashMap.newKeySet (API 24)"},
    {"java/util/(List|Set|Map)\\.(of|ofEntries|copyOf|entry)\\b", "List/Set/Map.of (API 30)"},
    {"java/util/Optional", "java.util.Optional (API 24)"},
    {"java/util/stream/", "java.util.stream (API 24)"},
    {"java/util/function/", "java.util.function (API 24)"},
    {"java/util/concurrent/CompletableFuture", "CompletableFuture (API 24)"},
    {"java/util/concurrent/CompletionStage", "CompletionStage (API 24)"},
    {"java/time/", "java.time (API 26)"},
    {"java/net/http/", "java.net.http (not on Android)"},
    {"java/util/Base64", "java.util.Base64 (API 26)"},
    {"java/lang/String\\.(isBlank|strip|stripLeading|stripTrailing|repeat|lines|join)\\b",
        "String.isBlank/strip/repeat/lines (API 33+), String.join (API 26)"},
    {"java/util/Objects\\.(requireNonNullElse|requireNonNullElseGet|checkIndex)\\b",
        "Objects.requireNonNullElse (not on API 21)"},
    {"java/lang/Iterable\\.forEach", "Iterable.forEach (API 24)"},
    {"java/util/[A-Za-z]*\\.(removeIf|spliterator)\\b", "Collection.removeIf (API 24)"},
    {"java/util/(Map|HashMap|LinkedHashMap|TreeMap|Hashtable|WeakHashMap|IdentityHashMap)"
        + "\\.(getOrDefault|putIfAbsent|computeIfAbsent|computeIfPresent|compute|merge|forEach"
        + "|replaceAll)\\b", "Map default methods (API 24)"},
    {"java/util/concurrent/Concurrent(Hash)?Map\\.(getOrDefault|computeIfAbsent|computeIfPresent"
        + "|compute|merge|forEach|replaceAll)\\b", "ConcurrentMap Java 8 methods (API 24)"},
    {"java/util/List\\.sort\\b", "List.sort (API 24)"},
    {"java/util/Comparator\\.(comparing|thenComparing|reversed|naturalOrder|reverseOrder"
        + "|nullsFirst|nullsLast)", "Comparator Java 8 methods (API 24)"},
    {"java/nio/file/", "java.nio.file (API 26)"},
    {"java/lang/invoke/", "java.lang.invoke (API 26)"},
    {"java/lang/ref/Cleaner", "java.lang.ref.Cleaner (API 33)"},
    {"java/lang/ref/Reference\\.reachabilityFence", "Reference.reachabilityFence (API 28)"},
  };

  public static void main(String[] args) throws Exception {
    int failures;
    if (args.length >= 3 && args[0].equals("keep-rules")) {
      failures = keepRules(Paths.get(args[1]), Paths.get(args[2]));
      for (int i = 3; i < args.length; i++) failures += glueUsesTable(Paths.get(args[i]));
    } else if (args.length == 2 && args[0].equals("class-versions")) {
      failures = classVersions(classesJar(Paths.get(args[1])));
    } else if (args.length == 2 && args[0].equals("android21-apis")) {
      failures = android21Apis(classesJar(Paths.get(args[1])));
    } else if (args.length == 3 && args[0].equals("aar-layout")) {
      failures = aarLayout(Paths.get(args[1]), Paths.get(args[2]));
    } else {
      System.err.println("usage: keep-rules NAMES PROGUARD | class-versions JAR | android21-apis JAR");
      System.exit(2);
      return;
    }
    System.exit(failures == 0 ? 0 : 1);
  }

  // ---- keep rules ----

  static final Pattern CLASS_ENTRY =
      Pattern.compile("^EXPERITURE_JNI_CLASS\\(\\s*(\\w+)\\s*,\\s*\"([^\"]+)\"\\s*\\)");
  static final Pattern MEMBER_ENTRY = Pattern.compile(
      "^EXPERITURE_JNI_(METHOD|NATIVE|FIELD)\\(\\s*(\\w+)\\s*,\\s*(?:\\w+\\s*,\\s*)?"
          + "\"([^\"]+)\"\\s*,\\s*\"([^\"]+)\"");

  static int keepRules(Path names, Path proguard) throws IOException {
    Map<String, String> classes = new LinkedHashMap<>();
    List<String[]> members = new ArrayList<>();  // {kind, class id, name, signature}
    int entries = 0;
    for (String raw : Files.readAllLines(names, StandardCharsets.UTF_8)) {
      String line = raw.trim();
      if (!line.startsWith("EXPERITURE_JNI_")) continue;
      entries++;
      Matcher c = CLASS_ENTRY.matcher(line);
      Matcher m = MEMBER_ENTRY.matcher(line);
      if (c.find()) {
        classes.put(c.group(1), c.group(2));
      } else if (m.find()) {
        members.add(new String[] {m.group(1), m.group(2), m.group(3), m.group(4)});
      } else {
        System.out.println("unreadable entry in " + names + ": " + line);
        return fail("the name table has an entry this check cannot read");
      }
    }
    Map<String, Set<String>> rules = parseRules(proguard);
    int failures = 0;
    for (Map.Entry<String, String> c : classes.entrySet()) {
      if (c.getValue().startsWith("[")) continue;  // arrays are not classes to keep
      String java = c.getValue().replace('/', '.');
      if (!rules.containsKey(java)) {
        System.out.println("no -keep rule for class " + java + " (FindClass \"" + c.getValue()
            + "\")");
        failures++;
      }
    }
    for (String[] m : members) {
      String binary = classes.get(m[1]);
      if (binary == null) {
        System.out.println("entry names an unknown class id: " + m[1]);
        failures++;
        continue;
      }
      String java = binary.replace('/', '.');
      String member = m[0].equals("FIELD") ? javaType(m[3], new int[] {0}) + " " + m[2]
                                           : javaMethod(m[2], m[3]);
      Set<String> kept = rules.get(java);
      if (kept == null || !kept.contains(member)) {
        System.out.println("no keep rule for " + java + " { " + member + "; } ("
            + m[0].toLowerCase() + " \"" + m[2] + "\" \"" + m[3] + "\")");
        failures++;
      }
    }
    if (failures > 0) return fail(failures + " JNI name(s) without a keep rule in " + proguard);
    System.out.println("OK: " + entries + " JNI names, each covered by " + proguard);
    return 0;
  }

  /** The glue may look names up only through the table: no string literal in a lookup call. */
  static int glueUsesTable(Path glue) throws IOException {
    String text = new String(Files.readAllBytes(glue), StandardCharsets.UTF_8);
    Matcher call = Pattern.compile(
        "\\b(FindClass|Get(?:Static)?(?:Method|Field)ID|RegisterNatives)\\s*\\(([^;]*)").matcher(text);
    int failures = 0;
    while (call.find()) {
      if (call.group(2).contains("\"")) {
        System.out.println(glue + ": " + call.group(1) + " with a literal name outside the name"
            + " table: " + call.group(0).replaceAll("\\s+", " "));
        failures++;
      }
    }
    if (failures > 0) return fail(failures + " JNI lookup(s) in " + glue + " bypass the name table");
    System.out.println("OK: every JNI lookup in " + glue + " takes its name from the table");
    return 0;
  }

  static final Set<String> MODIFIERS = new LinkedHashSet<>(java.util.Arrays.asList(
      "public", "private", "protected", "static", "final", "native", "synchronized",
      "volatile", "transient", "abstract"));

  /** -keep* class NAME { members } blocks: class -> normalised members ("ret name(args)"). */
  static Map<String, Set<String>> parseRules(Path proguard) throws IOException {
    String text = new String(Files.readAllBytes(proguard), StandardCharsets.UTF_8)
                      .replaceAll("(?m)#.*$", "");
    Map<String, Set<String>> rules = new LinkedHashMap<>();
    Matcher block = Pattern.compile(
        "-keep(?:classmembers|classeswithmembers|names)?\\s+class\\s+([\\w.$]+)\\s*(\\{([^}]*)\\})?")
                        .matcher(text);
    while (block.find()) {
      Set<String> members = rules.computeIfAbsent(block.group(1), k -> new LinkedHashSet<>());
      if (block.group(3) == null) continue;
      for (String raw : block.group(3).split(";")) {
        StringBuilder kept = new StringBuilder();
        for (String word : raw.trim().replaceAll("\\s*,\\s*", ",").replaceAll("\\s*\\(", "(")
                               .split("\\s+")) {
          if (word.isEmpty() || MODIFIERS.contains(word)) continue;
          if (kept.length() > 0) kept.append(' ');
          kept.append(word);
        }
        if (kept.length() > 0) members.add(kept.toString().replace(",", ", "));
      }
    }
    return rules;
  }

  /** "name", "(J[B)I" -> "int name(long, byte[])" */
  static String javaMethod(String name, String signature) {
    int[] at = {1};
    List<String> params = new ArrayList<>();
    while (signature.charAt(at[0]) != ')') params.add(javaType(signature, at));
    at[0]++;
    String ret = javaType(signature, at);
    return ret + " " + name + "(" + String.join(", ", params) + ")";
  }

  static String javaType(String sig, int[] at) {
    char c = sig.charAt(at[0]++);
    switch (c) {
      case 'B': return "byte";
      case 'C': return "char";
      case 'D': return "double";
      case 'F': return "float";
      case 'I': return "int";
      case 'J': return "long";
      case 'S': return "short";
      case 'Z': return "boolean";
      case 'V': return "void";
      case '[': return javaType(sig, at) + "[]";
      case 'L': {
        int end = sig.indexOf(';', at[0]);
        String name = sig.substring(at[0], end).replace('/', '.');
        at[0] = end + 1;
        return name;
      }
      default: throw new IllegalArgumentException("bad JNI signature " + sig);
    }
  }

  /** An AAR's classes.jar (extracted to a temporary file), or the jar itself. */
  static Path classesJar(Path path) throws IOException {
    if (!path.toString().endsWith(".aar")) return path;
    Path jar = Files.createTempFile("experiture-classes", ".jar");
    jar.toFile().deleteOnExit();
    try (ZipFile zip = new ZipFile(path.toFile())) {
      ZipEntry entry = zip.getEntry("classes.jar");
      if (entry == null) throw new IOException(path + " has no classes.jar");
      try (InputStream in = zip.getInputStream(entry)) {
        Files.copy(in, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return jar;
  }

  // ---- class file versions ----

  static int classVersions(Path jar) throws IOException {
    int failures = 0;
    int count = 0;
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements();) {
        ZipEntry entry = e.nextElement();
        if (!entry.getName().endsWith(".class")) continue;
        count++;
        try (DataInputStream in = new DataInputStream(zip.getInputStream(entry))) {
          int magic = in.readInt();
          in.readUnsignedShort();  // minor
          int major = in.readUnsignedShort();
          if (magic != 0xCAFEBABE || major > MAX_MAJOR) {
            System.out.println(entry.getName() + ": class file version " + major + " > "
                + MAX_MAJOR + " (Java 8)");
            failures++;
          }
        }
      }
    }
    if (count == 0) return fail(jar + " holds no class files");
    if (failures > 0) return fail(failures + " class file(s) newer than Java 8 in " + jar);
    System.out.println("OK: " + count + " class files in " + jar + ", all version <= " + MAX_MAJOR);
    return 0;
  }

  // ---- APIs missing on Android 21 ----

  static int android21Apis(Path jar) throws IOException, InterruptedException {
    List<String> classes = new ArrayList<>();
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements();) {
        String name = e.nextElement().getName();
        if (name.endsWith(".class") && !name.endsWith("module-info.class")) {
          classes.add(name.substring(0, name.length() - ".class".length()).replace('/', '.'));
        }
      }
    }
    if (classes.isEmpty()) return fail(jar + " holds no class files");
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "javap").toString());
    command.add("-c");
    command.add("-p");
    command.add("-classpath");
    command.add(jar.toString());
    command.addAll(classes);
    Process javap = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<Pattern> patterns = new ArrayList<>();
    for (String[] rule : NOT_ON_ANDROID_21) patterns.add(Pattern.compile(rule[0]));
    int failures = 0;
    String currentClass = "?";
    try (BufferedReader out = new BufferedReader(
             new InputStreamReader(javap.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null;) {
        Matcher cls = Pattern.compile("^(?:[a-z ]+ )?(?:class|interface|enum) ([\\w.$]+)")
                          .matcher(line);
        if (cls.find() && !line.startsWith(" ")) currentClass = cls.group(1);
        int comment = line.indexOf("//");
        if (comment < 0) continue;  // only constant-pool references (calls, fields, classes)
        String reference = line.substring(comment);
        for (int i = 0; i < patterns.size(); i++) {
          if (patterns.get(i).matcher(reference).find()) {
            System.out.println(currentClass + ": " + NOT_ON_ANDROID_21[i][1] + ": "
                + line.trim());
            failures++;
          }
        }
      }
    }
    int exit = javap.waitFor();
    if (exit != 0) return fail("javap exited with " + exit);
    if (failures > 0) return fail(failures + " use(s) of JDK APIs that Android API 21 lacks");
    System.out.println("OK: " + classes.size() + " classes in " + jar
        + ", no call to a JDK API that Android API 21 lacks");
    return 0;
  }

  // ---- the AAR's layout ----

  static int aarLayout(Path aar, Path proguard) throws IOException {
    int failures = 0;
    try (ZipFile zip = new ZipFile(aar.toFile())) {
      for (String name : new String[] {"classes.jar", "AndroidManifest.xml", "proguard.txt"}) {
        if (zip.getEntry(name) == null) {
          System.out.println(aar + " has no " + name);
          failures++;
        }
      }
      if (failures > 0) return fail(aar + " is not a complete AAR");
      String manifest = read(zip, "AndroidManifest.xml");
      String[] required = {
        "package=\"com.experiture.sdk\"",
        "android:minSdkVersion=\"21\"",
        "android:name=\"android.permission.INTERNET\"",
        "android:name=\"android.permission.ACCESS_NETWORK_STATE\"",
      };
      for (String r : required) {
        if (!manifest.contains(r)) {
          System.out.println("AndroidManifest.xml lacks " + r);
          failures++;
        }
      }
      if (!read(zip, "proguard.txt").equals(
              new String(Files.readAllBytes(proguard), StandardCharsets.UTF_8))) {
        System.out.println("proguard.txt in the AAR differs from " + proguard);
        failures++;
      }
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements();) {
        String name = e.nextElement().getName();
        if (name.startsWith("jni/") && !name.endsWith("/")
            && !name.matches("jni/(arm64-v8a|armeabi-v7a|x86|x86_64)/lib[\\w]+\\.so")) {
          System.out.println("unexpected native entry " + name);
          failures++;
        }
      }
    }
    if (failures > 0) return fail(failures + " problem(s) in " + aar);
    System.out.println("OK: " + aar + ": classes.jar, proguard.txt, manifest (minSdk 21,"
        + " INTERNET, ACCESS_NETWORK_STATE)");
    return 0;
  }

  static String read(ZipFile zip, String name) throws IOException {
    try (InputStream in = zip.getInputStream(zip.getEntry(name))) {
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) > 0;) bytes.write(buffer, 0, n);
      return new String(bytes.toByteArray(), StandardCharsets.UTF_8);
    }
  }

  static int fail(String message) {
    System.out.println("FAIL: " + message);
    return 1;
  }

  private AndroidPackageCheck() {}
}
