package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The finalizer makes sure the data plane sees a deletion before the object disappears: a deleted
 * PortForward stays until every node that reported it reports it gone (its rules removed), and a
 * node whose agent is stopped holds it only until portforward.deletion.data-plane-timeout.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class DeletionHoldIT {

  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void aDeletedForwardGoesOnceItsNodeReportsItGoneOrAfterTheBoundWhenTheAgentIsStopped(
      KubernetesClient client, TestNamespace ns, ControlPlane cp, RoleProcess operator) throws Exception {
    try (NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(client, ns)) {
      int runningPort = uniquePort();
      int stoppedPort = uniquePort();
      node.forward("running", runningPort);
      node.forward("stopped", stoppedPort);
      RoleProcess agent = node.agent(cp, hosts).start();
      try {
        awaitCondition(client, ns.name(), "running", Conditions.READY, "True", Conditions.Reason.READY);
        awaitCondition(client, ns.name(), "stopped", Conditions.READY, "True", Conditions.Reason.READY);

        // A running agent: by the time the object is gone, the node has removed its rules and said so.
        client.resources(PortForward.class).inNamespace(ns.name()).withName("running").delete();
        await().atMost(WAIT).until(() -> forward(client, ns, "running") == null);
        assertThat(listed(client, node, ns, "running")).as("the node's report lists the forward").isFalse();
        assertThat(table(hosts)).doesNotContain(" " + runningPort + " ");
        assertThat(Files.readString(operator.log())).doesNotContain(ns.name() + "/running: released");

        // A stopped agent: the deletion is held while its node's report lists the forward, then let go.
        agent.kill();
        client.resources(PortForward.class).inNamespace(ns.name()).withName("stopped").delete();
        await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(10))
            .until(() -> forward(client, ns, "stopped") != null);
        assertThat(forward(client, ns, "stopped").getMetadata().getDeletionTimestamp()).isNotNull();
        await().atMost(SharedOperator.DATA_PLANE_TIMEOUT.plus(WAIT)).until(() -> forward(client, ns, "stopped") == null);
        assertThat(Files.readString(operator.log())).contains(ns.name() + "/stopped: released "
            + SharedOperator.DATA_PLANE_TIMEOUT.toSeconds() + "s after its deletion although node(s) [" + node.name() + "] still list it");
      } finally {
        agent.close();
      }
    }
  }

  private static PortForward forward(KubernetesClient client, TestNamespace ns, String name) {
    return client.resources(PortForward.class).inNamespace(ns.name()).withName(name).get();
  }

  private static boolean listed(KubernetesClient client, OneNode node, TestNamespace ns, String name) {
    PortForwardNodeReport report = client.resources(PortForwardNodeReport.class).withName(node.name()).get();
    return report != null && report.getStatus().getForwards().stream()
        .anyMatch(f -> ns.name().equals(f.getNamespace()) && name.equals(f.getName()));
  }

  private static String table(NodeTopology hosts) {
    return hosts.net.exec(hosts.node, "nft", "list", "table", "inet", "portforward");
  }
}
