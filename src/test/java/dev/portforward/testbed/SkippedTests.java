package dev.portforward.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The upstream conformance tests the runner skips, each with why, in the order of
 * test-cluster/gateway-conformance/skipped-tests: one "{@code <test name> <reason>}" a line, '#'
 * starts a comment line.
 */
public record SkippedTests(Map<String, String> reasons) {

  /** The list the runner reads. */
  public static final Path FILE = ControlPlane.projectRoot().resolve("test-cluster/gateway-conformance/skipped-tests");
  private static final String SKIP_FLAG = "-skip-tests=";

  public SkippedTests {
    reasons = Collections.unmodifiableMap(new LinkedHashMap<>(reasons));
  }

  /** The committed list. */
  public static SkippedTests read() throws IOException {
    return parse(Files.readString(FILE));
  }

  /** Parses the file's text; a test named twice or without a reason is an error. */
  public static SkippedTests parse(String text) {
    Map<String, String> reasons = new LinkedHashMap<>();
    for (String line : text.lines().map(String::strip).toList()) {
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] fields = line.split("\\s+", 2);
      if (fields.length < 2) {
        throw new IllegalArgumentException("skipped-tests: " + fields[0] + " has no reason");
      }
      if (reasons.put(fields[0], fields[1]) != null) {
        throw new IllegalArgumentException("skipped-tests: " + fields[0] + " is listed twice");
      }
    }
    return new SkippedTests(reasons);
  }

  public Set<String> names() {
    return reasons.keySet();
  }

  /**
   * The suite's arguments with these tests in its {@code -skip-tests}: added to the tests an
   * argument {@code -skip-tests=...} (or {@code --skip-tests=...}) already names, or as a new
   * argument.
   */
  public List<String> addTo(List<String> suiteArgs) {
    Set<String> skip = new LinkedHashSet<>(names());
    List<String> others = new ArrayList<>();
    for (String arg : suiteArgs) {
      String flag = arg.startsWith("-" + SKIP_FLAG) ? arg.substring(1) : arg;
      if (flag.startsWith(SKIP_FLAG)) {
        for (String name : flag.substring(SKIP_FLAG.length()).split(",")) {
          if (!name.isBlank()) {
            skip.add(name.strip());
          }
        }
      } else {
        others.add(arg);
      }
    }
    others.add(SKIP_FLAG + String.join(",", skip));
    return others;
  }
}
