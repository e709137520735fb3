package dev.portforward.testbed;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The packaged operator (target/quarkus-app) running as its own process against the test
 * control plane, exactly as a Deployment would run it: so a test can kill it with SIGKILL,
 * restart it, and scrape its health and metrics endpoints.
 */
public final class OperatorProcess implements AutoCloseable, ExtensionContext.Store.CloseableResource {

  private final ControlPlane controlPlane;
  private final Map<String, String> properties;
  private final int httpPort = ControlPlane.freePort();
  private final Path log;
  private Process process;

  public OperatorProcess(ControlPlane controlPlane, Map<String, String> properties) {
    this.controlPlane = controlPlane;
    this.properties = properties;
    this.log = controlPlane.directory().resolve("operator-" + httpPort + ".log");
  }

  /** Starts the process and waits until its readiness endpoint says the operator runs. */
  public OperatorProcess start() throws IOException {
    Path jar = ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar + " is missing: integration tests run after `mvn package`");
    }
    List<String> command = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"),
        "-Xmx256m",
        "-Dquarkus.http.port=" + httpPort,
        "-Dquarkus.http.host=127.0.0.1",
        "-Dportforward.leader-election.lease-namespace=default"));
    properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.addAll(List.of("-jar", jar.toString(), "operator"));
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("KUBECONFIG", controlPlane.kubeconfig().toString());
    process = builder.start();
    Awaitility.await("operator ready (log: " + log + ")")
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(250))
        .failFast("operator exited; log: " + log, () -> !process.isAlive())
        .ignoreExceptionsInstanceOf(IOException.class)
        .until(() -> get("/q/health/ready").statusCode() == 200);
    return this;
  }

  /** SIGKILL: no shutdown hooks, no lease release, exactly like a node dying under the pod. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  public HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Resident memory of the process (VmRSS), in KiB. */
  public long rssKiB() throws IOException {
    return Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status")).stream()
        .filter(line -> line.startsWith("VmRSS:"))
        .map(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
        .findFirst()
        .orElseThrow();
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  public Path log() {
    return log;
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        kill();
      }
    }
  }
}
