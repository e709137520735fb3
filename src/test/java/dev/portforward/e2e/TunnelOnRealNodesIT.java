package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.testbed.HelmRelease;
import dev.portforward.testbed.NodeCluster;
import dev.portforward.testbed.NodeNetwork;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealNode;
import dev.portforward.testbed.RealNodes;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ssh -R} through the chart's tunnel on two real nodes: the real OpenSSH client in a
 * "laptop" namespace outside the nodes reaches the SSHTunnel's server through a PortForward on a
 * node (the host key pinned from the Secret the operator made) and exposes the laptop's HTTP
 * server, bound to the laptop's loopback only; a pod in the cluster reaches it through the
 * Service the operator made, and a second namespace outside the nodes through a PortForward on
 * the other node targeting that Service.
 */
@ExtendWith(RealNodes.class)
class TunnelOnRealNodesIT {

  private static final Duration SLOW = Duration.ofMinutes(4);
  private static final int REMOTE_PORT = 8080;

  private static HelmRelease release;

  @BeforeAll
  static void installChart(NodeCluster cluster, KubernetesClient client) throws Exception {
    assumeTrue(cluster.nodes().size() >= 2, "needs two nodes (-Dtestbed.nodes=2)");
    RealNode.Image image = HelmRelease.projectImage();
    for (RealNode node : cluster.nodes()) {
      node.importImage(image);
    }
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    release = new HelmRelease(cluster.controlPlane(), "pf-" + suffix, "pf-system-" + suffix);
    release.install("crds.enabled=false", "tunnels.enabled=true", "tunnels.statusIntervalSeconds=2");
  }

  @AfterAll
  static void uninstallChart() throws Exception {
    if (release != null) {
      release.uninstall();
    }
  }

  @Test
  void aLaptopsHttpServerIsReachedThroughTheTunnelsServiceFromAPodAndThroughAPortForward(NodeCluster cluster,
      KubernetesClient client, TestNamespace ns, @TempDir Path dir) throws Exception {
    String token = "served by the laptop " + UUID.randomUUID();
    NodeNetwork.Client laptop = cluster.network().client(cluster.nodes().size());
    NodeNetwork.Client other = cluster.network().client(cluster.nodes().size());
    RealNode first = cluster.nodes().get(0);
    RealNode second = cluster.nodes().get(1);

    Path aliceKey = dir.resolve("alice");
    NodeNetwork.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f", aliceKey.toString());
    apply(client, """
        apiVersion: v1
        kind: Secret
        metadata: {name: alice-keys, namespace: %s}
        stringData: {authorized_keys: "%s"}
        ---
        apiVersion: portforward.dev/v1alpha1
        kind: SSHTunnel
        metadata: {name: dev, namespace: %1$s}
        spec:
          users:
            - name: alice
              authorizedKeys: {name: alice-keys}
              remoteForwards: [{port: %d, serviceName: laptop-web, servicePort: 80}]
        """.formatted(ns.name(), Files.readString(Path.of(aliceKey + ".pub")).strip(), REMOTE_PORT));
    await("the tunnel Ready").atMost(SLOW).pollInterval(Duration.ofSeconds(1))
        .until(() -> client.resources(SshTunnel.class).inNamespace(ns.name()).withName("dev").get(),
            t -> t != null && t.getStatus() != null && t.getStatus().getConditions() != null
                && t.getStatus().getConditions().stream()
                    .anyMatch(c -> Conditions.READY.equals(c.getType()) && "True".equals(c.getStatus())));

    // The host key pinned from the Secret the operator made, not accepted on first use.
    Secret hostKey = client.secrets().inNamespace(ns.name()).withName("dev-host-key").get();
    Path hostKeyFile = dir.resolve("host_key");
    Files.write(hostKeyFile, Base64.getDecoder().decode(hostKey.getData().get("ssh_host_ed25519_key")));
    Files.setPosixFilePermissions(hostKeyFile, PosixFilePermissions.fromString("rw-------"));
    Path knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "tunnel " + NodeNetwork.run("ssh-keygen", "-y", "-f", hostKeyFile.toString()));

