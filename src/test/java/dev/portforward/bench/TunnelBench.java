package dev.portforward.bench;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/**
 * The tunnel role against OpenSSH's sshd, chisel, frp and rathole in one run: throughput with 1
 * and 8 streams, new connections per second and added round-trip latency through a local
 * ({@code -L}) and a remote ({@code -R}) forward, and memory per connected client. The SSH servers
 * get the same OpenSSH client with the same cipher; frp and rathole only forward remote-style (a
 * port on the server reaching a service behind the client), which is what they are for. The
 * backends (iperf3, sockperf, a connect-rate server) run in a network namespace, since the tunnel
 * refuses loopback destinations; "direct" is the client straight to them. Tools that are missing
 * (see bench/tunnel/run.sh) are left out and said so. Run by bench/tunnel/run.sh.
 */
public final class TunnelBench {

  private static final String LOOPBACK = "127.0.0.1";
  private static final String HOST_END = "10.77.250.1";
  private static final String BACKEND = "10.77.250.2";
  private static final String CIPHER = System.getProperty("bench.cipher", "aes128-gcm@openssh.com");
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
  private static final int SECONDS = Integer.getInteger("bench.seconds", 3);
  private static final int CLIENTS = Integer.getInteger("bench.clients", 40);
  // Backend ports; a way's local forwards listen on base + 1 + i, its remote forwards on base + 11 + i.
  private static final int[] BACKEND_PORTS = {5201, 5203, 5204};
  private static final int IPERF = 0;
  private static final int SOCKPERF = 1;
  private static final int CONNECT = 2;
  /** Extra JVM options for the tunnel role, such as SSHD's org.apache.sshd.config.* settings, to try them. */
  private static final String TUNNEL_JVM = System.getProperty("bench.tunnel.jvm", "");
  /** The peers to run (all by default): a comma-separated subset of sshd, chisel, frp, rathole. */
  private static final List<String> PEER_NAMES =
      List.of(System.getProperty("bench.peers", "sshd,chisel,frp,rathole").split(","));
  /**
   * The measurements to run (all by default): a comma-separated subset of stream (1 stream), streams
   * (8 streams), connect, latency, memory; and of the ways: L and R for the -L and -R forwards.
   */
  private static final List<String> ONLY =
      List.of(System.getProperty("bench.only", "stream,streams,connect,latency,memory,L,R").split(","));
  private static final Path PEERS = Path.of(System.getProperty("user.home"), ".cache/portforward-operator/bench");

  /** A tunnel server and its client, and which way (L or R) the forward goes. */
  private record Way(String server, char kind, int base) {
    int port(int what) {
      return base + (kind == 'L' ? 1 : 11) + what;
    }

    @Override
    public String toString() {
      return server + (kind == ' ' ? "" : " -" + kind);
    }
  }

  private static final Way DIRECT = new Way("direct", ' ', 0);

