package dev.portforward.testbed;

import dev.portforward.operator.relays.RelayJvm;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A role of the packaged jar (target/quarkus-app) running as its own process against the test
 * control plane, exactly as a Deployment or DaemonSet would run it: so a test can kill it with
 * SIGKILL, restart it, and scrape its health and metrics endpoints.
 */
public final class RoleProcess implements AutoCloseable, ExtensionContext.Store.CloseableResource {

  /**
   * HTTP/1.1 only, as the kubelet and Prometheus speak to the roles. The JDK client's default
   * offers plain-HTTP servers an upgrade to HTTP/2 (h2c), which no caller here needs; a GET of an
   * agent's metrics once hung past its request timeout (NodeReportIT), and the upgrade is the part
   * of that exchange this leaves out. One client for all: each new one starts its own thread.
   */
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** The control plane's kubeconfig; null for the relay, which needs no API server. */
  private final Path kubeconfig;
  private final String role;
  private final String startedWhen;
  private final Map<String, String> properties;
  private final String httpHost;
  private final int httpPort;
  private final Path log;
  private Process process;

  private RoleProcess(Path directory, Path kubeconfig, String role, String startedWhen, Map<String, String> properties) {
    this(directory, kubeconfig, role, startedWhen, properties, "127.0.0.1", ControlPlane.freePort());
  }

  private RoleProcess(Path directory, Path kubeconfig, String role, String startedWhen, Map<String, String> properties,
      String httpHost, int httpPort) {
    this.httpHost = httpHost;
    this.httpPort = httpPort;
    this.kubeconfig = kubeconfig;
    this.role = role;
    this.startedWhen = startedWhen;
    this.properties = properties;
    this.log = directory.resolve(role + "-" + httpPort + ".log");
  }

  /** The operator; started once its readiness check passes (the operator runs). */
  public static RoleProcess operator(ControlPlane controlPlane, Map<String, String> properties) {
    return new RoleProcess(controlPlane.directory(), controlPlane.kubeconfig(), "operator", "/q/health/ready", properties);
  }

  /** The operator authenticating with another identity ({@code kubeconfig}), such as a chart's service account. */
  public static RoleProcess operator(ControlPlane controlPlane, Path kubeconfig, Map<String, String> properties) {
    return new RoleProcess(controlPlane.directory(), kubeconfig, "operator", "/q/health/ready", properties);
  }

  /** A node agent authenticating with another identity ({@code kubeconfig}), such as a chart's service account. */
  public static RoleProcess agent(ControlPlane controlPlane, Path kubeconfig, Map<String, String> properties) {
    return new RoleProcess(controlPlane.directory(), kubeconfig, "agent", "/q/health/ready", properties);
  }

  /** A node agent; started once it is ready: caches synced and its node's rules in place. */
  public static RoleProcess agent(ControlPlane controlPlane, Map<String, String> properties) {
    return new RoleProcess(controlPlane.directory(), controlPlane.kubeconfig(), "agent", "/q/health/ready", properties);
  }

  /** A relay, logging into {@code directory}; started once it serves its forwards. */
  public static RoleProcess relay(Path directory, Map<String, String> properties) {
    return new RoleProcess(directory, null, "relay", "/q/health/ready", properties);
  }

  /** A tunnel server, logging into {@code directory}; started once it listens. */
  public static RoleProcess tunnel(Path directory, Map<String, String> properties) {
    return new RoleProcess(directory, null, "tunnel", "/q/health/ready", properties);
  }

  /**
   * A tunnel server whose HTTP port is {@code httpHost:httpPort}, as in its pod, where the
   * operator reads its report: {@code httpHost} is an address of the test's own namespaces.
   */
  public static RoleProcess tunnel(Path directory, String httpHost, int httpPort, Map<String, String> properties) {
    return new RoleProcess(directory, null, "tunnel", "/q/health/ready", properties, httpHost, httpPort);
  }

  /** Starts the process and waits until its health endpoint answers. */
  public RoleProcess start() throws IOException {
    return launch().awaitStarted();
  }

  /** Starts the process without waiting for it (say, while the API server is away). */
  public RoleProcess launch() throws IOException {
    process = command().start();
    return this;
  }

