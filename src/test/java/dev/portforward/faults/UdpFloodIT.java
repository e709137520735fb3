package dev.portforward.faults;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.testbed.ControlPlane;
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
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A UDP flood at one kernel forward (relay.mode None) with limits set: every datagram from a new
 * source port, from four source addresses, as fast as a JVM in the client namespace sends them.
 * The forward's limits hold in its own chain of the node's table, which a real agent programs: a
 * dropped first packet never gets a lasting conntrack entry, so the node's conntrack table holds
 * at most maxConnections of the flood's flows, never the flood; a TCP forward and a UDP forward
 * beside it keep carrying traffic throughout; and the flooded forward serves a well-behaved
 * client again once the flood's flows time out (while the flood holds maxConnections, the kernel
 * drops a new client's first packet, as docs/api.md says).
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class UdpFloodIT {

  private static final int MAX_CONNECTIONS = 100;
  private static final int PER_SOURCE = 20;
  private static final long FLOOD_SECONDS = 15;
  private static final List<String> FLOODERS = List.of("10.77.1.10", "10.77.1.11", "10.77.1.12", "10.77.1.13");
  private static final int SINK = 7000;
  private static final int ECHO = 9090;
  /** The UDP backend in pod1 (NodeTopology's) answers its name. */
  private static final int NAMED = 5353;
  private static final Duration WAIT = Duration.ofSeconds(90);
  /** Asks of the forward beside the flood, each from a new source port, before one counts as unanswered. */
  private static final int TRIES = 10;

  @Test
  void aUdpFloodAtALimitedForwardStaysInsideIt(KubernetesClient client, TestNamespace ns, ControlPlane cp)
      throws Exception {
    try (NodeTopology hosts = NodeTopology.create()) {
      NetNs net = hosts.net;
      for (String flooder : FLOODERS) {
        net.exec(hosts.client, "bash", "-c", "ip addr add " + flooder + "/24 dev $(ip -o -4 addr show to "
            + NodeTopology.CLIENT_IP + " | cut -d' ' -f2)");
      }
      net.spawn(hosts.pod1, "socat", "TCP-LISTEN:" + ECHO + ",fork,reuseaddr,backlog=64", "EXEC:cat");
      net.spawn(hosts.pod2, UdpPeer.command("echo", String.valueOf(SINK)));
      Node node = OneNode.node(client, ns);
      ReadyPods.create(client, ns, "echo", NodeTopology.POD1_IP);
      ReadyPods.create(client, ns, "sink", NodeTopology.POD2_IP);
      String listen = "listen: {port: %d, nodeSelector: {portforward.dev/test: " + ns.name() + "}}, ";
      int flooded = uniquePort();
      int udp = uniquePort();
      int tcp = uniquePort();
      client.resource(PortForwards.of(ns.name(), "flooded", "protocol: UDP, " + listen.formatted(flooded)
          + "target: {pods: {selector: {app: sink}, port: %d}},".formatted(SINK)
          + " relay: {maxConnections: %d, maxConnectionsPerSecondPerSource: %d}".formatted(MAX_CONNECTIONS, PER_SOURCE)))
          .create();
      client.resource(PortForwards.of(ns.name(), "udp", "protocol: UDP, " + listen.formatted(udp)
          + "target: {pods: {selector: {app: echo}, port: %d}}".formatted(NAMED))).create();
      client.resource(PortForwards.of(ns.name(), "tcp", listen.formatted(tcp)
          + "target: {pods: {selector: {app: echo}, port: %d}}".formatted(ECHO))).create();
      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", node.getMetadata().getName(),
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)))).start();
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      try (Connections connections = Connections.open(net, hosts.client, tcp, 4)) {
        for (String name : List.of("flooded", "udp", "tcp")) {
          awaitCondition(client, ns.name(), name, Conditions.READY, "True", Conditions.Reason.READY);
        }
        connections.awaitAllEcho();
        await("the flooded forward answers before the flood").atMost(WAIT)
            .until(() -> ask(hosts, flooded), "ask"::equals);
        await("the other UDP forward answers").atMost(WAIT).until(() -> ask(hosts, udp), "pod1"::equals);

        AtomicInteger peakFlood = new AtomicInteger();
        AtomicInteger peakAll = new AtomicInteger();
        sampler.scheduleWithFixedDelay(() -> {
          try {
            peakAll.accumulateAndGet(conntrackCount(hosts), Math::max);
            peakFlood.accumulateAndGet(conntrackFlows(hosts, flooded), Math::max);
          } catch (RuntimeException busy) {
            // conntrack failed once under the flood: the next sample counts (an exception would end the sampling).
          }
        }, 0, 250, TimeUnit.MILLISECONDS);
        connections.watch();
        List<String> floodArgs = new ArrayList<>(List.of("flood", NodeTopology.NODE_IP, String.valueOf(flooded),
            String.valueOf(FLOOD_SECONDS)));
        floodArgs.addAll(FLOODERS);
        Process flood = net.spawn(hosts.client, UdpPeer.command(floodArgs.toArray(String[]::new)));
        await("the flood fills the forward's maxConnections").atMost(WAIT).until(() -> peakFlood.get() >= MAX_CONNECTIONS);
        // The forward is at its maxConnections: the kernel drops a new client's first packet.
        String duringFlood = ask(hosts, flooded);

        int asked = 0;
        int firstTry = 0;
        int unanswered = 0;
        while (flood.isAlive()) {
          asked++;
          int tries = 1;
          // The flood and the asks share the client's link and two cores: some asks are lost on the way.
          while (tries <= TRIES && !ask(hosts, udp).equals("pod1")) {
            tries++;
          }
          firstTry += tries == 1 ? 1 : 0;
          unanswered += tries > TRIES ? 1 : 0;
        }
        String floodOutput = new String(flood.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        long sent = floodOutput.lines().filter(l -> l.startsWith("sent ")).mapToLong(l -> Long.parseLong(l.substring(5)))
            .findFirst().orElseThrow(() -> new AssertionError("the flood said nothing of what it sent: " + floodOutput));
        Faults.Clock after = Faults.Clock.start();
        await("the flooded forward serves again once the flood's flows time out").atMost(Duration.ofMinutes(2))
            .until(() -> ask(hosts, flooded), "ask"::equals);
        double recovered = after.seconds();
        sampler.shutdown();
        sampler.awaitTermination(30, TimeUnit.SECONDS);
        int dropped = connections.dropped();
        boolean newOneEchoes = connections.newOneEchoes();
        long conntrackMax = Long.parseLong(net.exec(hosts.node, "cat", "/proc/sys/net/netfilter/nf_conntrack_max").strip());
        String udpTimeout = net.exec(hosts.node, "cat", "/proc/sys/net/netfilter/nf_conntrack_udp_timeout").strip();

        FaultTable.add(new FaultTable.Row("UDP flood at a kernel forward with limits",
            ("%d datagrams in %d s, each a new flow, from %d sources at a forward with maxConnections %d and %d/s per"
                + " source; %d TCP connections and a UDP forward beside it").formatted(sent, FLOOD_SECONDS,
                FLOODERS.size(), MAX_CONNECTIONS, PER_SOURCE, connections.count()),
            ("conntrack at peak: %d of the flood's flows, %d entries in all (nf_conntrack_max %d); the UDP forward"
                + " beside it answered %d of %d asks (%d at the first try); a new client of the flooded forward"
                + " %s during the flood, served %.1f s after it (UDP flows time out in %s s); %d echoes"
                + " slower than 2 s").formatted(peakFlood.get(), peakAll.get(), conntrackMax, asked - unanswered, asked,
                firstTry, duringFlood.isEmpty() ? "dropped" : "answered", recovered, udpTimeout, connections.stalls()),
            0, dropped));
        assertThat(peakFlood.get()).as("the flood's conntrack entries, against maxConnections").isLessThanOrEqualTo(
            MAX_CONNECTIONS);
        assertThat((long) peakAll.get()).as("the node's conntrack entries at peak")
            .isLessThan(sent / 100).isLessThan(conntrackMax / 100);
        assertThat(duringFlood).as("a new client of the flooded forward while the flood holds its maxConnections")
            .isEmpty();
        assertThat(unanswered).as("asks of the UDP forward beside it left unanswered " + TRIES + " times in a row")
            .isZero();
        assertThat(dropped).as("TCP connections through the forward beside it that broke").isZero();
        assertThat(newOneEchoes).as("a new TCP connection through the forward beside it").isTrue();
      } finally {
        sampler.shutdownNow();
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  /**
   * One datagram from the client's own address and a new source port (a new flow, which meets the
   * forward's limits; an established one never does); the answer, or "" when none came.
   */
  private static String ask(NodeTopology hosts, int port) {
    try {
      return hosts.net.exec(hosts.client, "bash", "-c", "echo ask | socat -t2 -T3 - UDP:" + NodeTopology.NODE_IP + ":"
          + port + ",bind=" + NodeTopology.CLIENT_IP).strip();
    } catch (IllegalStateException noAnswer) {
      return "";
    }
  }

  /** The node namespace's conntrack entries, all of them. */
  private static int conntrackCount(NodeTopology hosts) {
    return Integer.parseInt(hosts.net.exec(hosts.node, "conntrack", "-C").strip());
  }

  /** The node namespace's conntrack entries of UDP flows to {@code port}. */
  private static int conntrackFlows(NodeTopology hosts, int port) {
    return Integer.parseInt(hosts.net.exec(hosts.node, "bash", "-c",
        "conntrack -L -p udp --orig-port-dst " + port + " 2>/dev/null | wc -l").strip());
  }
}
