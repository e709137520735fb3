package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.EchoSession;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.ReadyPods;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;



import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole path for a tenant's edits: a PortForward in a real API server, the operator, and a
 * node agent process programming a node namespace. Narrowing spec.sourceRanges cuts the excluded
 * client's established connection while the allowed client's goes on, and relay.maxConnections
 * without a relay is a kernel limit.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class FlowPolicyIT {

  private static final String ALICE = NodeTopology.CLIENT_IP;
  private static final String BOB = NodeTopology.SECOND_CLIENT_IP;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void narrowingCutsTheExcludedClientsConnectionAndMaxConnectionsHoldsWithoutARelay(KubernetesClient client,
      TestNamespace ns, ControlPlane cp) throws Exception {
    try (NodeTopology hosts = NodeTopology.create()) {
      NetNs net = hosts.net;
      hosts.addSecondClientAddress();
      net.spawn(hosts.pod1, "socat", "TCP-LISTEN:9090,fork,reuseaddr", "EXEC:cat");
      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      String nodeName = ns.name() + "-node";
      Node node = client.resource(new NodeBuilder().withNewMetadata().withName(nodeName).withLabels(label)
          .endMetadata().build()).create();
      node.setStatus(new NodeStatusBuilder().addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP)
          .endAddress().build());
      client.resource(node).updateStatus();
      ReadyPods.create(client, ns, "echo", NodeTopology.POD1_IP);
      int port = uniquePort();
      client.resource(PortForwards.of(ns.name(), "echo", """
          listen: {port: %d, nodeSelector: {portforward.dev/test: %s}},
          target: {pods: {selector: {app: echo}, port: 9090}},
          sourceRanges: [10.77.1.0/24],
          relay: {maxConnections: 2}""".formatted(port, ns.name()))).create();

      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", nodeName,
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)))).start();
      try {
        awaitCondition(client, ns.name(), "echo", Conditions.READY, "True", Conditions.Reason.READY);
        EchoSession alice = session(net, hosts, ALICE, port);
        EchoSession bob = session(net, hosts, BOB, port);
        assertThat(ask(net, hosts, port)).as("a third connection beyond relay.maxConnections 2, mode None").isEmpty();

        client.resources(PortForward.class).inNamespace(ns.name()).withName("echo")
            .edit(pf -> {
              pf.getSpec().setSourceRanges(List.of(BOB + "/32"));
              return pf;
            });

        await().atMost(WAIT).until(() -> !alice.echoes("after"));
        assertThat(bob.echoes("after")).as("the allowed client's connection on the same forward").isTrue();
        assertThat(ask(net, hosts, port)).as("alice, now outside sourceRanges, anew").isEmpty();
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  private static EchoSession session(NetNs net, NodeTopology hosts, String source, int port) throws Exception {
    EchoSession session = EchoSession.open(net, hosts.client, source, NodeTopology.NODE_IP, port);
    await().atMost(WAIT).until(() -> session.echoes("before"));
    return session;
  }

  /** One short exchange from ALICE: the echo, or "" when the connection did not get through. */
  private static String ask(NetNs net, NodeTopology hosts, int port) {
    try {
      return net.exec(hosts.client, "bash", "-c", "echo ask | socat -T2 - TCP:" + NodeTopology.NODE_IP + ":" + port
          + ",bind=" + ALICE + ",connect-timeout=1").strip();
    } catch (IllegalStateException refused) {
      return "";
    }
  }

}
