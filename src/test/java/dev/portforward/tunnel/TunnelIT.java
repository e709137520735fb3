package dev.portforward.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.tunnel.TunnelServer.ClientView;
import dev.portforward.tunnel.config.TunnelConfig;
import dev.portforward.tunnel.config.TunnelConfigParser;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tunnel server (in this JVM) against the real OpenSSH client, in network namespaces:
 *
 * <pre>
 *   laptop  10.77.141.2 --- 10.77.141.1  (test ns: tunnel SSH port)
 *   laptop2 10.77.144.2 --- 10.77.144.1
 *   client  10.77.142.2 --- 10.77.142.1  (test ns: -R ports bound here)
 *   backend 10.77.143.2, .3 -- 10.77.143.1
 * </pre>
 *
 * The laptops run an HTTP server on their own loopback and the ssh client; the client namespace
 * reaches a laptop's server through the tunnel's bound port; the backend serves -L and -D.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TunnelIT {

  private static final String SSH_ADDRESS = "10.77.141.1";
  private static final String BOUND_ADDRESS = "10.77.142.1";
  private static final String BACKEND = "10.77.143.2";
  private static final String DENIED_BACKEND = "10.77.143.3";
  private static final int HTTP_PORT = 8000;
  private static final int LAPTOP_APP_PORT = 3000;

  private Path dir;
  private NetNs netns;
  private String laptop;
  private String laptop2;
  private String client;
  private Path hostKey;
  private Path knownHosts;
  private Path aliceKey;
  private String alicePublic;
  private Path userCa;
  private final List<TunnelServer> servers = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private SimpleMeterRegistry metrics;

  @BeforeAll
  void network(@TempDir Path dir) throws Exception {
    this.dir = dir;
    netns = NetNs.create();
    laptop = netns.host("laptop");
    laptop2 = netns.host("laptop2");
    client = netns.host("client");
    String backend = netns.host("backend");
    netns.linkToHost(laptop, SSH_ADDRESS + "/30", "10.77.141.2/30");
    netns.linkToHost(laptop2, "10.77.144.1/30", "10.77.144.2/30");
    netns.exec(laptop2, "ip", "route", "add", "default", "via", "10.77.144.1");
    netns.linkToHost(client, BOUND_ADDRESS + "/30", "10.77.142.2/30");
    netns.linkToHost(backend, "10.77.143.1/24", BACKEND + "/24");
    netns.exec(backend, "ip", "addr", "add", DENIED_BACKEND + "/24", "dev", "n" + Integer.toHexString(backend.hashCode() & 0xfffffff));
    // The test namespace routes between the laptops and the SSH address (laptop2 reaches it via its own link).
    httpServer(laptop, "127.0.0.1", LAPTOP_APP_PORT, "served by the laptop");
    httpServer(laptop2, "127.0.0.1", LAPTOP_APP_PORT, "served by laptop2");
    httpServer(backend, "0.0.0.0", HTTP_PORT, "served by the backend");
    hostKey = keygen("host_key");
    knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "tunnel " + Files.readString(Path.of(hostKey + ".pub")));
    aliceKey = keygen("alice");
    userCa = keygen("user_ca");
    alicePublic = Files.readString(Path.of(aliceKey + ".pub")).strip();
    await("backend HTTP server").atMost(Duration.ofSeconds(30)).until(() -> run(List.of("curl", "-s", "-m", "2",
        "http://" + BACKEND + ":" + HTTP_PORT + "/")).output().contains("served by the backend"));
  }

  @AfterEach
  void stop() {
    processes.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
    processes.forEach(Process::destroyForcibly);
    processes.clear();
    servers.forEach(TunnelServer::close);
    servers.clear();
    netns.run("ip", "-n", laptop, "link", "set", laptopLink(), "up");
  }

  @AfterAll
  void close() {
    if (netns != null) {
      netns.close();
    }
  }

  private String laptopLink() {
    return "n" + Integer.toHexString(laptop.hashCode() & 0xfffffff);
  }

  private void httpServer(String ns, String address, int port, String body) throws IOException {
    Path root = Files.createDirectories(dir.resolve("www-" + ns));
    Files.writeString(root.resolve("index.html"), body + "\n");
    netns.spawn(ns, "/usr/bin/python3", "-m", "http.server", "--bind", address, "--directory", root.toString(),
        String.valueOf(port));
  }

  private Path keygen(String name) {
    Path key = dir.resolve(name);
    netns.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString());
    return key;
  }

  /** A tunnel server for alice, whose -R may bind {@code remotePort}; its keepalive as given. */
  private TunnelServer server(int sshPort, int remotePort, String keepalive) throws Exception {
    metrics = new SimpleMeterRegistry();
    TunnelServer server = new TunnelServer(config(sshPort, "[{name: web, port: " + remotePort + "}]", keepalive), metrics);
    servers.add(server);
    server.start();
    return server;
  }

  private TunnelConfig config(int sshPort, String remoteForwards, String keepalive) throws Exception {
    return TunnelConfigParser.parse("""
        listen: {address: %s, port: %d}
        hostKeyFile: %s
        remoteForwardAddress: %s
        keepalive: %s
        deniedDestinations: [%s]
        userCertificateAuthorities: ["%s"]
        users:
          - name: alice
            authorizedKeys: ["%s"]
            remoteForwards: %s
            allowedDestinations: [10.77.143.0/24]
        """.formatted(SSH_ADDRESS, sshPort, hostKey, BOUND_ADDRESS, keepalive, DENIED_BACKEND,
        Files.readString(Path.of(userCa + ".pub")).strip(), alicePublic, remoteForwards));
  }

  /** The ssh command line for alice, with the server's host key pinned and nothing interactive. */
  private List<String> ssh(int sshPort, Path key, String... args) {
    List<String> command = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "HostKeyAlias=tunnel",
        "-o", "IdentitiesOnly=yes", "-i", key.toString(), "-p", String.valueOf(sshPort)));
    command.addAll(List.of(args));
    command.add("alice@" + SSH_ADDRESS);
    return command;
  }

  private Process spawn(String ns, List<String> command) throws IOException {
    List<String> full = new ArrayList<>(NetNs.inside(ns));
    full.addAll(command);
    Process process = new ProcessBuilder(full).redirectErrorStream(true)
        .redirectOutput(dir.resolve("ssh-" + processes.size() + ".log").toFile()).start();
    processes.add(process);
    return process;
  }

  record Result(int exit, String output) {}

  private static Result run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
    return new Result(process.exitValue(), output);
  }

  private static Result in(String ns, String... command) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>(NetNs.inside(ns));
    full.addAll(List.of(command));
    return run(full);
  }

  private Result curl(String ns, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "-m", "5"));
    command.addAll(List.of(args));
    return in(ns, command.toArray(String[]::new));
  }

  private double refused(String reason) {
    return metrics.find("portforward.tunnel.refused").tag("reason", reason).counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  /** A tunnel server with {@code keepalive}, and the laptop's app forwarded to {@code remotePort} with -R, bound. */
  private TunnelServer remoteForwarded(int sshPort, int remotePort, String keepalive) throws Exception {
    TunnelServer server = server(sshPort, remotePort, keepalive);
    spawn(laptop, ssh(sshPort, aliceKey, "-N", "-o", "ExitOnForwardFailure=yes",
        "-R", remotePort + ":localhost:" + LAPTOP_APP_PORT));
    await().atMost(Duration.ofSeconds(60)).until(() -> boundPorts(server).contains(remotePort));
    return server;
  }

  private static List<Integer> boundPorts(TunnelServer server) {
    return server.clients().stream().flatMap(c -> c.boundPorts().stream()).toList();
  }

  @Test
  void remoteForwardExposesTheLaptopsServerToAnotherNamespace() throws Exception {
    int sshPort = ControlPlane.freePort();
    int remotePort = ControlPlane.freePort();
    TunnelServer server = remoteForwarded(sshPort, remotePort, "{interval: 10s, timeout: 30s}");
    Result result = curl(client, "http://" + BOUND_ADDRESS + ":" + remotePort + "/");
    assertThat(result.output()).contains("served by the laptop");
    ClientView alice = server.clients().get(0);
    assertThat(alice.user()).isEqualTo("alice");
    assertThat(alice.fingerprint()).startsWith("SHA256:");
    assertThat(alice.source()).contains("10.77.141.2");
  }

  @Test
  void remoteForwardOfAPortTheUserDoesNotOwnIsRefused() throws Exception {
    int sshPort = ControlPlane.freePort();
    TunnelServer server = server(sshPort, ControlPlane.freePort(), "{interval: 10s, timeout: 30s}");
    int otherPort = ControlPlane.freePort();
    Result result = in(laptop, ssh(sshPort, aliceKey, "-N", "-o", "ExitOnForwardFailure=yes",
        "-R", otherPort + ":localhost:" + LAPTOP_APP_PORT).toArray(String[]::new));
    assertThat(result.exit()).isNotZero();
    assertThat(result.output()).contains("remote port forwarding failed for listen port " + otherPort);
    assertThat(refused("listen")).isEqualTo(1);
    assertThat(boundPorts(server)).isEmpty();
  }

  @Test
  void localForwardReachesAnAllowedBackendAndIsRefusedDeniedOnes() throws Exception {
    int sshPort = ControlPlane.freePort();
    server(sshPort, ControlPlane.freePort(), "{interval: 10s, timeout: 30s}");
    spawn(laptop, ssh(sshPort, aliceKey, "-N", "-o", "ExitOnForwardFailure=yes",
        "-L", "127.0.0.1:9001:" + BACKEND + ":" + HTTP_PORT,
        "-L", "127.0.0.1:9002:" + DENIED_BACKEND + ":" + HTTP_PORT,
        "-L", "127.0.0.1:9003:127.0.0.1:" + LAPTOP_APP_PORT,
        "-L", "127.0.0.1:9004:10.77.142.2:" + HTTP_PORT));
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> curl(laptop, "http://127.0.0.1:9001/").output().contains("served by the backend"));
    assertThat(curl(laptop, "http://127.0.0.1:9002/").exit()).as("in deniedDestinations").isNotZero();
    assertThat(curl(laptop, "http://127.0.0.1:9003/").exit()).as("loopback, always denied").isNotZero();
    assertThat(curl(laptop, "http://127.0.0.1:9004/").exit()).as("outside allowedDestinations").isNotZero();
    assertThat(refused("destination")).isEqualTo(3);
  }

  @Test
  void closingLocalForwardChannelsStartsNoThreads() throws Exception {
    int sshPort = ControlPlane.freePort();
    int localPort = ControlPlane.freePort();
    server(sshPort, ControlPlane.freePort(), "{interval: 10s, timeout: 30s}");
    spawn(laptop, ssh(sshPort, aliceKey, "-N", "-o", "ExitOnForwardFailure=yes",
        "-L", "127.0.0.1:" + localPort + ":" + BACKEND + ":" + HTTP_PORT));
    String url = "http://127.0.0.1:" + localPort + "/";
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> curl(laptop, url).output().contains("served by the backend"));
    // One curl, 200 URLs: the backend (HTTP/1.0) closes each connection, so each is its own channel.
    long startedBefore = ManagementFactory.getThreadMXBean().getTotalStartedThreadCount();
    Result many = in(laptop, "curl", "-sS", "-m", "120", url + "?[1-200]");
    long started = ManagementFactory.getThreadMXBean().getTotalStartedThreadCount() - startedBefore;
    assertThat(many.output().split("served by the backend", -1)).hasSize(201);
    // SSHD's TcpipServerChannel closed each channel's connector on a new cached thread pool
    // ("TcpIpServerChannel-ConnectorCleanup"): about three threads started per closed channel.
    assertThat(started).as("threads started for 200 channels").isLessThan(50);
  }

  /** The -R side: each connection to the bound port is a forwarded-tcpip channel the server opens. */
  @Test
  void closingRemoteForwardChannelsStartsNoThreads() throws Exception {
    int sshPort = ControlPlane.freePort();
    int remotePort = ControlPlane.freePort();
    TunnelServer server = remoteForwarded(sshPort, remotePort, "{interval: 10s, timeout: 30s}");
    String url = "http://" + BOUND_ADDRESS + ":" + remotePort + "/";
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> curl(client, url).output().contains("served by the laptop"));
    long startedBefore = ManagementFactory.getThreadMXBean().getTotalStartedThreadCount();
    Result many = in(client, "curl", "-sS", "-m", "120", url + "?[1-200]");
    long started = ManagementFactory.getThreadMXBean().getTotalStartedThreadCount() - startedBefore;
    assertThat(many.output().split("served by the laptop", -1)).hasSize(201);
    assertThat(started).as("threads started for 200 channels").isLessThan(50);
  }

  @Test
  void dynamicForwardServesSocksWithNamesResolvedByTheServer() throws Exception {
    int sshPort = ControlPlane.freePort();
    server(sshPort, ControlPlane.freePort(), "{interval: 10s, timeout: 30s}");
    spawn(laptop, ssh(sshPort, aliceKey, "-N", "-o", "ExitOnForwardFailure=yes", "-D", "127.0.0.1:1080"));
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> curl(laptop,
        "--socks5-hostname", "127.0.0.1:1080", "http://" + BACKEND + ":" + HTTP_PORT + "/").output()
        .contains("served by the backend"));
    // The name is sent to the server, which resolves it to 127.0.0.1: loopback is always denied.
    Result byName = curl(laptop, "--socks5-hostname", "127.0.0.1:1080", "http://localhost:" + LAPTOP_APP_PORT + "/");
    assertThat(byName.exit()).isNotZero();
    assertThat(refused("destination")).isEqualTo(1);
  }

  @Test
  void anUnknownKeyIsRefused() throws Exception {
    int sshPort = ControlPlane.freePort();
    server(sshPort, ControlPlane.freePort(), "{interval: 10s, timeout: 30s}");
    Path mallory = keygen("mallory-" + sshPort);
    Result result = in(laptop, ssh(sshPort, mallory, "-N").toArray(String[]::new));
    assertThat(result.exit()).isEqualTo(255);
    assertThat(result.output()).contains("Permission denied (publickey)");
    assertThat(refused("auth")).isPositive();
  }

  /** Signs a copy of {@code key}'s public key with {@code ca} for {@code principal}; returns the certificate. */
  private Path certificate(Path key, Path ca, String principal) throws IOException {
    Path copy = dir.resolve(key.getFileName() + "-" + ca.getFileName() + "-" + principal + ".pub");
    Files.copy(Path.of(key + ".pub"), copy);
    netns.run("ssh-keygen", "-q", "-s", ca.toString(), "-I", "test-" + principal, "-n", principal, "-V", "+1h", copy.toString());
    return Path.of(copy.toString().replace(".pub", "-cert.pub"));
  }

  @Test
  void aUserCertificateOfTheTrustedCaLogsInAsTheUserItNames() throws Exception {
    int sshPort = ControlPlane.freePort();
    TunnelServer server = server(sshPort, ControlPlane.freePort(), "{interval: 10s, timeout: 30s}");
    // A key listed nowhere: only its certificate can let it in.
    Path carol = keygen("carol-" + sshPort);
    Path otherCa = keygen("other_ca-" + sshPort);
    String backend = "http://127.0.0.1:9005/";

    spawn(laptop, ssh(sshPort, carol, "-o", "CertificateFile=" + certificate(carol, userCa, "alice"),
        "-N", "-o", "ExitOnForwardFailure=yes", "-L", "127.0.0.1:9005:" + BACKEND + ":" + HTTP_PORT));
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> curl(laptop, backend).output().contains("served by the backend"));
    assertThat(server.clients()).singleElement().satisfies(c -> assertThat(c.user()).isEqualTo("alice"));

    Result forBob = in(laptop, ssh(sshPort, carol, "-o", "CertificateFile=" + certificate(carol, userCa, "bob"), "-N")
        .toArray(String[]::new));
    Result untrusted = in(laptop, ssh(sshPort, carol, "-o", "CertificateFile=" + certificate(carol, otherCa, "alice"), "-N")
        .toArray(String[]::new));
    assertThat(forBob.output()).contains("Permission denied (publickey)");
    assertThat(untrusted.output()).contains("Permission denied (publickey)");
    assertThat(refused("auth")).isPositive();
  }

  @Test
  void aCommandIsRefusedAndNothingRuns() throws Exception {
    int sshPort = ControlPlane.freePort();
    server(sshPort, ControlPlane.freePort(), "{interval: 10s, timeout: 30s}");
    Path marker = dir.resolve("ran-" + sshPort);
    List<String> command = ssh(sshPort, aliceKey);
    command.add("touch " + marker);
    Result exec = in(laptop, command.toArray(String[]::new));
    assertThat(exec.exit()).isEqualTo(255);
    assertThat(exec.output()).contains("open failed");
    assertThat(marker).doesNotExist();
    List<String> shell = ssh(sshPort, aliceKey, "-T");
    assertThat(in(laptop, shell.toArray(String[]::new)).exit()).isEqualTo(255);
    assertThat(refused("session")).isEqualTo(2);
  }

  @Test
  void aNarrowedConfigClosesTheSessionThatHoldsAPortNoLongerAllowed() throws Exception {
    int sshPort = ControlPlane.freePort();
    int remotePort = ControlPlane.freePort();
    TunnelServer server = remoteForwarded(sshPort, remotePort, "{interval: 10s, timeout: 30s}");

    server.apply(config(sshPort, "[]", "{interval: 10s, timeout: 30s}"));

    await().atMost(Duration.ofSeconds(60)).until(() -> server.clients().isEmpty());
    assertThat(curl(client, "http://" + BOUND_ADDRESS + ":" + remotePort + "/").exit())
        .as("connection refused: the port was released").isEqualTo(7);
  }

  @Test
  void aClientThatVanishesIsNoticedAndItsPortReleased() throws Exception {
    int sshPort = ControlPlane.freePort();
    int remotePort = ControlPlane.freePort();
    TunnelServer server = remoteForwarded(sshPort, remotePort, "{interval: 1s, timeout: 4s}");
    // Cut the laptop's link: no FIN, no RST, the server's TCP connection looks alive.
    netns.run("ip", "-n", laptop, "link", "set", laptopLink(), "down");
    await().atMost(Duration.ofSeconds(60)).until(() -> server.clients().isEmpty());
    Result afterwards = curl(client, "http://" + BOUND_ADDRESS + ":" + remotePort + "/");
    assertThat(afterwards.exit()).as("connection refused: nothing listens any more").isEqualTo(7);
    assertThat(metrics.find("portforward.tunnel.keepalive.timeouts").counter().count()).isEqualTo(1);
  }

  @Test
  void theSameUserReconnectingTakesItsPortOverFromASessionNotYetNoticedDead() throws Exception {
    int sshPort = ControlPlane.freePort();
    int remotePort = ControlPlane.freePort();
    // Keepalives far longer than the wait below: only the take-over can free the port in time.
    TunnelServer server = remoteForwarded(sshPort, remotePort, "{interval: 5m, timeout: 10m}");
    netns.run("ip", "-n", laptop, "link", "set", laptopLink(), "down");
    // The same key from another network, as a laptop that moved from Wi-Fi to a phone.
    spawn(laptop2, ssh(sshPort, aliceKey, "-N", "-o", "ExitOnForwardFailure=yes",
        "-R", remotePort + ":localhost:" + LAPTOP_APP_PORT));
    await().atMost(Duration.ofSeconds(60)).until(() -> curl(client,
        "http://" + BOUND_ADDRESS + ":" + remotePort + "/").output().contains("served by laptop2"));
    assertThat(server.clients()).singleElement().satisfies(c -> assertThat(c.source()).contains("10.77.144.2"));
  }

  @Test
  void aReconnectingClientGetsItsPortBackAfterAServerRestart() throws Exception {
    int sshPort = ControlPlane.freePort();
    int remotePort = ControlPlane.freePort();
    TunnelServer first = server(sshPort, remotePort, "{interval: 10s, timeout: 30s}");
    // What docs/tunnel.md recommends for unattended clients: reconnect in a loop, fail fast.
    List<String> once = ssh(sshPort, aliceKey, "-N", "-o", "ExitOnForwardFailure=yes",
        "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
        "-R", remotePort + ":localhost:" + LAPTOP_APP_PORT);
    spawn(laptop, List.of("bash", "-c", "while true; do " + String.join(" ", once) + "; sleep 0.5; done"));
    String url = "http://" + BOUND_ADDRESS + ":" + remotePort + "/";
    await().atMost(Duration.ofSeconds(60)).until(() -> curl(client, url).output().contains("served by the laptop"));
    first.close();
    assertThat(curl(client, url).exit()).as("down with the server").isNotZero();
    TunnelServer second = server(sshPort, remotePort, "{interval: 10s, timeout: 30s}");
    await().atMost(Duration.ofSeconds(60)).until(() -> curl(client, url).output().contains("served by the laptop"));
    assertThat(boundPorts(second)).containsExactly(remotePort);
  }
}
