package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
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
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A PortForward edited while the operator is down: the node keeps carrying the generation the
 * operator accepted, with traffic, until the operator is back and judges the edit.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class OperatorOutageIT {

  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void anEditDuringAnOperatorOutageTakesNoWorkingForwardOffline(KubernetesClient client, TestNamespace ns,
      ControlPlane cp, RoleProcess operator) throws Exception {
    try (NodeTopology hosts = NodeTopology.create()) {
      NetNs net = hosts.net;
      net.spawn(hosts.pod1, "socat", "TCP-LISTEN:9090,fork,reuseaddr", "EXEC:cat");
      Node node = OneNode.node(client, ns);
      String nodeName = node.getMetadata().getName();
      ReadyPods.create(client, ns, "echo", NodeTopology.POD1_IP);
      int port = uniquePort();
      int otherPort = uniquePort();
      for (var forward : Map.of("edited", port, "deleted", otherPort).entrySet()) {
        client.resource(PortForwards.of(ns.name(), forward.getKey(), """
            listen: {port: %d, nodeSelector: {portforward.dev/test: %s}},
            target: {pods: {selector: {app: echo}, port: 9090}},
            sourceRanges: [10.77.1.0/24]""".formatted(forward.getValue(), ns.name()))).create();
      }
      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", nodeName,
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)))).start();
      try {
        awaitCondition(client, ns.name(), "edited", Conditions.READY, "True", Conditions.Reason.READY);
        awaitCondition(client, ns.name(), "deleted", Conditions.READY, "True", Conditions.Reason.READY);
        EchoSession established = EchoSession.open(net, hosts.client, NodeTopology.CLIENT_IP, NodeTopology.NODE_IP, port);
        await().atMost(WAIT).until(() -> established.echoes("before"));

        operator.kill();
        client.resources(PortForward.class).inNamespace(ns.name()).withName("edited").edit(pf -> {
          pf.getSpec().setSourceRanges(List.of("10.77.9.0/24"));
          return pf;
        });
        client.resources(PortForward.class).inNamespace(ns.name()).withName("deleted").delete();
        // The agent sees the deletion after the edit (one watch, in order): once its report drops
        // the deleted forward, it has planned with the unjudged edit.
        await("the agent has seen both changes").atMost(WAIT).until(() -> !reported(client, nodeName, ns, "deleted"));

        await("the established connection carries on").atMost(WAIT).until(() -> established.echoes("during"));
        EchoSession fresh = EchoSession.open(net, hosts.client, NodeTopology.CLIENT_IP, NodeTopology.NODE_IP, port);
        await("a new connection gets through").atMost(WAIT).until(() -> fresh.echoes("new"));
        assertThat(reportedGeneration(client, nodeName, ns, "edited")).as("still the accepted generation").contains(1L);
        assertThat(net.exec(hosts.node, "nft", "list", "table", "inet", "portforward"))
            .as("the forward's rules stay").contains("10.77.1.0/24");

        operator.start();
        awaitCondition(client, ns.name(), "edited", Conditions.ACCEPTED, "True", Conditions.Reason.ACCEPTED);
        await("the judged edit takes effect").atMost(WAIT).until(() -> !established.echoes("after"));
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  private static boolean reported(KubernetesClient client, String nodeName, TestNamespace ns, String name) {
    return forward(client, nodeName, ns, name).isPresent();
  }

  private static Optional<Long> reportedGeneration(KubernetesClient client, String nodeName, TestNamespace ns,
      String name) {
    return forward(client, nodeName, ns, name).map(ForwardReport::getGeneration);
  }

  private static Optional<ForwardReport> forward(KubernetesClient client, String nodeName, TestNamespace ns,
      String name) {
    PortForwardNodeReport report = client.resources(PortForwardNodeReport.class).withName(nodeName).get();
    return Optional.ofNullable(report).map(PortForwardNodeReport::getStatus).stream()
        .flatMap(status -> status.getForwards().stream())
        .filter(f -> f.getNamespace().equals(ns.name()) && f.getName().equals(name))
        .findFirst();
  }
}
