package dev.portforward.bench;

import dev.portforward.operator.relays.RelayJvm;
import dev.portforward.testbed.ControlPlane;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * The relay role against HAProxy (no splice), socat and nginx stream, side by side on loopback in
 * one run: TCP throughput, added request/response latency, new connections per second, UDP packets
 * per second at <= 1% loss, and 9,500 idle connections. Every proxy forwards to the same
 * backends; "direct" is the client straight to the backend. Run by bench/relay/run.sh.
 */
public final class RelayBench {

  private static final String LOOPBACK = "127.0.0.1";
  // Each backend listens on 5200 + offset, each proxy on its own base + the same offset.
  private static final int IPERF = 1;
  private static final int UDP = 2;
  private static final int SOCKPERF = 3;
  private static final int CONNECT = 4;
  private static final int ECHO = 5;
  // 10,000 would be the goal, but a proxy holds two sockets per connection and the hard limit on
  // open files here is 20,000 (no CAP_SYS_RESOURCE to raise it); 9,500 leaves room for the rest.
  private static final int IDLE = 9_500;
  private static final int ROUNDS = 3;
  // Latency tails move most with other load: more, shorter rounds (each >= 100k round trips).
  private static final int LATENCY_ROUNDS = 5;
  private static final long UDP_TRIAL_NANOS = 1_000_000_000L;
  private static final long UDP_CPU_RATE = 100_000;

  private enum Way {
    RELAY(15000), HAPROXY(16000), SOCAT(17000), NGINX(18000), DIRECT(5200);

    final int base;

    Way(int base) {
      this.base = base;
    }

    int port(int offset) {
      return base + offset;
    }

    InetSocketAddress address(int offset) {
      return new InetSocketAddress(LOOPBACK, port(offset));
    }
  }

  private static final List<Way> TCP_WAYS = List.of(Way.RELAY, Way.HAPROXY, Way.SOCAT, Way.DIRECT);
  private static final List<Way> UDP_WAYS = List.of(Way.RELAY, Way.NGINX, Way.SOCAT, Way.DIRECT);
  // socat forks a process per connection: thousands of them say nothing about socat that matters.
  private static final List<Way> IDLE_WAYS = List.of(Way.RELAY, Way.HAPROXY, Way.DIRECT);

