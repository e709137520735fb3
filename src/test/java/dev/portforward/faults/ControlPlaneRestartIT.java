package dev.portforward.faults;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The API server restarted, then etcd restarted, while PortForwards change 100 times a second and
 * a real agent programs them into a node namespace: connections already forwarded by the kernel
 * carry on throughout (the rules stay while nobody can read the API), and every status ends up
 * right for its last change. The operator, which exits when it cannot renew its Lease, is
 * restarted as its pod would be.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class ControlPlaneRestartIT {

  private static final int FORWARDS = 20;
  private static final double RATE = 100;
  private static final int WRITERS = 10;

  @Test
  void theApiServerAndEtcdRestartedDuringChurnDropNoConnectionAndLoseNoChange(KubernetesClient client,
      TestNamespace ns, ControlPlane cp, RoleProcess operator) throws Exception {
    try (NodeTopology hosts = NodeTopology.create()) {
      NetNs net = hosts.net;
      net.spawn(hosts.pod1, "socat", "TCP-LISTEN:9090,fork,reuseaddr,backlog=64", "EXEC:cat");
      Node node = OneNode.node(client, ns);
      String nodeName = node.getMetadata().getName();
      ReadyPods.create(client, ns, "echo", NodeTopology.POD1_IP);
      // The carried forward stays as it is; the churned ones select the same node, so that the
      // agent rewrites its table all along.
      String spec = "listen: {port: %d, nodeSelector: {portforward.dev/test: " + ns.name() + "}},"
          + " target: {pods: {selector: {app: echo}, port: 9090}}";
      int port = uniquePort();
      client.resource(PortForwards.of(ns.name(), "carried", spec.formatted(port))).create();
      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", nodeName,
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)))).start();
      try (Connections connections = Connections.open(net, hosts.client, port, 4);
          Churn churn = Churn.create(client, ns.name(), FORWARDS, RATE, WRITERS, spec).expectReady()) {
        awaitCondition(client, ns.name(), "carried", Conditions.READY, "True", Conditions.Reason.READY);
        connections.awaitAllEcho();

        restartDuringChurn("API server restarted during churn", operator, churn, connections, () -> {
          cp.stopApiServer();
          cp.startApiServer();
        });
        restartDuringChurn("etcd restarted during churn", operator, churn, connections, () -> {
          cp.stopEtcd();
          cp.startEtcd();
        });
        assertThat(connections.newOneEchoes()).as("a new connection after both restarts").isTrue();
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  /** A restart of a control-plane part, returning once it serves again. */
  private interface Restart {
    void run() throws Exception;
  }

  /**
   * Strikes {@code restart} 3 s into the churn and measures until every status is right. The
   * operator that cannot renew its Lease for the renew deadline (10 s) exits on purpose (two
   * leaders would be worse); here it is restarted as its Deployment's pod would restart it.
   */
  private static void restartDuringChurn(String fault, RoleProcess operator, Churn churn, Connections connections,
      Restart restart) throws Exception {
    try (RestartOnExit kubelet = new RestartOnExit(operator)) {
      churn.start();
      connections.watch();
      Faults.awaitChurning(churn, 5);
      // The rate held while the control plane served: while it is away, writers only wait.
      Churn.Held before = churn.held();
      Faults.Clock down = Faults.Clock.start();
      restart.run();
      double away = down.seconds();
      Faults.Clock back = Faults.Clock.start();
      Faults.awaitChurning(churn, churn.held().seconds() + 3);
      Churn.Held held = churn.stop();
      long allRight = Faults.awaitAllRight(churn);
      int dropped = connections.dropped();
      List<String> lost = churn.wrong();
      FaultTable.add(new FaultTable.Row(fault, before + " before it; " + connections.count()
              + " forwarded connections open",
          ("away %.1f s (%d changes refused meanwhile); every status right %s after it served again; operator"
              + " restarted %d time(s) after losing its Lease; %d echoes slower than 2 s").formatted(away,
              held.failures(), Faults.after(back, allRight), kubelet.restarts(), connections.stalls()),
          lost.size(), dropped));
      assertThat(lost).as("forwards whose status missed their last change").isEmpty();
      assertThat(dropped).as("forwarded connections that broke").isZero();
    }
  }
}
