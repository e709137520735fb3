package dev.portforward.faults;

import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.EchoSession;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.ReadyPods;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIPBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The agent killed (SIGKILL) in the middle of a large nft transaction: every forward's backend
 * moves, the agent hands nft the change, and dies before nft has read it. The kernel commits a
 * transaction whole or not at all, so right after the kill the table must hold every forward,
 * each reachable and to the old backend or the new one (the agent may spread the move over a few
 * transactions), never a part of a transaction: no forward deleted without its replacement, no
 * chain that nothing jumps to. The restarted agent then moves them all and traffic follows.
 *
 * <p>The agent's nft runs behind a wrapper (its command prefix) that, when armed, holds the next
 * transaction until the test has killed the agent, then lets nft read whatever the agent had
 * handed over. The transaction (150 forwards with source ranges, deleted and defined again) is
 * larger than a pipe holds (64 KiB), so an agent that handed it over through a pipe would be
 * killed half way through writing it. See also {@code NftHandoverIT}.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class AgentKilledMidTransactionIT {

  private static final int FORWARDS = 150;
  private static final int KILLS = 2;
  private static final int ECHO = 9090;
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final Pattern DNAT = Pattern.compile("dnat ip to (10\\.77\\.[23]\\.2):" + ECHO);
  /** An element of the IPv4 dispatch map: the node's address and a port, to a forward's chain. */
  private static final Pattern GOTO = Pattern.compile(Pattern.quote(NodeTopology.NODE_IP) + " \\. \\d+ : goto fw_");

  @Test
  void anAgentKilledInTheMiddleOfATransactionLeavesNoPartOfIt(KubernetesClient client,
      TestNamespace ns, ControlPlane cp) throws Exception {
    Path dir = Files.createTempDirectory("nft-hold-");
    Path armed = dir.resolve("armed");
    Path held = dir.resolve("held");
    Path release = dir.resolve("release");
    Path done = dir.resolve("done");
    Path size = dir.resolve("size");
    Path wrapper = dir.resolve("nft-wrapper.sh");
    try (NodeTopology hosts = NodeTopology.create()) {
      NetNs net = hosts.net;
      net.run("mkfifo", release.toString());
      String inNode = String.join(" ", NetNs.inside(hosts.node));
      Files.writeString(wrapper, """
          #!/bin/bash
          if [ "$1" = nft ] && [ "$2" = -f ] && [ -e %1$s ]; then
            rm -f %1$s
            touch %2$s
            read -r _ < %3$s
            if [ "$3" != - ]; then stat -c %%s "$3" > %6$s; fi
            %4$s "$@"; status=$?
            # The agent that wrote the file is dead: nobody else removes it.
            if [ "$3" != - ]; then rm -f "$3"; fi
            echo "$status" > %5$s
            exit "$status"
          fi
          exec %4$s "$@"
          """.formatted(armed, held, release, inNode, done, size));
      Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
      for (String pod : List.of(hosts.pod1, hosts.pod2)) {
        net.spawn(pod, "socat", "TCP-LISTEN:" + ECHO + ",fork,reuseaddr,backlog=64", "EXEC:cat");
      }
      Node node = OneNode.node(client, ns);
      String nodeName = node.getMetadata().getName();
      Pod echo = ReadyPods.create(client, ns, "echo", NodeTopology.POD1_IP);
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < FORWARDS; i++) {
        int port = uniquePort();
        ports.add(port);
        client.resource(PortForwards.of(ns.name(), "bulk-" + i, """
            listen: {port: %d, nodeSelector: {portforward.dev/test: %s}},
            target: {pods: {selector: {app: echo}, port: %d}},
            sourceRanges: [10.77.1.0/24, 10.78.0.0/16, 10.79.0.0/16, 192.168.0.0/16, "fd77:1::/64"]"""
            .formatted(port, ns.name(), ECHO))).create();
      }
      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", nodeName,
          "portforward.agent.command-prefix", wrapper.toString()));
      try {
        agent.start();
        String backend = NodeTopology.POD1_IP;
        await("all forwards programmed").atMost(WAIT)
            .until(() -> Table.of(hosts), t -> t.isWhole(NodeTopology.POD1_IP));
        List<Long> movedByKill = new ArrayList<>();
        long transactionBytes = 0;
        for (int kill = 0; kill < KILLS; kill++) {
          String next = backend.equals(NodeTopology.POD1_IP) ? NodeTopology.POD2_IP : NodeTopology.POD1_IP;
          Files.createFile(armed);
          echo = moveTo(client, echo, next);
          await("the agent hands nft the change").atMost(WAIT).until(() -> Files.exists(held));
          agent.kill();
          Files.writeString(release, "go\n");
          await("nft done with what the agent handed over").atMost(WAIT).until(() -> Files.exists(done));
          Table after = Table.of(hosts);
          assertThat(after.isConsistent(backend, next))
              .as("the table right after the kill: every forward, reachable, to %s or %s; was %s", backend, next, after)
              .isTrue();
          movedByKill.add(after.backends().stream().filter(next::equals).count());
          if (Files.exists(size)) {
            transactionBytes = Math.max(transactionBytes, Long.parseLong(Files.readString(size).strip()));
          }
          Files.deleteIfExists(held);
          Files.deleteIfExists(done);

          agent.start();
          await("the restarted agent puts the new table in place").atMost(WAIT)
              .until(() -> Table.of(hosts), t -> t.isWhole(next));
          int port = ports.get(kill);
          await("traffic follows").atMost(WAIT).until(() -> echoes(net, hosts.client, port));
          backend = next;
        }
        FaultTable.add(new FaultTable.Row("agent killed (SIGKILL) in the middle of an nft transaction",
            "%d forwards whose backend pod moved; %d kills%s".formatted(FORWARDS, KILLS,
                transactionBytes > 0 ? ", held transactions up to " + transactionBytes / 1024 + " KiB" : ""),
            ("every forward in place after each kill (%s of %d moved when it struck); the restarted agent moved"
                + " the rest and traffic flowed").formatted(movedByKill, FORWARDS),
            0, 0));
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    } finally {
      try (var files = Files.list(dir)) {
        for (Path file : files.toList()) {
          Files.deleteIfExists(file);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  /** Moves the echo pod to {@code ip}: every forward's backend changes in one event. */
  private static Pod moveTo(KubernetesClient client, Pod pod, String ip) {
    pod.getStatus().setPodIP(ip);
    pod.getStatus().setPodIPs(List.of(new PodIPBuilder().withIp(ip).build()));
    return client.resource(pod).updateStatus();
  }

  /**
   * What the node's table holds: each forward's DNAT backend (from its chain), and how many
   * forwards the dispatch map reaches (an update cut short can leave chains nothing jumps to).
   */
  private record Table(List<String> backends, int dispatched) {
    static Table of(NodeTopology hosts) {
      String listing;
      try {
        listing = hosts.net.exec(hosts.node, "nft", "list", "table", "inet", "portforward");
      } catch (IllegalStateException noTable) {
        return new Table(List.of(), 0);
      }
      List<String> backends = new ArrayList<>();
      Matcher m = DNAT.matcher(listing);
      while (m.find()) {
        backends.add(m.group(1));
      }
      return new Table(backends, (int) GOTO.matcher(listing).results().count());
    }

    /** Every forward present and reachable, each to {@code backend}. */
    boolean isWhole(String backend) {
      return isConsistent(backend, backend);
    }

    /** Every forward present and reachable, each to one of the two backends. */
    boolean isConsistent(String one, String other) {
      return backends.size() == FORWARDS && dispatched == FORWARDS
          && backends.stream().allMatch(b -> b.equals(one) || b.equals(other));
    }

    @Override
    public String toString() {
      return backends.size() + " DNAT rules " + backends.stream().distinct()
          .map(b -> b + " x" + backends.stream().filter(b::equals).count()).toList()
          + ", " + dispatched + " dispatched";
    }
  }

  private static boolean echoes(NetNs net, String client, int port) throws Exception {
    EchoSession session = EchoSession.open(net, client, NodeTopology.CLIENT_IP, NodeTopology.NODE_IP, port);
    try {
      return session.echoes("through");
    } finally {
      session.close();
    }
  }
}
