package dev.portforward.testbed;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * What test-cluster/runtime/build.sh builds for a node below its kubelet: containerd's binaries
 * ({@code bin}: containerd, ctr, containerd-shim-runc-v2) and two images as OCI tarballs that
 * {@code ctr images import} reads, the sandbox (pause) image and the test image.
 */
public record RuntimeBuild(Path bin, Image pause, Image testapp) {

  /** An image: its full name (as pods and the sandbox setting name it) and its tarball. */
  public record Image(String name, Path tar) {}

  /** -Dtestbed.runtime (the directory build.sh prints), or whatever build.sh builds or finds. */
  public static RuntimeBuild find() throws IOException, InterruptedException {
    String configured = System.getProperty("testbed.runtime", System.getenv("TESTBED_RUNTIME"));
    Path dir = configured != null && !configured.isBlank() ? Path.of(configured) : build();
    Properties properties = new Properties();
    try (Reader in = Files.newBufferedReader(dir.resolve("runtime.properties"))) {
      properties.load(in);
    }
    return new RuntimeBuild(dir.resolve("bin"), image(dir, properties, "pause"), image(dir, properties, "testapp"));
  }

  private static Image image(Path dir, Properties properties, String key) {
    String name = properties.getProperty(key + ".image");
    String tar = properties.getProperty(key + ".tar");
    if (name == null || tar == null) {
      throw new IllegalStateException(dir.resolve("runtime.properties") + " names no " + key + " image");
    }
    return new Image(name, dir.resolve(tar));
  }

  private static Path build() throws IOException, InterruptedException {
    Process build = new ProcessBuilder("bash",
        ControlPlane.projectRoot().resolve("test-cluster/runtime/build.sh").toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (build.waitFor() != 0) {
      throw new IllegalStateException("test-cluster/runtime/build.sh failed; see its output above");
    }
    return Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
  }
}
