package dev.portforward.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.portforward.testbed.ControlPlane;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The container image, built as users build it (Quarkus' Jib extension) on the Debian base,
 * without a Docker daemon or a registry, then unpacked and started in every role through its own
 * entrypoint: test-cluster/image/build.sh and check.sh say what exactly.
 */
class ImageIT {

  private static final Path ROOT = ControlPlane.projectRoot();

  @Test
  void imageStartsEveryRole() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "skipped: building the base (mmdebstrap) and starting the image (unshare) need root");
    for (String tool : new String[] {"mmdebstrap", "jq", "curl", "ip", "unshare"}) {
      assumeTrue(canRun(tool, "--version") || canRun(tool, "-V"),
          "skipped: " + tool + " is needed (Debian packages mmdebstrap, jq, curl, iproute2, util-linux)");
    }

    Process build = new ProcessBuilder("bash", ROOT.resolve("test-cluster/image/build.sh").toString())
        .directory(ROOT.toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(build.waitFor(15, TimeUnit.MINUTES)).as("build.sh finished").isTrue();
    assertThat(build.exitValue()).as("test-cluster/image/build.sh failed; see its output above").isZero();
    String image = out.lines().reduce((a, b) -> b).orElseThrow();

    Process check = new ProcessBuilder("bash", ROOT.resolve("test-cluster/image/check.sh").toString(), image)
        .directory(ROOT.toFile())
        .inheritIO()
        .start();
    assertThat(check.waitFor(5, TimeUnit.MINUTES)).as("check.sh finished").isTrue();
    assertThat(check.exitValue()).as("test-cluster/image/check.sh failed; see its output above").isZero();
  }

  private static boolean canRun(String... command) {
    try {
      return new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
