package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.RoleProcess;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged relay role as its own process: config file reloads, SIGTERM, bad config. */
class RelayProcessIT {

  /** 128 + 15: the JVM's status after a shutdown that SIGTERM started. */
  private static final int SIGTERM_EXIT = 143;

  @TempDir Path directory;
  private final Backends backends = new Backends();
  private RoleProcess relay;

  @AfterEach
  void close() throws Exception {
    if (relay != null) {
      relay.close();
    }
    backends.close();
  }

  private Path config(String drainTimeout, int... listenAndTarget) throws IOException {
    StringBuilder yaml = new StringBuilder("drainTimeout: " + drainTimeout + "\nforwards:\n");
    for (int i = 0; i < listenAndTarget.length; i += 2) {
      yaml.append("""
            - name: fw-%d
              listen: {address: 127.0.0.1, port: %d}
              target: {host: 127.0.0.1, port: %d}
          """.formatted(i / 2, listenAndTarget[i], listenAndTarget[i + 1]));
    }
    return write(yaml.toString());
  }

  /** Replaces the file the way a ConfigMap mount does: the new content appears whole. */
  private Path write(String yaml) throws IOException {
    Path next = directory.resolve("relay.yaml.next");
    Files.writeString(next, yaml);
    return Files.move(next, directory.resolve("relay.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private RoleProcess start(Path config) throws IOException {
    relay = RoleProcess.relay(directory, Map.of(
        "portforward.relay.config-file", config.toString(),
        "portforward.relay.config-check-interval", "100ms"));
    return relay.start();
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(10_000);
    return socket;
  }

  private static String greeting(int port) throws IOException {
    try (Socket socket = connect(port)) {
      return new String(socket.getInputStream().readNBytes(3));
    }
  }

  private static void assertEchoes(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes());
    assertThat(new String(socket.getInputStream().readNBytes(text.length()))).isEqualTo(text);
  }

  /**
   * A SOCKS5 relay's users come from a mounted Secret; rotating it (the kubelet swaps the
   * directory's ..data link) is picked up in place: the revoked password stops working, the new
   * one works.
   */
  @Test
  void aRotatedSocks5UsersSecretIsPickedUp() throws Exception {
    Path users = Files.createDirectory(directory.resolve("users"));
    mountSecret(users, "v1", "secret-1");
    Files.createSymbolicLink(users.resolve("alice"), Path.of("..data/alice"));
    int port = RelayFixture.freePort();
    start(write("""
        forwards:
          - name: socks
            protocol: SOCKS5
            listen: {address: 127.0.0.1, port: %d}
            socks5: {allowedDestinations: [198.18.0.0/15], usersDirectory: %s}
        """.formatted(port, users)));
    assertThat(login(port, "alice", "secret-1")).isEqualTo("0100");

    mountSecret(users, "v2", "secret-2");

    await().atMost(java.time.Duration.ofSeconds(30)).until(() -> login(port, "alice", "secret-1"), "01ff"::equals);
    assertThat(login(port, "alice", "secret-2")).isEqualTo("0100");
  }

  /** Writes alice's password as the kubelet writes a Secret volume: a new directory, then ..data switched to it. */
  private static void mountSecret(Path users, String version, String password) throws IOException {
    Path data = Files.createDirectory(users.resolve(".." + version));
    Files.writeString(data.resolve("alice"), password);
    Path link = users.resolve("..data_tmp");
    Files.createSymbolicLink(link, Path.of(".." + version));
    Files.move(link, users.resolve("..data"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** A SOCKS5 greeting and username/password login; returns the login reply in hex (0100 accepted). */
  private static String login(int port, String user, String password) throws IOException {
    try (Socket socket = connect(port)) {
      socket.getOutputStream().write(new byte[] {5, 1, 2});
      assertThat(java.util.HexFormat.of().formatHex(socket.getInputStream().readNBytes(2))).isEqualTo("0502");
      java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
      request.write(1);
      request.write(user.length());
      request.writeBytes(user.getBytes());
      request.write(password.length());
      request.writeBytes(password.getBytes());
      socket.getOutputStream().write(request.toByteArray());
      return java.util.HexFormat.of().formatHex(socket.getInputStream().readNBytes(2));
    }
  }

  @Test
  void reloadsAChangedFileAndKeepsTheLastGoodConfigOnABadOne() throws Exception {
    int first = RelayFixture.freePort();
    int second = RelayFixture.freePort();
    int one = backends.tcpNamed("one");
    start(config("30s", first, one));
    assertThat(greeting(first)).isEqualTo("one");

    write("forwards:\n  - {name: broken, listen: {port: 0}, target: {host: x, port: 1}}\n");
    await().untilAsserted(() -> assertThat(relay.get("/q/metrics").body())
        .contains("portforward_relay_config_reloads_total{result=\"rejected\"} 1.0"));
    // Polled ten times more (every 100 ms), the same bad file is neither counted nor logged again.
    await().during(java.time.Duration.ofSeconds(1)).atMost(java.time.Duration.ofSeconds(5)).until(
        () -> relay.get("/q/metrics").body(), m -> m.contains("portforward_relay_config_reloads_total{result=\"rejected\"} 1.0"));
    assertThat(Files.readString(relay.log()).split("forwards\\[0]\\.listen\\.port: must be 1-65535, got 0", -1))
        .as("the problem is logged once").hasSize(2);
    assertThat(greeting(first)).as("the last good config stays in force").isEqualTo("one");

    config("30s", first, one, second, backends.tcpNamed("two"));
    await().ignoreExceptions().until(() -> greeting(second).equals("two"));
    assertThat(relay.get("/q/metrics").body())
        .contains("portforward_relay_config_reloads_total{result=\"applied\"} 1.0")
        .containsPattern("portforward_relay_connections_total\\{forward=\"fw-0\",protocol=\"TCP\"} [1-9]");
    assertThat(relay.get("/q/health/ready").statusCode()).isEqualTo(200);
  }

  /** As a sidecar runs: a projected volume where each PortForward's file comes and goes. */
  @Test
  void aConfigDirectoryGainsAndLosesForwardsWithItsFiles() throws Exception {
    Path mount = Files.createDirectory(directory.resolve("relay.d"));
    int web = RelayFixture.freePort();
    int admin = RelayFixture.freePort();
    Files.writeString(mount.resolve("web.yaml"), """
        forwards: [{name: web, listen: {port: %d}, target: {host: 127.0.0.1, port: %d}}]
        """.formatted(web, backends.tcpNamed("web")));
    relay = RoleProcess.relay(directory, Map.of(
        "portforward.relay.config-file", mount.toString(),
        "portforward.relay.default-listen-address", "127.0.0.1",
        "portforward.relay.config-check-interval", "100ms"));
    relay.start();
    assertThat(greeting(web)).isEqualTo("web");

    Path next = directory.resolve("admin.yaml.next");
    Files.writeString(next, """
        forwards: [{name: admin, listen: {port: %d}, target: {host: 127.0.0.1, port: %d}}]
        """.formatted(admin, backends.tcpNamed("adm")));
    Files.move(next, mount.resolve("admin.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    await().ignoreExceptions().until(() -> greeting(admin).equals("adm"));

    Files.delete(mount.resolve("web.yaml"));
    await().untilAsserted(() ->
        assertThatThrownBy(() -> connect(web).close()).isInstanceOf(ConnectException.class));
    assertThat(greeting(admin)).isEqualTo("adm");
    try (Socket wildcardOnly = new Socket()) {
      assertThatThrownBy(() -> wildcardOnly.connect(new java.net.InetSocketAddress("127.0.0.2", admin), 10_000))
          .as("bound to the default listen address only").isInstanceOf(ConnectException.class);
    }
  }

  @Test
  void sigtermStopsAcceptingAndLetsConnectionsFinish() throws Exception {
    int port = RelayFixture.freePort();
    start(config("5m", port, backends.tcpEcho()));
    try (Socket established = connect(port)) {
      assertEchoes(established, "before");
      relay.terminate();
      await().untilAsserted(() ->
          assertThatThrownBy(() -> connect(port).close()).isInstanceOf(ConnectException.class));
      assertEchoes(established, "while draining");
      assertThat(relay.isAlive()).isTrue();
    }
    assertThat(relay.exitCode()).as("ended by SIGTERM").isEqualTo(SIGTERM_EXIT);
  }

  @Test
  void sigtermClosesWhatIsLeftAtTheDrainDeadline() throws Exception {
    int port = RelayFixture.freePort();
    start(config("300ms", port, backends.tcpEcho()));
    try (Socket established = connect(port)) {
      assertEchoes(established, "before");
      relay.terminate();
      assertThat(established.getInputStream().read()).as("closed at the deadline").isEqualTo(-1);
    }
    assertThat(relay.exitCode()).as("ended by SIGTERM").isEqualTo(SIGTERM_EXIT);
    assertThat(Files.readString(relay.log())).contains("closing 1 connections left after the drain");
  }

  @Test
  void anInvalidConfigAtStartIsRefusedNamingTheField() throws Exception {
    Path config = write("forwards:\n  - {name: web, listen: {port: 8080}, target: {host: x, port: 80}, maxConnections: 0}\n");
    relay = RoleProcess.relay(directory, Map.of("portforward.relay.config-file", config.toString()));
    assertThat(relay.runToCompletion()).isEqualTo(2);
    assertThat(Files.readString(relay.log())).contains("forwards[0].maxConnections: must be 1-1000000, got 0");
  }

  @Test
  void aForwardThatCannotBindAtStartEndsTheProcessWithExitCode1() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path config = config("30s", RelayFixture.freePort(), backends.tcpEcho(), taken.getLocalPort(), backends.tcpEcho());
      relay = RoleProcess.relay(directory, Map.of("portforward.relay.config-file", config.toString()));
      assertThat(relay.runToCompletion()).isEqualTo(1);
      assertThat(Files.readString(relay.log())).contains("forward fw-1: cannot listen on");
    }
  }
}
