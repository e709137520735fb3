package dev.portforward.testbed;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * What test-cluster/runtime/build.sh builds for nodes: containerd's binaries and the pause and
 * test images (OCI tarballs, with their names), read from its runtime.properties.
 */
public record NodeRuntime(Path bin, String pauseImage, Path pauseTar, String testappImage, Path testappTar) {

  /** -Dtestbed.runtime (the directory build.sh prints), or whatever build.sh builds or finds. */
  public static NodeRuntime find() throws IOException, InterruptedException {
    String configured = System.getProperty("testbed.runtime", System.getenv("TESTBED_RUNTIME"));
    Path dir;
    if (configured != null && !configured.isBlank()) {
      dir = Path.of(configured);
    } else {
      Process build = new ProcessBuilder("bash",
          ControlPlane.projectRoot().resolve("test-cluster/runtime/build.sh").toString())
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (build.waitFor() != 0) {
        throw new IllegalStateException("test-cluster/runtime/build.sh failed; see its output above");
      }
      dir = Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
    }
    Properties properties = new Properties();
    try (Reader in = Files.newBufferedReader(dir.resolve("runtime.properties"))) {
      properties.load(in);
    }
    return new NodeRuntime(dir.resolve("bin"),
        properties.getProperty("pause.image"), dir.resolve(properties.getProperty("pause.tar")),
        properties.getProperty("testapp.image"), dir.resolve(properties.getProperty("testapp.tar")));
  }
}