    int sshPort = PortForwards.uniquePort();
    int webPort = PortForwards.uniquePort();
    client.resource(PortForwards.of(ns.name(), "ssh",
        "listen: {port: %d}, target: {service: {name: dev-ssh, port: 22}}".formatted(sshPort))).serverSideApply();
    client.resource(PortForwards.of(ns.name(), "web",
        "listen: {port: %d}, target: {service: {name: laptop-web, port: 80}}".formatted(webPort))).serverSideApply();

    Path www = Files.createDirectories(dir.resolve("www"));
    Files.writeString(www.resolve("index.html"), token + "\n");
    List<Process> processes = new ArrayList<>();
    try {
      // Bound to the laptop's loopback: only the tunnel brings it into the cluster.
      processes.add(inNamespace(laptop, dir.resolve("http.log"), "/usr/bin/python3", "-m", "http.server",
          "--bind", "127.0.0.1", "--directory", www.toString(), "3000"));
      Path sshLog = dir.resolve("ssh.log");
      // ssh exits when the forward fails (or the PortForward is not yet in place): start it again.
      await("ssh -R through the PortForward on " + first.name() + " binds the remote port (ssh log: " + sshLog + ")")
          .atMost(SLOW).pollInterval(Duration.ofSeconds(2))
          .until(() -> {
            if (processes.size() < 2 || !processes.get(1).isAlive()) {
              if (processes.size() == 2) {
                processes.remove(1);
              }
              processes.add(inNamespace(laptop, sshLog, "ssh", "-F", "/dev/null", "-N", "-o", "BatchMode=yes",
                  "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts,
                  "-o", "HostKeyAlias=tunnel", "-o", "IdentitiesOnly=yes", "-o", "ExitOnForwardFailure=yes",
                  "-o", "ConnectTimeout=5", "-i", aliceKey.toString(), "-p", String.valueOf(sshPort),
                  "-R", REMOTE_PORT + ":localhost:3000", "alice@" + first.address()));
            }
            SshTunnel t = client.resources(SshTunnel.class).inNamespace(ns.name()).withName("dev").get();
            return t.getStatus() != null && t.getStatus().getForwards() != null
                && t.getStatus().getForwards().stream().anyMatch(f -> Boolean.TRUE.equals(f.getBound()));
          });

      // (a) A pod in the cluster, through the Service's cluster IP: Ready once curl gets the page.
      String clusterIp = client.services().inNamespace(ns.name()).withName("laptop-web").get().getSpec().getClusterIP();
      apply(client, """
          apiVersion: v1
          kind: Pod
          metadata: {name: visitor, namespace: %s}
          spec:
            terminationGracePeriodSeconds: 1
            containers:
              - name: curl
                image: %s
                imagePullPolicy: Never
                command: [sleep, "3600"]
                readinessProbe:
                  exec: {command: [sh, -c, "curl -sS --max-time 3 http://%s/ | grep -qF '%s'"]}
                  periodSeconds: 2
                  timeoutSeconds: 5
          """.formatted(ns.name(), cluster.runtime().testapp().name(), clusterIp, token));
      await("a pod reaches the laptop through the Service laptop-web").atMost(SLOW).pollInterval(Duration.ofSeconds(1))
          .until(() -> client.pods().inNamespace(ns.name()).withName("visitor").get(), TunnelOnRealNodesIT::ready);

      // (b) Another namespace outside the nodes, through a PortForward on the other node.
      await("the laptop's page through the PortForward on " + second.name()).atMost(SLOW)
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> curlFrom(other, "http://" + second.address() + ":" + webPort + "/"),
              answer -> answer.contains(token));
    } finally {
      for (Process process : processes) {
        process.destroy();
      }
    }
  }

  private static Process inNamespace(NodeNetwork.Client client, Path log, String... command) throws Exception {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", client.namespace()));
    full.addAll(List.of(command));
    return new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }

  /** curl's output from {@code client}'s namespace, or "" when it fails. */
  private static String curlFrom(NodeNetwork.Client client, String url) {
    try {
      return NodeNetwork.run("ip", "netns", "exec", client.namespace(), "curl", "-sS", "--max-time", "5", url);
    } catch (IllegalStateException e) {
      return "";
    }
  }

  private static boolean ready(Pod pod) {
    return pod != null && pod.getStatus() != null && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static void apply(KubernetesClient client, String yaml) {
    client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).serverSideApply();
  }
}