  public static void main(String[] args) throws Exception {
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).strip();
    Path dir = Files.createTempDirectory("relay-bench-");
    try (Processes processes = new Processes(dir); OutputStream awake = keepCoresAwake()) {
      processes.start("iperf3", "iperf3", "-s", "-B", LOOPBACK, "-p", String.valueOf(Way.DIRECT.port(IPERF)));
      processes.start("sockperf", "sockperf", "server", "--tcp", "-i", LOOPBACK,
          "-p", String.valueOf(Way.DIRECT.port(SOCKPERF)));
      daemon(() -> ConnectRate.serve(Way.DIRECT.port(CONNECT)));
      CountingEchoServer echo = new CountingEchoServer(LOOPBACK, Way.DIRECT.port(ECHO));
      daemon(echo::serve);
      UdpSink sink = new UdpSink(Way.DIRECT.port(UDP));
      daemon(sink);

      Process relay = processes.start("relay", relayCommand(dir));
      Process haproxy = processes.start("haproxy", "haproxy", "-db", "-f", write(dir, "haproxy.cfg", haproxyConfig()));
      for (int offset : new int[] {IPERF, SOCKPERF, CONNECT, ECHO}) {
        processes.start("socat-" + offset, "socat", "TCP-LISTEN:" + Way.SOCAT.port(offset)
            + ",bind=" + LOOPBACK + ",reuseaddr,fork,backlog=4096", "TCP:" + LOOPBACK + ":" + Way.DIRECT.port(offset));
      }
      // One client flow, so no fork: socat relays both ways for the first peer it hears from.
      Process socatUdp = processes.start("socat-udp", "socat", "UDP-LISTEN:" + Way.SOCAT.port(UDP) + ",bind=" + LOOPBACK + ",reuseaddr",
          "UDP:" + LOOPBACK + ":" + Way.DIRECT.port(UDP));
      Process nginx = processes.start("nginx", "nginx", "-e", dir.resolve("nginx-error.log").toString(),
          "-c", write(dir, "nginx.conf", nginxConfig(dir)));
      awaitListening(processes);

      // Idle connections first, on a fresh relay: its memory then is the relay's own.
      Map<Way, double[]> idle = new EnumMap<>(Way.class);
      long relayFresh = rssKiB(relay.pid());
      for (Way way : IDLE_WAYS) {
        idle.put(way, idle(way, echo, way == Way.RELAY ? relay : way == Way.HAPROXY ? haproxy : null));
        progress("idle", way, idle.get(way));
      }

      Map<Way, double[]> single = alternate("iperf3 -P 1", TCP_WAYS, way -> new double[] {iperf(way, 1)});
      Map<Way, double[]> multi = alternate("iperf3 -P 16", TCP_WAYS, way -> new double[] {iperf(way, 16)});
      Map<Way, double[]> latency = addedLatency();
      Map<Way, Long> lost = new EnumMap<>(Way.class);
      Map<Way, Map<String, Long>> kernel = new EnumMap<>(Way.class);
      Map<Way, double[]> connects = alternate("connects/s", TCP_WAYS, way -> {
        Map<String, Long> before = tcpCounters();
        ConnectRate.Result result = ConnectRate.rate(way.address(CONNECT), 3, 4);
        lost.merge(way, result.failed(), Long::sum);
        tcpCounters().forEach((name, after) ->
            kernel.computeIfAbsent(way, w -> new TreeMap<>()).merge(name, after - before.get(name), Long::sum));
        return new double[] {result.perSecond()};
      });
      // One socket per way for every trial: socat relays for the first peer it hears from only.
      Map<Way, DatagramChannel> senders = new EnumMap<>(Way.class);
      for (Way way : UDP_WAYS) {
        senders.put(way, DatagramChannel.open().connect(way.address(UDP)));
      }
      Map<Way, double[]> udp = alternate("UDP datagrams/s", UDP_WAYS,
          way -> new double[] {udpRate(senders.get(way), sink)});

      Map<Way, Process> udpProxies = Map.of(Way.RELAY, relay, Way.NGINX, nginx, Way.SOCAT, socatUdp);
      Map<Way, double[]> udpCpu = alternate("UDP CPU us/datagram", List.of(Way.RELAY, Way.NGINX, Way.SOCAT),
          way -> new double[] {udpCpu(senders.get(way), sink, udpProxies.get(way).toHandle())});

      report(dir, relayFresh, idle, single, multi, latency, connects, udp, udpCpu);
      // Other work on the machine moves every figure; the load says whether there was any.
      System.out.printf("load average before: %s; after: %s%n", loadBefore,
          Files.readString(Path.of("/proc/loadavg")).strip());
      System.out.println("connections that got no byte within 1 s (server speaks first, then closes): " + lost);
      System.out.println("kernel TCP counters during each way's connections: " + kernel);
    }
    System.exit(0);
  }

  /**
   * This VM's idle cores halt, and a wake-up from halt costs about what a proxy hop does (a round
   * trip took 49 us direct and 48 us via socat). A PM QoS request for zero wake-up latency, in force
   * while the file stays open, makes idle cores poll instead, as tuned's latency-performance profile
   * does. (SCHED_IDLE spinners, used before, made every proxy's p99.9 one scheduler tick in some
   * rounds: a task woken on a spinner's core could wait for the next tick.)
   */
  private static OutputStream keepCoresAwake() {
    try {
      OutputStream qos = new FileOutputStream("/dev/cpu_dma_latency");
      qos.write(new byte[Integer.BYTES]); // 0 microseconds
      return qos;
    } catch (IOException e) {
      System.out.println("idle cores may halt, and latencies include their wake-ups: " + e.getMessage());
      return OutputStream.nullOutputStream();
    }
  }

  /**
   * The kernel's counters for what makes a connection wait a second (a SYN sent again, an accept
   * queue full), from TcpExt in /proc/net/netstat; for the whole machine, so per way only while
   * one way runs.
   */
  private static Map<String, Long> tcpCounters() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
    Map<String, Long> counters = new TreeMap<>();
    for (int i = 0; i + 1 < lines.size(); i += 2) {
      if (lines.get(i).startsWith("TcpExt:")) {
        String[] names = lines.get(i).split("\\s+");
        String[] values = lines.get(i + 1).split("\\s+");
        for (int j = 1; j < names.length; j++) {
          if (List.of("TCPSynRetrans", "ListenOverflows", "ListenDrops").contains(names[j])) {
            counters.put(names[j], Long.parseLong(values[j]));
          }
        }
      }
    }
    return counters;
  }

  // ---- the proxies

  private static String[] relayCommand(Path dir) throws IOException {
    StringBuilder yaml = new StringBuilder("drainTimeout: 5s\nforwards:\n");
    for (int offset : new int[] {IPERF, SOCKPERF, CONNECT, ECHO}) {
      yaml.append(forward("tcp-" + offset, "TCP", offset)).append("    maxConnections: 20000\n");
    }
    yaml.append(forward("udp", "UDP", UDP));
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    // The JVM options relay pods and sidecars run with.
    command.addAll(List.of(RelayJvm.OPTIONS.split(" ")));
    // Port 0: its health and metrics server takes any free port.
    command.addAll(List.of("-Dquarkus.http.port=0", "-Dquarkus.http.host=" + LOOPBACK,
        "-jar", ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar").toString(),
        "relay", "--config", write(dir, "relay.yaml", yaml.toString())));
    return command.toArray(String[]::new);
  }

  private static String forward(String name, String protocol, int offset) {
    return "  - name: " + name + "\n"
        + "    protocol: " + protocol + "\n"
        + "    listen: {address: " + LOOPBACK + ", port: " + Way.RELAY.port(offset) + "}\n"
        + "    target: {host: " + LOOPBACK + ", port: " + Way.DIRECT.port(offset) + "}\n";
  }

  private static String haproxyConfig() {
    StringBuilder cfg = new StringBuilder("""
        global
          nbthread 2
          maxconn 9900
          nosplice
        defaults
          mode tcp
          maxconn 9900
          timeout connect 5s
          timeout client 10m
          timeout server 10m
        """);
    for (int offset : new int[] {IPERF, SOCKPERF, CONNECT, ECHO}) {
      cfg.append("listen l").append(offset).append('\n')
          .append("  bind ").append(LOOPBACK).append(':').append(Way.HAPROXY.port(offset)).append('\n')
          .append("  server s ").append(LOOPBACK).append(':').append(Way.DIRECT.port(offset)).append('\n');
    }
    return cfg.toString();
  }

  private static String nginxConfig(Path dir) {
    return """
        load_module /usr/lib/nginx/modules/ngx_stream_module.so;
        daemon off;
        worker_processes 2;
        pid %s;
        error_log %s warn;
        events { worker_connections 4096; }
        stream {
          server {
            listen %s:%d udp;
            proxy_pass %s:%d;
            proxy_timeout 10m;
          }
        }
        """.formatted(dir.resolve("nginx.pid"), dir.resolve("nginx-error.log"), LOOPBACK, Way.NGINX.port(UDP),
        LOOPBACK, Way.DIRECT.port(UDP));
  }

  private static void awaitListening(Processes processes) {
    List<Integer> tcp = new ArrayList<>();
    for (Way way : TCP_WAYS) {
      for (int offset : new int[] {IPERF, SOCKPERF, CONNECT, ECHO}) {
        tcp.add(way.port(offset));
      }
    }
    Awaitility.await("every proxy listening (logs: " + processes.dir + ")")
        .atMost(Duration.ofMinutes(1))
        .pollInterval(Duration.ofMillis(200))
        .failFast("a proxy exited; logs: " + processes.dir, processes::anyDied)
        .until(() -> listening("tcp", tcp) && listening("udp", UDP_WAYS.stream().map(w -> w.port(UDP)).toList()));
  }

  /** Whether every port has a socket bound in /proc/net: asks no server anything. */
  private static boolean listening(String table, List<Integer> ports) throws IOException {
    // Java's sockets are IPv6 ones (IPv4-mapped), listed in tcp6 and udp6.
    List<String> lines = new ArrayList<>(Files.readAllLines(Path.of("/proc/net", table)));
    lines.addAll(Files.readAllLines(Path.of("/proc/net", table + "6")));
    for (int port : ports) {
      String local = String.format(":%04X ", port);
      // TCP sockets must be in LISTEN (0A); UDP ones only bound.
      if (lines.stream().noneMatch(l -> l.contains(local)
          && (table.equals("udp") || l.trim().split("\\s+")[3].equals("0A")))) {
        return false;
      }
    }
    return true;
  }

  // ---- the measurements

  private interface Measure {
    double[] on(Way way) throws Exception;
  }

  /** {@link #runs}, then the median of each figure per way. */
  private static Map<Way, double[]> alternate(String name, List<Way> ways, Measure measure) throws Exception {
    return medians(runs(name, ROUNDS, ways, measure));
  }

  /**
   * Rounds that alternate between the ways, each round starting one way further on, so that no
   * way always runs right after the same other one; every way's figures, in round order.
   */
  private static Map<Way, List<double[]>> runs(String name, int rounds, List<Way> ways, Measure measure)
      throws Exception {
    Map<Way, List<double[]>> runs = new EnumMap<>(Way.class);
    for (int round = 0; round < rounds; round++) {
      List<Way> order = new ArrayList<>(ways);
      Collections.rotate(order, -round);
      for (Way way : order) {
        double[] figures = measure.on(way);
        progress(name, way, figures);
        runs.computeIfAbsent(way, w -> new ArrayList<>()).add(figures);
      }
    }
    return runs;
  }

  private static Map<Way, double[]> medians(Map<Way, List<double[]>> runs) {
    Map<Way, double[]> medians = new EnumMap<>(Way.class);
    runs.forEach((way, list) -> {
      double[] median = new double[list.get(0).length];
      for (int i = 0; i < median.length; i++) {
        int figure = i;
        median[i] = list.stream().mapToDouble(r -> r[figure]).sorted().toArray()[list.size() / 2];
      }
      medians.put(way, median);
    });
    return medians;
  }

  /**
   * sockperf round trips (p50, p99, p99.9); a proxy's added latency is its round trip minus the
   * direct one of the same round, since other load on the machine moves both, then the median
   * over the rounds. Direct keeps its own round trip.
   */
  private static Map<Way, double[]> addedLatency() throws Exception {
    Map<Way, List<double[]>> runs = runs("sockperf", LATENCY_ROUNDS, TCP_WAYS, RelayBench::sockperf);
    List<double[]> direct = runs.get(Way.DIRECT);
    runs.forEach((way, list) -> {
      if (way != Way.DIRECT) {
        for (int round = 0; round < list.size(); round++) {
          double[] added = list.get(round);
          for (int i = 0; i < added.length; i++) {
            added[i] -= direct.get(round)[i];
          }
        }
      }
    });
    return medians(runs);
  }

  /** iperf3 throughput in bit/s with {@code streams} parallel streams. */
  private static double iperf(Way way, int streams) throws Exception {
    String json = run("iperf3", "-c", LOOPBACK, "-p", String.valueOf(way.port(IPERF)), "-t", "5",
        "-P", String.valueOf(streams), "-J");
    Matcher m = Pattern.compile("\"sum_received\":\\s*\\{[^}]*\"bits_per_second\":\\s*([0-9.e+]+)").matcher(json);
    if (!m.find()) {
      throw new IllegalStateException("no iperf3 result via " + way + ": " + json);
    }
    return Double.parseDouble(m.group(1));
  }

  /** sockperf ping-pong round trip, microseconds: p50, p99, p99.9. */
  private static double[] sockperf(Way way) throws Exception {
    String out = run("sockperf", "ping-pong", "--tcp", "--full-rtt", "-i", LOOPBACK,
        "-p", String.valueOf(way.port(SOCKPERF)), "-t", "4");
    double[] result = new double[3];
    String[] names = {"50.000", "99.000", "99.900"};
    for (int i = 0; i < names.length; i++) {
      Matcher m = Pattern.compile("percentile " + Pattern.quote(names[i]) + " =\\s*([0-9.]+)").matcher(out);
      if (!m.find()) {
        throw new IllegalStateException("no sockperf result via " + way + ": " + out);
      }
      result[i] = Double.parseDouble(m.group(1));
    }
    return result;
  }

  /**
   * 64-byte datagrams per second that arrive with at most 1% lost: the rate grows by half until it
   * loses more, then four bisections between the last good rate and the bad one.
   */
  private static double udpRate(DatagramChannel out, UdpSink sink) throws Exception {
    udpTrial(out, sink, 20_000); // warm up: the session is set up, the JIT has compiled the path
    double best = 0;
    long good = 0;
    long bad = 0;
    for (long rate = 20_000; bad == 0; rate = rate * 3 / 2) {
      double achieved = udpHolds(out, sink, rate);
      if (achieved == 0) {
        bad = rate;
      } else {
        best = achieved;
        good = rate;
        if (achieved < 0.95 * rate) {
          return best; // the sender's own limit
        }
      }
    }
    for (int i = 0; i < 4; i++) {
      long rate = (good + bad) / 2;
      double achieved = udpHolds(out, sink, rate);
      if (achieved == 0) {
        bad = rate;
      } else {
        best = achieved;
        good = rate;
      }
    }
    return best;
  }

  /** The rate achieved if one of two trials loses at most 1%, else 0: one stall of a busy machine fails no rate. */
  private static double udpHolds(DatagramChannel out, UdpSink sink, long rate) throws Exception {
    for (int trial = 0; trial < 2; trial++) {
      double[] result = udpTrial(out, sink, rate);
      if (result[1] <= 0.01) {
        return result[0];
      }
    }
    return 0;
  }

  /**
   * CPU time a proxy (its process and children, every thread) takes per datagram while
   * {@link #UDP_CPU_RATE} a second pass, in microseconds: at the top rate the bench's own sender
   * and sink share the cores, and two proxies can end on the same step of the search.
   */
  private static double udpCpu(DatagramChannel out, UdpSink sink, ProcessHandle proxy) throws Exception {
    long before = cpuTicks(proxy);
    double[] result = udpTrial(out, sink, UDP_CPU_RATE);
    long ticks = cpuTicks(proxy) - before;
    // /proc counts in ticks of 10 ms (USER_HZ 100).
    return ticks * 10_000.0 / (result[0] * UDP_TRIAL_NANOS / 1e9);
  }

  private static long cpuTicks(ProcessHandle process) throws IOException {
    long ticks = 0;
    for (ProcessHandle p : Stream.concat(Stream.of(process), process.descendants()).toList()) {
      String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
      // After the command name in parentheses: field 3 is the state, 14 and 15 utime and stime.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
    return ticks;
  }

  /** Sends at {@code rate} for a while: the rate achieved and the fraction lost. */
  private static double[] udpTrial(DatagramChannel out, UdpSink sink, long rate) throws Exception {
    ByteBuffer datagram = ByteBuffer.allocateDirect(64);
    long before = sink.received.get();
    long sent = 0;
    long start = System.nanoTime();
    long end = start + UDP_TRIAL_NANOS;
    for (long now = start; now < end; now = System.nanoTime()) {
      long due = (now - start) * rate / 1_000_000_000L;
      if (sent >= due) {
        // Park rather than spin: a spinning sender takes a core from the proxy.
        LockSupport.parkNanos(50_000);
      }
      for (; sent < due; sent++) {
        datagram.clear();
        out.write(datagram);
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Thread.sleep(300); // what is still queued arrives
    long received = sink.received.get() - before;
    return new double[] {sent / seconds, 1 - (double) received / sent};
  }

  /**
   * Opens {@value #IDLE} idle connections through the way and, while they are open, times a new
   * connect + 1-byte echo; returns [median, p99] in microseconds and the proxy's RSS in KiB.
   */
  private static double[] idle(Way way, CountingEchoServer echo, Process proxy) throws Exception {
    InetSocketAddress target = way.address(ECHO);
    connectAndEcho(target, 2_000); // warm up
    // Through a proxy the backend side closes a little later than the client's.
    awaitOpenAtBackend(echo, 0, way);
    List<SocketChannel> open = new ArrayList<>();
    try {
      for (int i = 0; i < IDLE; i++) {
        open.add(SocketChannel.open(target));
      }
      awaitOpenAtBackend(echo, IDLE, way);
      long[] times = connectAndEcho(target, 1_000);
      long rss = proxy == null ? 0 : rssKiB(proxy.pid());
      return new double[] {times[times.length / 2] / 1e3, times[times.length * 99 / 100] / 1e3, rss};
    } finally {
      for (SocketChannel channel : open) {
        channel.socket().setSoLinger(true, 0);
        channel.close();
      }
      awaitOpenAtBackend(echo, 0, way);
    }
  }

  private static void awaitOpenAtBackend(CountingEchoServer echo, int count, Way way) {
    Awaitility.await(count + " connections open at the backend via " + way).atMost(Duration.ofMinutes(1))
        .until(() -> echo.open.get() == count);
  }

  /** Nanoseconds for each of {@code count} new connections to connect and get one byte echoed, sorted. */
  private static long[] connectAndEcho(InetSocketAddress target, int count) throws IOException {
    long[] times = new long[count];
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      try (Socket s = new Socket()) {
        s.setSoLinger(true, 0);
        s.setTcpNoDelay(true);
        s.connect(target, 5000);
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        out.write('x');
        if (in.read() != 'x') {
          throw new IOException("no echo via " + target);
        }
      }
      times[i] = System.nanoTime() - start;
    }
    Arrays.sort(times);
    return times;
  }

  // ---- the report

  private static void report(Path dir, long relayFresh, Map<Way, double[]> idle, Map<Way, double[]> single,
      Map<Way, double[]> multi, Map<Way, double[]> latency, Map<Way, double[]> connects, Map<Way, double[]> udp,
      Map<Way, double[]> udpCpu) {
    System.out.printf("%nrelay vs peers on loopback (2 cores); medians of %d alternating runs (latency: %d),"
        + " idle connections: one run%n", ROUNDS, LATENCY_ROUNDS);
    System.out.printf("%-38s %9s %9s %9s %9s %9s   %s%n", "metric", "relay", "haproxy", "socat", "nginx", "direct",
        "ratios vs goals");
    row("TCP throughput, 1 stream (Gbit/s)", single, 0, 1e-9, "%.2f",
        goal(single, 0, Way.HAPROXY, 1.0, true), goal(single, 0, Way.SOCAT, 1.5, true));
    row("TCP throughput, 16 streams (Gbit/s)", multi, 0, 1e-9, "%.2f",
        goal(multi, 0, Way.HAPROXY, 1.0, true), goal(multi, 0, Way.SOCAT, 1.5, true));
    String[] names = {"p50", "p99", "p99.9"};
    double[] limits = {1.2, 1.5, 2.0};
    for (int i = 0; i < names.length; i++) {
      row("added latency " + names[i] + " (us; direct: RTT)", latency, i, 1, "%.1f",
          goal(latency, i, Way.HAPROXY, limits[i], false));
    }
    row("new TCP connections/s (4 clients)", connects, 0, 1, "%.0f",
        goal(connects, 0, Way.HAPROXY, 0.8, true), goal(connects, 0, Way.SOCAT, 3.0, true));
    row("UDP 64 B datagrams/s at <= 1% loss", udp, 0, 1, "%.0f",
        goal(udp, 0, Way.NGINX, 1.0, true), goal(udp, 0, Way.DIRECT, 0.5, true));
    row("UDP CPU per datagram at " + UDP_CPU_RATE / 1000 + "k/s (us)", udpCpu, 0, 1, "%.2f",
        String.format(Locale.ROOT, "%.2fx nginx (the cost behind the rate; no goal)",
            udpCpu.get(Way.RELAY)[0] / udpCpu.get(Way.NGINX)[0]));
    String open = String.format("%,d open", IDLE);
    row("connect + echo, " + open + ", p50 (us)", idle, 0, 1, "%.0f");
    row("connect + echo, " + open + ", p99 (us)", idle, 1, 1, "%.0f");
    Map<Way, double[]> rss = new EnumMap<>(Way.class);
    rss.put(Way.RELAY, new double[] {idle.get(Way.RELAY)[2]});
    rss.put(Way.HAPROXY, new double[] {idle.get(Way.HAPROXY)[2]});
    row("RSS with " + open + " (MiB)", rss, 0, 1 / 1024.0, "%.0f");
    double perConnection = (idle.get(Way.RELAY)[2] - relayFresh) / IDLE;
    System.out.printf(Locale.ROOT, "relay RSS before: %d MiB; %.1f KiB per idle connection, so %.0f MiB at 10,000%n",
        relayFresh / 1024, perConnection, (relayFresh + perConnection * 10_000) / 1024);
    System.out.printf("logs and configs in %s%n", dir);
  }

  private static void row(String metric, Map<Way, double[]> values, int index, double scale, String format,
      String... goals) {
    StringBuilder line = new StringBuilder(String.format("%-38s", metric));
    for (Way way : List.of(Way.RELAY, Way.HAPROXY, Way.SOCAT, Way.NGINX, Way.DIRECT)) {
      double[] v = values.get(way);
      line.append(String.format(" %9s", v == null ? "-" : String.format(Locale.ROOT, format, v[index] * scale)));
    }
    line.append("   ").append(String.join(", ", goals));
    System.out.println(line.toString().stripTrailing());
  }

  /** "1.07x haproxy (goal >= 1.0) ok": the relay's figure over the peer's. */
  private static String goal(Map<Way, double[]> values, int index, Way peer, double limit, boolean higherIsBetter) {
    if (values.get(peer)[index] <= 0) {
      return "no ratio: " + peer.name().toLowerCase(Locale.ROOT) + " adds nothing measurable";
    }
    double ratio = values.get(Way.RELAY)[index] / values.get(peer)[index];
    boolean met = higherIsBetter ? ratio >= limit : ratio <= limit;
    return String.format(Locale.ROOT, "%.2fx %s (goal %s %.1f) %s", ratio, peer.name().toLowerCase(Locale.ROOT),
        higherIsBetter ? ">=" : "<=", limit, met ? "ok" : "MISSED");
  }

  // ---- helpers

  /** Each figure as it comes, on stderr: a long run shows where it is, and a failed one what it had. */
  private static void progress(String name, Way way, double[] figures) {
    System.err.printf(Locale.ROOT, "  %s via %s: %s%n", name, way, Arrays.toString(figures));
  }

  private interface Body {
    void run() throws Exception;
  }

  private static void daemon(Body body) {
    Thread thread = new Thread(() -> {
      try {
        body.run();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    thread.setDaemon(true);
    thread.start();
  }

  private static String write(Path dir, String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content).toString();
  }

  /** Runs a client to completion and returns what it printed. */
  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
    }
    return out;
  }

  private static long rssKiB(long pid) throws IOException {
    return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream()
        .filter(line -> line.startsWith("VmRSS:"))
        .map(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
        .findFirst()
        .orElseThrow();
  }

  /** The servers and proxies, each logging to its own file; stopped with their children at the end. */
  private static final class Processes implements AutoCloseable {
    final Path dir;
    final List<Process> started = new ArrayList<>();

    Processes(Path dir) {
      this.dir = dir;
      // Interrupted runs (Ctrl-C) leave no proxies behind either.
      Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
    }

    Process start(String name, String... command) throws IOException {
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(dir.resolve(name + ".log").toFile()).start();
      started.add(p);
      return p;
    }

    boolean anyDied() {
      return started.stream().anyMatch(p -> !p.isAlive());
    }

    @Override
    public void close() {
      stop();
    }

    synchronized void stop() {
      for (Process p : started) {
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
      }
      for (Process p : started) {
        try {
          if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
          }
        } catch (InterruptedException e) {
          p.destroyForcibly();
        }
      }
    }
  }

  /** Counts the datagrams that arrive. */
  private static final class UdpSink implements Body {
    final AtomicLong received = new AtomicLong();
    private final DatagramChannel channel;

    UdpSink(int port) throws IOException {
      channel = DatagramChannel.open().bind(new InetSocketAddress(LOOPBACK, port));
    }

    @Override
    public void run() throws IOException {
      ByteBuffer buffer = ByteBuffer.allocateDirect(2048);
      while (true) {
        buffer.clear();
        channel.receive(buffer);
        received.incrementAndGet();
      }
    }
  }

  private RelayBench() {}
}