  public static void main(String[] args) throws Exception {
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).strip();
    Path dir = Files.createTempDirectory("tunnel-bench-");
    List<String> leftOut = new ArrayList<>();
    try (NetNs netns = NetNs.create(); Processes processes = new Processes(dir)) {
      String backend = netns.host("backend");
      netns.linkToHost(backend, HOST_END + "/30", BACKEND + "/30");
      String java = ProcessHandle.current().info().command().orElse("java");
      processes.start("iperf3", concat(NetNs.inside(backend), "iperf3", "-s", "-B", BACKEND, "-p", "5201"));
      processes.start("sockperf", concat(NetNs.inside(backend), "sockperf", "server", "--tcp", "-i", BACKEND, "-p", "5203"));
      processes.start("connect", concat(NetNs.inside(backend), java, "-cp", System.getProperty("java.class.path"),
          ConnectRate.class.getName(), "server", "5204"));

      Path key = keygen(dir, "client");
      Path hostKey = keygen(dir, "host");
      String publicKey = Files.readString(Path.of(key + ".pub")).strip();

      Map<String, Process> servers = new LinkedHashMap<>();
      List<Way> ways = new ArrayList<>();
      // The tunnel role, as its pod runs it (default heap; the image's JVM flags are the jar's own).
      List<String> tunnel = new ArrayList<>(List.of(java, "-Dquarkus.http.port=0", "-Dquarkus.http.host=" + LOOPBACK));
      tunnel.addAll(List.of(TUNNEL_JVM.split(" ")).stream().filter(option -> !option.isBlank()).toList());
      tunnel.addAll(List.of("-jar", ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar").toString(),
          "tunnel", "--config", tunnelConfig(dir, hostKey, publicKey, 21000)));
      servers.put("tunnel", processes.start("tunnel", tunnel.toArray(String[]::new)));
      ways.add(new Way("tunnel", 'L', 21000));
      ways.add(new Way("tunnel", 'R', 21000));
      Optional<Path> sshd = Optional.of(Path.of("/usr/sbin/sshd")).filter(Files::isExecutable)
          .filter(path -> PEER_NAMES.contains("sshd"));
      if (sshd.isPresent()) {
        Files.createDirectories(Path.of("/run/sshd"));
        servers.put("sshd", processes.start("sshd", sshd.get().toString(), "-D", "-e", "-f",
            sshdConfig(dir, hostKey, publicKey, 22000)));
        ways.add(new Way("sshd", 'L', 22000));
        ways.add(new Way("sshd", 'R', 22000));
      } else {
        leftOut.add("sshd (not asked for, or not installed: apt-get install openssh-server)");
      }
      Optional<Path> chisel = peer("chisel-v1.10.1", "chisel");
      if (chisel.isPresent()) {
        servers.put("chisel", processes.start("chisel-server", chisel.get().toString(), "server", "--host", LOOPBACK,
            "-p", "23000", "--reverse"));
        ways.add(new Way("chisel", 'L', 23000));
        ways.add(new Way("chisel", 'R', 23000));
      } else {
        leftOut.add("chisel v1.10.1 (not asked for, or not built: bench/tunnel/run.sh builds it)");
      }
      Optional<Path> frps = peer("frp-v0.61.0", "frps");
      if (frps.isPresent()) {
        servers.put("frp", processes.start("frps", frps.get().toString(), "-c", write(dir, "frps.toml",
            "bindAddr = \"%s\"\nbindPort = 24000\nauth.token = \"bench\"\n".formatted(LOOPBACK))));
        ways.add(new Way("frp", 'R', 24000));
      } else {
        leftOut.add("frp v0.61.0 (not asked for, or not built: bench/tunnel/run.sh builds it)");
      }
      Optional<Path> rathole = peer("rathole-0.5.0", "rathole");
      if (rathole.isPresent()) {
        ways.add(new Way("rathole", 'R', 25000));
      } else {
        leftOut.add("rathole 0.5.0 (not asked for, or not built: bench/tunnel/run.sh builds it, see bench/README.md)");
      }
      awaitListening(processes, List.of(21000, 22000, 23000, 24000).stream()
          .filter(port -> ways.stream().anyMatch(w -> w.base() == port)).toList(), BACKEND_PORTS);

      // The clients: one per server, holding every forward of both kinds.
      for (String server : List.of("tunnel", "sshd")) {
        if (servers.containsKey(server)) {
          processes.start(server + "-client", sshClient(key, server.equals("tunnel") ? 21000 : 22000, true));
        }
      }
      chisel.ifPresent(path -> uncheckedStart(processes, "chisel-client", chiselClient(path)));
      frps.ifPresent(path -> uncheckedStart(processes, "frpc", peer("frp-v0.61.0", "frpc").orElseThrow().toString(),
          "-c", uncheckedWrite(dir, "frpc.toml", frpcConfig())));
      if (rathole.isPresent()) {
        startRathole(dir, processes, rathole.get());
      }
      List<Integer> forwardPorts = new ArrayList<>();
      for (Way way : ways) {
        for (int what = 0; what < BACKEND_PORTS.length; what++) {
          forwardPorts.add(way.port(what));
        }
      }
      awaitListening(processes, forwardPorts, new int[0]);

      List<Way> measured = ways.stream().filter(way -> ONLY.contains(String.valueOf(way.kind()))).toList();
      List<Way> all = new ArrayList<>(measured);
      all.add(DIRECT);
      // One unmeasured pass: the JVM's JIT compiles the tunnel's data and connect paths (its rate
      // rose round after round without it), every way connects once.
      for (Way way : all) {
        int seconds = way.server().equals("tunnel") ? 3 * SECONDS : 1;
        iperf(way, 1, seconds);
        if (ONLY.contains("connect")) {
          connectRate(way, seconds);
        }
      }
      Map<Way, List<double[]>> single = runs("stream", "iperf3 -P 1", all, way -> streamWithCpu(way, servers));
      Map<Way, List<double[]>> eight = runs("streams", "iperf3 -P 8", all, way -> new double[] {iperf(way, 8)});
      Map<Way, List<double[]>> connects = runs("connect", "connects/s", all,
          way -> new double[] {connectRate(way, SECONDS)});
      Map<Way, List<double[]>> latency = added(runs("latency", "sockperf", all, TunnelBench::sockperf));
      Map<String, Double> perClient = new LinkedHashMap<>();
      for (String server : List.of("tunnel", "sshd")) {
        if (servers.containsKey(server) && ONLY.contains("memory")) {
          perClient.put(server, perClientKiB(processes, server, servers.get(server), key,
              server.equals("tunnel") ? 21000 : 22000));
        }
      }

      report(measured, single, eight, connects, latency, perClient);
      System.out.printf("cipher %s for the SSH servers; %d rounds of %d s, medians [min-max]%n", CIPHER, ROUNDS, SECONDS);
      if (!leftOut.isEmpty()) {
        System.out.println("left out: " + String.join("; ", leftOut));
      }
      System.out.printf("load average before: %s; after: %s%n", loadBefore,
          Files.readString(Path.of("/proc/loadavg")).strip());
    }
    System.exit(0);
  }

  // ---- the servers and clients

  private static String tunnelConfig(Path dir, Path hostKey, String publicKey, int base) throws IOException {
    StringBuilder forwards = new StringBuilder();
    for (int what = 0; what < BACKEND_PORTS.length; what++) {
      forwards.append(what == 0 ? "" : ", ").append("{name: r").append(what).append(", port: ")
          .append(base + 11 + what).append('}');
    }
    return write(dir, "tunnel.yaml", """
        listen: {address: %s, port: %d}
        hostKeyFile: %s
        remoteForwardAddress: %s
        users:
          - name: bench
            authorizedKeys: ["%s"]
            remoteForwards: [%s]
            allowedDestinations: [%s/32]
            maxChannels: 10000
            maxSessions: 1000
        """.formatted(LOOPBACK, base, hostKey, LOOPBACK, publicKey, forwards, BACKEND));
  }

  private static String sshdConfig(Path dir, Path hostKey, String publicKey, int port) throws IOException {
    Path authorized = Path.of(write(dir, "authorized_keys", publicKey + "\n"));
    return write(dir, "sshd_config", """
        ListenAddress %s
        Port %d
        HostKey %s
        AuthorizedKeysFile %s
        PidFile none
        UsePAM no
        StrictModes no
        PermitRootLogin prohibit-password
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        AllowTcpForwarding yes
        MaxSessions 1000
        MaxStartups 1000
        Ciphers %s
        """.formatted(LOOPBACK, port, hostKey, authorized, CIPHER));
  }

  private static String[] sshClient(Path key, int port, boolean forwards) {
    List<String> command = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-N", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
        "-o", "ExitOnForwardFailure=yes", "-c", CIPHER, "-i", key.toString(), "-p", String.valueOf(port)));
    if (forwards) {
      for (int what = 0; what < BACKEND_PORTS.length; what++) {
        command.addAll(List.of("-L", LOOPBACK + ":" + (port + 1 + what) + ":" + BACKEND + ":" + BACKEND_PORTS[what],
            "-R", LOOPBACK + ":" + (port + 11 + what) + ":" + BACKEND + ":" + BACKEND_PORTS[what]));
      }
    }
    // The tunnel knows user "bench"; sshd runs as root here and lets the key in as root.
    command.add((port == 21000 ? "bench" : "root") + "@" + LOOPBACK);
    return command.toArray(String[]::new);
  }

  private static String[] chiselClient(Path chisel) {
    List<String> command = new ArrayList<>(List.of(chisel.toString(), "client", "http://" + LOOPBACK + ":23000"));
    for (int what = 0; what < BACKEND_PORTS.length; what++) {
      command.add(LOOPBACK + ":" + (23001 + what) + ":" + BACKEND + ":" + BACKEND_PORTS[what]);
      command.add("R:" + LOOPBACK + ":" + (23011 + what) + ":" + BACKEND + ":" + BACKEND_PORTS[what]);
    }
    return command.toArray(String[]::new);
  }

  private static String frpcConfig() {
    StringBuilder toml = new StringBuilder("serverAddr = \"%s\"\nserverPort = 24000\nauth.token = \"bench\"\n"
        .formatted(LOOPBACK));
    for (int what = 0; what < BACKEND_PORTS.length; what++) {
      toml.append("""
          [[proxies]]
          name = "p%d"
          type = "tcp"
          localIP = "%s"
          localPort = %d
          remotePort = %d
          """.formatted(what, BACKEND, BACKEND_PORTS[what], 24011 + what));
    }
    return toml.toString();
  }

  /** rathole with its Noise transport, so that its tunnel is encrypted like the others. */
  private static void startRathole(Path dir, Processes processes, Path rathole) throws Exception {
    String keys = run(rathole.toString(), "--genkey");
    Matcher m = Pattern.compile("Private Key:\\s*(\\S+)\\s+Public Key:\\s*(\\S+)").matcher(keys);
    if (!m.find()) {
      throw new IllegalStateException("rathole --genkey printed no key pair: " + keys);
    }
    StringBuilder server = new StringBuilder("""
        [server]
        bind_addr = "%s:25000"
        [server.transport]
        type = "noise"
        [server.transport.noise]
        local_private_key = "%s"
        """.formatted(LOOPBACK, m.group(1)));
    StringBuilder client = new StringBuilder("""
        [client]
        remote_addr = "%s:25000"
        [client.transport]
        type = "noise"
        [client.transport.noise]
        remote_public_key = "%s"
        """.formatted(LOOPBACK, m.group(2)));
    for (int what = 0; what < BACKEND_PORTS.length; what++) {
      server.append("[server.services.s%d]\ntoken = \"bench\"\nbind_addr = \"%s:%d\"\n"
          .formatted(what, LOOPBACK, 25011 + what));
      client.append("[client.services.s%d]\ntoken = \"bench\"\nlocal_addr = \"%s:%d\"\n"
          .formatted(what, BACKEND, BACKEND_PORTS[what]));
    }
    processes.start("rathole-server", rathole.toString(), "--server", write(dir, "rathole-server.toml", server.toString()));
    processes.start("rathole-client", rathole.toString(), "--client", write(dir, "rathole-client.toml", client.toString()));
  }

  private static Optional<Path> peer(String version, String binary) {
    return Optional.of(PEERS.resolve(version).resolve("bin").resolve(binary)).filter(Files::isExecutable)
        .filter(path -> PEER_NAMES.contains(version.substring(0, version.indexOf('-'))));
  }

  private static Path keygen(Path dir, String name) throws Exception {
    Path key = dir.resolve(name);
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString());
    return key;
  }

  // ---- the measurements

  private interface Measure {
    double[] on(Way way) throws Exception;
  }

  /**
   * Rounds that alternate between the ways, each round starting one further on, so that no way
   * always runs right after the same other one; every way's figures in round order.
   */
  private static Map<Way, List<double[]>> runs(String only, String name, List<Way> ways, Measure measure)
      throws Exception {
    Map<Way, List<double[]>> runs = new LinkedHashMap<>();
    if (!ONLY.contains(only)) {
      return runs;
    }
    for (int round = 0; round < ROUNDS; round++) {
      List<Way> order = new ArrayList<>(ways);
      Collections.rotate(order, -round);
      for (Way way : order) {
        double[] figures = measure.on(way);
        System.err.printf(Locale.ROOT, "  %s via %s: %s%n", name, way, Arrays.toString(figures));
        runs.computeIfAbsent(way, w -> new ArrayList<>()).add(figures);
      }
    }
    return runs;
  }

  /** Each way's round trip minus the direct one of the same round: other load moves both. */
  private static Map<Way, List<double[]>> added(Map<Way, List<double[]>> runs) {
    List<double[]> direct = runs.get(DIRECT);
    if (direct == null) {
      return runs;
    }
    runs.forEach((way, list) -> {
      if (way != DIRECT) {
        for (int round = 0; round < list.size(); round++) {
          for (int i = 0; i < list.get(round).length; i++) {
            list.get(round)[i] -= direct.get(round)[i];
          }
        }
      }
    });
    return runs;
  }

  private static String address(Way way) {
    return way == DIRECT ? BACKEND : LOOPBACK;
  }

  private static int port(Way way, int what) {
    return way == DIRECT ? BACKEND_PORTS[what] : way.port(what);
  }

  private static double iperf(Way way, int streams) throws Exception {
    return iperf(way, streams, SECONDS);
  }

  /**
   * One stream's Gbit/s and the CPU its server spent per GiB carried (all its processes: sshd's
   * per-connection children too). CPU per byte compares across machines and loads where
   * throughput on two shared cores does not: a loaded machine takes cores from whichever server
   * runs more threads.
   */
  private static double[] streamWithCpu(Way way, Map<String, Process> servers) throws Exception {
    Optional<ProcessHandle> server = Optional.ofNullable(servers.get(way.server())).map(Process::toHandle);
    double cpuBefore = server.map(TunnelBench::cpuSeconds).orElse(Double.NaN);
    double gbits = iperf(way, 1);
    double cpu = server.map(TunnelBench::cpuSeconds).orElse(Double.NaN) - cpuBefore;
    double gib = gbits * 1e9 / 8 * SECONDS / (1L << 30);
    return new double[] {gbits, cpu / gib};
  }

  /** User and system CPU seconds of a process and its descendants, from /proc (clock ticks of 1/100 s). */
  private static double cpuSeconds(ProcessHandle root) {
    List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
    all.add(root);
    long ticks = 0;
    for (ProcessHandle p : all) {
      try {
        String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
        // Fields after the command (which may hold spaces): state is the 3rd, utime the 14th, stime the 15th.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
      } catch (IOException gone) {
        // a process that ended meanwhile is not counted
      }
    }
    return ticks / 100.0;
  }

  /**
   * iperf3 throughput in Gbit/s. A test whose control connection broke (iperf3 through chisel
   * now and then) is tried again, twice; then it counts as 0 and says so.
   */
  private static double iperf(Way way, int streams, int seconds) throws Exception {
    String json = "";
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        json = run("iperf3", "-c", address(way), "-p", String.valueOf(port(way, IPERF)), "-t", String.valueOf(seconds),
            "-P", String.valueOf(streams), "-J");
      } catch (IllegalStateException failed) {
        json = failed.getMessage();
        continue;
      }
      Matcher m = Pattern.compile("\"sum_received\":\\s*\\{[^}]*\"bits_per_second\":\\s*([0-9.e+]+)").matcher(json);
      if (m.find()) {
        return Double.parseDouble(m.group(1)) / 1e9;
      }
    }
    System.err.println("no iperf3 result via " + way + " in 3 attempts, counted as 0: " + json);
    return 0;
  }

  /** New connections per second through {@code way}: 4 clients, each connecting, reading a byte, closing. */
  private static double connectRate(Way way, int seconds) throws Exception {
    return ConnectRate.rate(new InetSocketAddress(address(way), port(way, CONNECT)), seconds, 4).perSecond();
  }

  /** sockperf ping-pong round trip, microseconds: p50, p99. */
  private static double[] sockperf(Way way) throws Exception {
    String out = run("sockperf", "ping-pong", "--tcp", "--full-rtt", "-i", address(way),
        "-p", String.valueOf(port(way, SOCKPERF)), "-t", String.valueOf(SECONDS));
    double[] result = new double[2];
    String[] names = {"50.000", "99.000"};
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
   * Memory per connected client: {@link #CLIENTS} more OpenSSH clients log in (no forwards) and
   * the server's proportional set size (PSS, so that pages its processes share count once; sshd
   * forks per connection) grows by this much per client.
   */
  private static double perClientKiB(Processes processes, String server, Process process, Path key, int port)
      throws Exception {
    long before = pssKiB(process.toHandle());
    List<Process> clients = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      clients.add(processes.start(server + "-idle-" + i, sshClient(key, port, false)));
    }
    // Logged in: the server then has an established connection from each.
    Awaitility.await(CLIENTS + " clients of " + server).atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
        .until(() -> established(port) >= CLIENTS + 1);
    Thread.sleep(2000); // let the sessions settle after their key exchange and login
    long after = pssKiB(process.toHandle());
    for (Process client : clients) {
      client.destroy();
    }
    return (after - before) / (double) CLIENTS;
  }

  /** Established connections to {@code port} on loopback, from /proc/net/tcp. */
  private static long established(int port) throws IOException {
    String local = String.format(":%04X ", port);
    List<String> lines = new ArrayList<>(Files.readAllLines(Path.of("/proc/net/tcp")));
    lines.addAll(Files.readAllLines(Path.of("/proc/net/tcp6")));
    return lines.stream()
        .filter(line -> line.contains(local))
        .map(line -> line.trim().split("\\s+"))
        .filter(f -> f[1].endsWith(local.strip()) && f[3].equals("01"))
        .count();
  }

  private static long pssKiB(ProcessHandle root) {
    List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
    all.add(root);
    long total = 0;
    for (ProcessHandle p : all) {
      try {
        total += Files.readAllLines(Path.of("/proc", String.valueOf(p.pid()), "smaps_rollup")).stream()
            .filter(line -> line.startsWith("Pss:"))
            .mapToLong(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
            .sum();
      } catch (IOException gone) {
        // a process that ended meanwhile holds nothing
      }
    }
    return total;
  }

  // ---- the report

  private static void report(List<Way> ways, Map<Way, List<double[]>> single, Map<Way, List<double[]>> eight,
      Map<Way, List<double[]>> connects, Map<Way, List<double[]>> latency, Map<String, Double> perClient) {
    System.out.println();
    System.out.printf("%-14s %22s %22s %22s %22s %22s %22s%n", "way", "Gbit/s, 1 stream", "Gbit/s, 8 streams",
        "connections/s", "added p50 (us)", "added p99 (us)", "server CPU s/GiB");
    List<Way> all = new ArrayList<>(ways);
    all.add(DIRECT);
    for (Way way : all) {
      System.out.printf("%-14s %22s %22s %22s %22s %22s %22s%n", way, cell(single, way, 0, "%.2f"),
          cell(eight, way, 0, "%.2f"), cell(connects, way, 0, "%.0f"),
          way == DIRECT ? "(RTT " + cell(latency, way, 0, "%.1f") + ")" : cell(latency, way, 0, "%.1f"),
          way == DIRECT ? "(RTT " + cell(latency, way, 1, "%.1f") + ")" : cell(latency, way, 1, "%.1f"),
          way == DIRECT ? "-" : cell(single, way, 1, "%.2f"));
    }
    System.out.println();
    for (char kind : new char[] {'L', 'R'}) {
      if (!ONLY.contains(String.valueOf(kind))) {
        continue;
      }
      Way tunnel = new Way("tunnel", kind, 21000);
      for (Way peer : ways) {
        if (peer.kind() != kind || peer.server().equals("tunnel")) {
          continue;
        }
        List<String> ratios = new ArrayList<>();
        ratios.add(ratio(single, tunnel, peer, 0, "1 stream", peer.server().equals("sshd") ? 1.0
            : peer.server().equals("chisel") ? 2.0 : 0, true));
        ratios.add(ratio(single, tunnel, peer, 1, "server CPU per byte", 0, false));
        ratios.add(ratio(eight, tunnel, peer, 0, "8 streams", peer.server().equals("sshd") ? 1.0
            : peer.server().equals("chisel") ? 2.0 : 0, true));
        ratios.add(ratio(connects, tunnel, peer, 0, "connections/s", 0, true));
        ratios.add(ratio(latency, tunnel, peer, 0, "added p50", 0, false));
        ratios.add(ratio(latency, tunnel, peer, 1, "added p99", peer.server().equals("sshd") ? 1.2 : 0, false));
        ratios.removeIf(Objects::isNull);
        System.out.printf("tunnel -%c vs %s: %s%n", kind, peer.server(), String.join(", ", ratios));
      }
    }
    perClient.forEach((server, kib) -> System.out.printf(Locale.ROOT,
        "memory per connected client (PSS, %d clients): %s %.0f KiB%n", CLIENTS, server, kib));
  }

  /** "1.07x [0.95-1.20] 1 stream (goal >= 1.0) ok": medians' ratio, and the range of the rounds' ratios. */
  private static String ratio(Map<Way, List<double[]>> runs, Way tunnel, Way peer, int index, String what, double goal,
      boolean higherIsBetter) {
    if (!runs.containsKey(tunnel) || !runs.containsKey(peer)) {
      return null;
    }
    double median = median(runs.get(tunnel), index) / median(runs.get(peer), index);
    if (Double.isNaN(median)) {
      return null; // a figure the peer does not have (rathole's server is not one process of the bench)
    }
    double min = Double.MAX_VALUE;
    double max = -Double.MAX_VALUE;
    for (int round = 0; round < runs.get(tunnel).size(); round++) {
      double r = runs.get(tunnel).get(round)[index] / runs.get(peer).get(round)[index];
      min = Math.min(min, r);
      max = Math.max(max, r);
    }
    String text = String.format(Locale.ROOT, "%s %.2fx [%.2f-%.2f]", what, median, min, max);
    if (goal > 0) {
      boolean met = higherIsBetter ? median >= goal : median <= goal;
      text += String.format(Locale.ROOT, " (goal %s %.1f) %s", higherIsBetter ? ">=" : "<=", goal, met ? "ok" : "MISSED");
    }
    return text;
  }

  private static String cell(Map<Way, List<double[]>> runs, Way way, int index, String format) {
    List<double[]> list = runs.get(way);
    if (list == null) {
      return "-";
    }
    double[] sorted = list.stream().mapToDouble(r -> r[index]).sorted().toArray();
    return String.format(Locale.ROOT, format + " [" + format + "-" + format + "]", median(list, index), sorted[0],
        sorted[sorted.length - 1]);
  }

  private static double median(List<double[]> list, int index) {
    double[] sorted = list.stream().mapToDouble(r -> r[index]).sorted().toArray();
    return sorted[sorted.length / 2];
  }

  // ---- helpers

  /**
   * Whether every port has a listening socket, read from the kernel's tables: no server is asked
   * anything (iperf3 serves one client at a time, and a probe connection confuses its next test).
   * The backends' ports are looked up in their namespace's table, through one of their processes.
   */
  private static void awaitListening(Processes processes, List<Integer> loopbackPorts, int[] backendPorts) {
    Awaitility.await("every server and forward listening (logs: " + processes.dir + ")")
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(250))
        .failFast("a process exited; logs: " + processes.dir, processes::anyDied)
        .until(() -> listening(Path.of("/proc/net"), loopbackPorts)
            && listening(Path.of("/proc", String.valueOf(processes.started.get(0).pid()), "net"),
                Arrays.stream(backendPorts).boxed().toList()));
  }

  private static boolean listening(Path table, List<Integer> ports) throws IOException {
    List<String> lines = new ArrayList<>(Files.readAllLines(table.resolve("tcp")));
    lines.addAll(Files.readAllLines(table.resolve("tcp6")));
    return ports.stream().allMatch(port -> lines.stream().map(line -> line.trim().split("\\s+"))
        .anyMatch(f -> f[1].endsWith(String.format(":%04X", port)) && f[3].equals("0A")));
  }

  private static String[] concat(List<String> prefix, String... command) {
    List<String> all = new ArrayList<>(prefix);
    all.addAll(List.of(command));
    return all.toArray(String[]::new);
  }

  private static String write(Path dir, String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content).toString();
  }

  private static String uncheckedWrite(Path dir, String name, String content) {
    try {
      return write(dir, name, content);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void uncheckedStart(Processes processes, String name, String... command) {
    try {
      processes.start(name, command);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
    }
    return out;
  }

  /** The servers and clients, each logging to its own file; stopped with their children at the end. */
  private static final class Processes implements AutoCloseable {
    final Path dir;
    final List<Process> started = new ArrayList<>();

    Processes(Path dir) {
      this.dir = dir;
      Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
    }

    synchronized Process start(String name, String... command) throws IOException {
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(dir.resolve(name + ".log").toFile()).start();
      started.add(p);
      return p;
    }

    synchronized boolean anyDied() {
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

  private TunnelBench() {}
}
