package dev.portforward.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * What sigs.k8s.io/cli-utils' kstatus computes for an object: the status Flux waits on (its
 * Kustomizations and HelmReleases with {@code wait}) and cli-utils' appliers. Runs the Go program
 * test-cluster/kstatus/build.sh builds once per set of pins and caches.
 */
public final class KStatus {

  private static final Path BUILD = ControlPlane.projectRoot().resolve("test-cluster/kstatus/build.sh");
  private static Path binary;

  /** Current, InProgress, Failed, Terminating, NotFound or Unknown, and kstatus' message. */
  public record Result(String status, String message) {}

  private KStatus() {}

  public static Result of(HasMetadata object) {
    try {
      Process kstatus = new ProcessBuilder(binary().toString()).redirectErrorStream(true).start();
      try (OutputStream in = kstatus.getOutputStream()) {
        in.write(Serialization.asJson(object).getBytes(StandardCharsets.UTF_8));
      }
      String out = new String(kstatus.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (kstatus.waitFor() != 0) {
        throw new IllegalStateException("kstatus failed: " + out);
      }
      JsonNode result = Serialization.jsonMapper().readTree(out);
      return new Result(result.get("status").asText(), result.get("message").asText());
    } catch (IOException e) {
      throw new IllegalStateException("kstatus could not run: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Built on first use (about two minutes on a cold Go cache), then taken from the cache. */
  private static synchronized Path binary() throws IOException, InterruptedException {
    if (binary == null) {
      Process build = new ProcessBuilder("bash", BUILD.toString())
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!build.waitFor(15, TimeUnit.MINUTES) || build.exitValue() != 0) {
        throw new IllegalStateException("test-cluster/kstatus/build.sh failed; see its output above");
      }
      binary = Path.of(out);
    }
    return binary;
  }
}
