package dev.portforward.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.RoleProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar's {@code tunnel} role as its own process, as a pod runs it: the config file is
 * reloaded while it runs, refusals show on the metrics endpoint, connected clients on
 * {@code /tunnel/clients}, and a bad config ends it with exit code 2.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TunnelProcessIT {

  private static final String SSH_ADDRESS = "10.77.151.1";
  private static final String BOUND_ADDRESS = "10.77.152.1";
  private static final int LAPTOP_APP_PORT = 3000;

  private Path dir;
  private NetNs netns;
  private String laptop;
  private String client;
  private Path hostKey;
  private Path aliceKey;
  private Path knownHosts;

  @BeforeAll
  void network(@TempDir Path dir) throws Exception {
    this.dir = dir;
    netns = NetNs.create();
    laptop = netns.host("laptop");
    client = netns.host("client");
    netns.linkToHost(laptop, SSH_ADDRESS + "/30", "10.77.151.2/30");
    netns.linkToHost(client, BOUND_ADDRESS + "/30", "10.77.152.2/30");
    Path root = Files.createDirectories(dir.resolve("www"));
    Files.writeString(root.resolve("index.html"), "served by the laptop\n");
    netns.spawn(laptop, "/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root.toString(),
        String.valueOf(LAPTOP_APP_PORT));
    hostKey = keygen("host_key");
    aliceKey = keygen("alice");
    knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "tunnel " + Files.readString(Path.of(hostKey + ".pub")));
  }

  @AfterAll
  void close() {
    if (netns != null) {
      netns.close();
    }
  }

  private Path keygen(String name) {
    Path key = dir.resolve(name);
    netns.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString());
    return key;
  }

  private String config(int sshPort, int... remotePorts) throws IOException {
    StringBuilder forwards = new StringBuilder();
    for (int port : remotePorts) {
      forwards.append(forwards.isEmpty() ? "" : ", ").append("{name: web-").append(port).append(", port: ").append(port).append('}');
    }
    return """
        listen: {address: %s, port: %d}
        hostKeyFile: %s
        remoteForwardAddress: %s
        users:
          - name: alice
            authorizedKeys: ["%s"]
            remoteForwards: [%s]
        """.formatted(SSH_ADDRESS, sshPort, hostKey, BOUND_ADDRESS,
        Files.readString(Path.of(aliceKey + ".pub")).strip(), forwards);
  }

  private List<String> sshRemote(int sshPort, int remotePort) {
    return new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=" + knownHosts, "-o", "HostKeyAlias=tunnel", "-o", "IdentitiesOnly=yes",
        "-i", aliceKey.toString(), "-p", String.valueOf(sshPort), "-N", "-o", "ExitOnForwardFailure=yes",
        "-R", remotePort + ":localhost:" + LAPTOP_APP_PORT, "alice@" + SSH_ADDRESS));
  }

  private static String run(String ns, List<String> command) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>(NetNs.inside(ns));
    full.addAll(command);
    Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor(60, TimeUnit.SECONDS);
    return process.exitValue() + " " + output;
  }

  @Test
  void aReloadedConfigGrantsAPortWithoutARestart() throws Exception {
    int sshPort = ControlPlane.freePort();
    int granted = ControlPlane.freePort();
    int later = ControlPlane.freePort();
    Path config = dir.resolve("tunnel.yaml");
    Files.writeString(config, config(sshPort, granted));
    try (RoleProcess tunnel = RoleProcess.tunnel(dir, Map.of("portforward.tunnel.config-file", config.toString(),
        "portforward.tunnel.config-check-interval", "200ms")).start()) {
      assertThat(run(laptop, sshRemote(sshPort, later))).contains("remote port forwarding failed for listen port " + later);
      assertThat(tunnel.get("/q/metrics").body())
          .contains("portforward_tunnel_refused_total{reason=\"listen\",user=\"alice\"} 1.0");

      Files.writeString(config, config(sshPort, granted, later));
      Process session = new ProcessBuilder(withNs(laptop, List.of("bash", "-c",
          "while true; do " + String.join(" ", sshRemote(sshPort, later)) + "; sleep 0.5; done")))
          .redirectErrorStream(true).redirectOutput(dir.resolve("ssh.log").toFile()).start();
      try {
        await().atMost(Duration.ofSeconds(60)).until(() -> run(client, List.of("curl", "-sS", "-m", "5",
            "http://" + BOUND_ADDRESS + ":" + later + "/")).contains("served by the laptop"));
        assertThat(tunnel.get(TunnelRole.CLIENTS_PATH).body())
            .contains("\"user\":\"alice\"").contains("\"boundPorts\":[" + later + "]").contains("10.77.151.2");
      } finally {
        session.descendants().forEach(ProcessHandle::destroyForcibly);
        session.destroyForcibly();
      }
    }
  }

  @Test
  void anInvalidConfigEndsTheRoleWithExitCode2() throws Exception {
    Path config = dir.resolve("invalid.yaml");
    Files.writeString(config, "users: [{name: alice}]\n");
    try (RoleProcess tunnel = RoleProcess.tunnel(dir, Map.of("portforward.tunnel.config-file", config.toString()))) {
      assertThat(tunnel.runToCompletion()).isEqualTo(2);
    }
  }

  private static List<String> withNs(String ns, List<String> command) {
    List<String> full = new ArrayList<>(NetNs.inside(ns));
    full.addAll(command);
    return full;
  }
}