  /** Waits until the launched process's health endpoint answers. */
  public RoleProcess awaitStarted() throws IOException {
    try {
      Awaitility.await(role + " started (log: " + log + ")")
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(250))
          .failFast(role + " exited; log: " + log, () -> !process.isAlive())
          .ignoreExceptionsInstanceOf(IOException.class)
          .until(() -> get(startedWhen).statusCode() == 200);
    } catch (ConditionTimeoutException | TerminalFailureException e) {
      // CI keeps only the console: the end of the role's own log says why it did not start.
      throw new IllegalStateException(e.getMessage() + "\n--- last lines of " + log + " ---\n" + logTail(), e);
    }
    return this;
  }

  private String logTail() throws IOException {
    List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  /** Runs the role with extra arguments (such as agent --cleanup) and returns its exit code. */
  public int runToCompletion(String... args) throws IOException, InterruptedException {
    process = command(args).start();
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      kill();
      throw new IllegalStateException(role + " did not finish; log: " + log);
    }
    return process.exitValue();
  }

  private ProcessBuilder command(String... args) {
    Path jar = ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar + " is missing: integration tests run after `mvn package`");
    }
    List<String> command = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"),
        "-Xmx256m",
        "-Dquarkus.http.port=" + httpPort,
        "-Dquarkus.http.host=" + httpHost,
        "-Dportforward.leader-election.lease-namespace=default"));
    properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.addAll(List.of("-jar", jar.toString(), role));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    if (kubeconfig != null) {
      builder.environment().put("KUBECONFIG", kubeconfig.toString());
    }
    // As a pod's: leader election names its holder by HOSTNAME, so two operators on this machine
    // must not share it (they would both lead).
    builder.environment().put("HOSTNAME", identity());
    if ("relay".equals(role)) {
      // The JVM options relay pods and sidecars get.
      builder.environment().put(RelayJvm.ENV, RelayJvm.OPTIONS);
    }
    return builder;
  }

  /** SIGTERM, as the kubelet sends when a pod is deleted; returns at once. */
  public void terminate() {
    process.destroy();
  }

  /**
   * Waits for the process to end (the caller has stopped it) and returns its exit code. One that
   * hangs gets its threads dumped into its log and is killed, so that the next test starts afresh.
   */
  public int exitCode() throws IOException, InterruptedException {
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      Files.writeString(log, threads(), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
      kill();
      throw new IllegalStateException(role + " did not exit; its threads are at the end of " + log);
    }
    return process.exitValue();
  }

  /**
   * The frames of the process's thread {@code name} as jcmd prints them, on one line: where a
   * stalled loop stands, for a failure's message (CI keeps only the console).
   */
  public String threadStack(String name) throws IOException, InterruptedException {
    return threads().lines().dropWhile(line -> !line.startsWith("\"" + name + "\"")).takeWhile(line -> !line.isBlank())
        .limit(10).map(String::strip).collect(Collectors.joining(" | "));
  }

  private String threads() throws IOException, InterruptedException {
    Process run = new ProcessBuilder(jcmd(), String.valueOf(process.pid()), "Thread.print").redirectErrorStream(true)
        .start();
    String dump = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    run.waitFor();
    return dump;
  }

  private static String jcmd() {
    return ProcessHandle.current().info().command().map(java -> Path.of(java).resolveSibling("jcmd").toString())
        .orElse("jcmd");
  }

  /** SIGKILL: no shutdown hooks, no lease release, exactly like a node dying under the pod. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  public HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://" + httpHost + ":" + httpPort + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** An untagged gauge (or the first series of a tagged one) from /q/metrics, as Prometheus scrapes it. */
  public double gauge(String name) throws IOException, InterruptedException {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*})? (\\S+)$").matcher(get("/q/metrics").body());
    if (!m.find()) {
      throw new IllegalStateException(name + " is not exported");
    }
    return Double.parseDouble(m.group(2));
  }

  /** Resident memory of the process (VmRSS), in KiB. */
  public long rssKiB() throws IOException {
    return Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status")).stream()
        .filter(line -> line.startsWith("VmRSS:"))
        .map(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
        .findFirst()
        .orElseThrow();
  }

  /**
   * The Java heap in use after a full collection, in KiB: what the process's objects need, apart
   * from what its collector keeps spare.
   */
  public long liveHeapKiB() throws IOException, InterruptedException {
    Process run = new ProcessBuilder(jcmd(), String.valueOf(process.pid()), "GC.class_histogram").redirectErrorStream(true).start();
    String histogram = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    run.waitFor();
    // The histogram's last line: "Total <instances> <bytes>"; taking it runs a full collection first.
    String[] total = histogram.lines().filter(line -> line.startsWith("Total")).findFirst()
        .orElseThrow(() -> new IllegalStateException("no class histogram: " + histogram)).trim().split("\\s+");
    return Long.parseLong(total[2]) / 1024;
  }

  /** CPU time the process has used so far, user and system. */
  public Duration cpuTime() {
    return process.info().totalCpuDuration().orElseThrow();
  }

  /** File descriptors the process holds open (/proc/PID/fd): sockets, files, epoll and timer descriptors. */
  public long openFiles() throws IOException {
    try (var fds = Files.list(Path.of("/proc", String.valueOf(process.pid()), "fd"))) {
      return fds.count();
    }
  }

  /** The name this process goes by, as a pod's name: its HOSTNAME, and so its leader election identity. */
  public String identity() {
    return role + "-" + httpPort;
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
