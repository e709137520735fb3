package dev.portforward.bench;

import dev.portforward.operator.relays.RelayJvm;
import dev.portforward.testbed.ControlPlane;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * The relay's memory and start, which other work on the machine hardly moves (unlike its CPU
 * figures): time from process start until /q/health/ready answers 200, idle RSS once ready, and
 * the RSS each idle connection adds at 1,000 and at 9,500 open connections. Each run starts a
 * fresh relay with the JVM options relay pods and sidecars get ({@link RelayJvm#OPTIONS}); every
 * argument is one more set of options to compare (an empty one: the JVM's own defaults). Prints
 * medians and ranges next to the goals. Run by bench/relay/footprint.sh and run.sh.
 */
public final class RelayFootprint {

  private static final String LOOPBACK = "127.0.0.1";
  private static final int RUNS = Integer.getInteger("runs", 3);
  private static final int SETTLE_SECONDS = 10;
  private static final int[] CONNECTIONS = {1_000, 9_500};
  private static final double GOAL_IDLE_MIB = 64;
  private static final double GOAL_READY_SECONDS = 1.5;
  private static final double GOAL_KIB_PER_CONNECTION = 6;

  /**
   * One run's figures: start to ready (s of wall clock, and of CPU, which other load moves much
   * less), idle RSS (KiB), RSS with each count open (KiB).
   */
  private record Run(double readySeconds, double readyCpuSeconds, long idleKiB, long[] openKiB) {}

  public static void main(String[] args) throws Exception {
    List<String> variants = new ArrayList<>();
    variants.add(RelayJvm.OPTIONS);
    variants.addAll(Arrays.asList(args));
    CountingEchoServer echo = CountingEchoServer.start(LOOPBACK);
    Path dir = Files.createTempDirectory("relay-footprint-");
    List<List<Run>> results = new ArrayList<>();
    for (String options : variants) {
      List<Run> runs = new ArrayList<>();
      for (int i = 0; i < RUNS; i++) {
        Run run = measure(dir, options, echo);
        System.out.printf(Locale.ROOT, "  [%s] ready %.2f s (CPU %.2f s), idle %d MiB, open %s KiB%n",
            label(options), run.readySeconds(), run.readyCpuSeconds(), run.idleKiB() / 1024,
            Arrays.toString(run.openKiB()));
        runs.add(run);
      }
      results.add(runs);
    }
    System.out.printf("%nrelay footprint: medians of %d fresh relays [min-max]%n", RUNS);
    for (int v = 0; v < variants.size(); v++) {
      List<Run> runs = results.get(v);
      System.out.printf("JVM options: %s%n", label(variants.get(v)));
      line("time to ready (s)", runs.stream().mapToDouble(Run::readySeconds).toArray(), "%.2f", GOAL_READY_SECONDS);
      line("CPU time to ready (s)", runs.stream().mapToDouble(Run::readyCpuSeconds).toArray(), "%.2f", Double.NaN);
      line("idle RSS (MiB)", runs.stream().mapToDouble(r -> r.idleKiB() / 1024.0).toArray(), "%.0f", GOAL_IDLE_MIB);
      for (int c = 0; c < CONNECTIONS.length; c++) {
        int index = c;
        line(String.format(Locale.ROOT, "KiB per idle connection at %,d", CONNECTIONS[c]),
            runs.stream().mapToDouble(r -> (r.openKiB()[index] - r.idleKiB()) / (double) CONNECTIONS[index]).toArray(),
            "%.1f", GOAL_KIB_PER_CONNECTION);
        line(String.format(Locale.ROOT, "RSS with %,d open (MiB)", CONNECTIONS[c]),
            runs.stream().mapToDouble(r -> r.openKiB()[index] / 1024.0).toArray(), "%.0f", Double.NaN);
      }
    }
    System.exit(0);
  }

  private static String label(String options) {
    return options.isBlank() ? "(JVM defaults)" : options;
  }

  /** "idle RSS (MiB)   58 [55-60]   goal <= 64 ok". */
  private static void line(String metric, double[] values, String format, double goal) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double median = sorted[sorted.length / 2];
    String figure = String.format(Locale.ROOT, format + " [" + format + "-" + format + "]", median, sorted[0],
        sorted[sorted.length - 1]);
    String verdict = Double.isNaN(goal) ? ""
        : String.format(Locale.ROOT, "goal <= %s %s", String.format(Locale.ROOT, format, goal),
            median <= goal ? "ok" : "MISSED");
    System.out.printf(Locale.ROOT, "  %-38s %-20s %s%n", metric, figure, verdict);
  }

  private static Run measure(Path dir, String options, CountingEchoServer echo) throws Exception {
    int relayPort = freePort();
    int httpPort = freePort();
    Path config = Files.writeString(dir.resolve("relay.yaml"), """
        drainTimeout: 1s
        forwards:
          - name: echo
            listen: {address: %s, port: %d}
            target: {host: %s, port: %d}
            maxConnections: 20000
        """.formatted(LOOPBACK, relayPort, LOOPBACK, echo.port()));
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    // NAME=VALUE words are environment variables (MALLOC_ARENA_MAX=2), the rest JVM options.
    List<String> words = Stream.of(options.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
    command.addAll(words.stream().filter(w -> w.startsWith("-")).toList());
    command.addAll(List.of("-Dquarkus.http.port=" + httpPort, "-Dquarkus.http.host=" + LOOPBACK,
        "-jar", ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar").toString(),
        "relay", "--config", config.toString()));
    long start = System.nanoTime();
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("relay.log").toFile());
    words.stream().filter(w -> !w.startsWith("-") && w.contains("="))
        .forEach(w -> builder.environment().put(w.substring(0, w.indexOf('=')), w.substring(w.indexOf('=') + 1)));
    Process relay = builder.start();
    try {
      URI ready = URI.create("http://" + LOOPBACK + ":" + httpPort + "/q/health/ready");
      Awaitility.await("relay ready").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(10))
          .until(() -> relay.isAlive() && status(ready) == 200);
      double readySeconds = (System.nanoTime() - start) / 1e9;
      double readyCpuSeconds = cpuSeconds(relay.pid());
      // Idle as in a pod: start-up's garbage and compiler memory settle while probes come in and
      // metrics are scraped, as the kubelet and Prometheus do.
      for (int i = 0; i < SETTLE_SECONDS; i++) {
        status(ready);
        status(URI.create("http://" + LOOPBACK + ":" + httpPort + "/q/metrics"));
        Thread.sleep(1000);
      }
      long idle = rssKiB(relay.pid());
      long[] open = new long[CONNECTIONS.length];
      List<SocketChannel> clients = new ArrayList<>();
      try {
        for (int c = 0; c < CONNECTIONS.length; c++) {
          while (clients.size() < CONNECTIONS[c]) {
            clients.add(SocketChannel.open(new InetSocketAddress(LOOPBACK, relayPort)));
          }
          int count = CONNECTIONS[c];
          Awaitility.await(count + " connections at the backend").atMost(Duration.ofMinutes(1))
              .until(() -> echo.open.get() == count);
          open[c] = rssKiB(relay.pid());
        }
      } finally {
        for (SocketChannel client : clients) {
          client.socket().setSoLinger(true, 0);
          client.close();
        }
      }
      Awaitility.await("connections closed at the backend").atMost(Duration.ofMinutes(1))
          .until(() -> echo.open.get() == 0);
      return new Run(readySeconds, readyCpuSeconds, idle, open);
    } finally {
      relay.destroy();
      relay.onExit().get();
    }
  }

  private static int status(URI uri) {
    try {
      HttpURLConnection http = (HttpURLConnection) uri.toURL().openConnection();
      http.setConnectTimeout(1000);
      http.setReadTimeout(5000);
      int code = http.getResponseCode();
      http.getInputStream().readAllBytes();
      http.disconnect();
      return code;
    } catch (IOException e) {
      return -1;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getByName(LOOPBACK))) {
      return socket.getLocalPort();
    }
  }

  /** User + system time of every thread of the process (/proc/PID/stat, in clock ticks of 10 ms). */
  private static double cpuSeconds(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0;
  }

  private static long rssKiB(long pid) throws IOException {
    return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream()
        .filter(line -> line.startsWith("VmRSS:"))
        .map(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
        .findFirst()
        .orElseThrow();
  }

  private RelayFootprint() {}
}
