package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.toService;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.PodsTarget;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.ReadyPods;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;



import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole path: a PortForward applied to a real API server, accepted by the operator, programmed
 * by a node agent process into a node namespace, traffic from a client namespace reaching a pod
 * namespace, and the PortForward's status saying where the forward can be reached.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class AgentIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void aPortForwardBecomesKernelDnatAndItsStatusSaysWhere(KubernetesClient client, TestNamespace ns, ControlPlane cp)
      throws Exception {
    try (NodeTopology hosts = NodeTopology.create()) {
      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      String nodeName = ns.name() + "-node";
      Node node = client.resource(new NodeBuilder().withNewMetadata().withName(nodeName).withLabels(label)
          .endMetadata().build()).create();
      node.setStatus(new io.fabric8.kubernetes.api.model.NodeStatusBuilder()
          .addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP).endAddress().build());
      client.resource(node).updateStatus();
      client.resource(new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName("web").endMetadata()
          .withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build()).create();
      EndpointSlice slice = client.resource(slice(ns, NodeTopology.POD1_IP)).create();
      int port = uniquePort();
      client.resource(toService(ns.name(), "web", port, "web", 80, spec -> spec.getListen().setNodeSelector(label)))
          .create();

      Map<String, String> settings = Map.of(
          "portforward.agent.node-name", nodeName,
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)));
      RoleProcess agent = RoleProcess.agent(cp, settings).start();
      try {
        PortForward pf = awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Conditions.Reason.READY);
        assertThat(pf.getStatus().getEndpoints()).extracting(Endpoint::getNode, Endpoint::getAddress, Endpoint::getPort)
            .containsExactly(org.assertj.core.groups.Tuple.tuple(nodeName, NodeTopology.NODE_IP, port));
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), "pod1"::equals);
        assertThat(agent.get("/q/metrics").body())
            .containsPattern("portforward_agent_applies_total(\\{[^}]*})? [1-9]")
            .contains("portforward_agent_forwards_programmed", "portforward_agent_sync_seconds_count");

        // The backend moves: new connections follow.
        slice.getEndpoints().get(0).setAddresses(List.of(NodeTopology.POD2_IP));
        client.resource(slice).update();
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), "pod2"::equals);

        // A second forward, to pods chosen by label, carries a long-lived connection: pod1 echoes.
        hosts.net.spawn(hosts.pod1, "socat", "TCP-LISTEN:9090,reuseaddr", "EXEC:cat");
        ReadyPods.create(client, ns, "echo", NodeTopology.POD1_IP);
        int echoPort = uniquePort();
        client.resource(toService(ns.name(), "echo", echoPort, "unused", 80, spec -> {
          spec.getListen().setNodeSelector(label);
          PodsTarget pods = new PodsTarget();
          pods.setSelector(Map.of("app", "echo"));
          pods.setPort(9090);
          Target target = new Target();
          target.setPods(pods);
          spec.setTarget(target);
        })).create();
        awaitCondition(client, ns.name(), "echo", Conditions.READY, "True", Conditions.Reason.READY);
        Process session = hosts.net.spawn(hosts.client, "socat", "-",
            "TCP:" + NodeTopology.NODE_IP + ":" + echoPort + ",retry=50,interval=0.2");
        var toEcho = session.outputWriter();
        var fromEcho = session.inputReader();
        toEcho.write("before\n");
        toEcho.flush();
        assertThat(fromEcho.readLine()).isEqualTo("before");

        // The agent dies (SIGKILL): the rules and the connection stay, and a new agent takes over
        // without duplicating anything.
        List<String> programmed = rules(hosts);
        agent.kill();
        assertThat(hosts.tcpAsk(port)).isEqualTo("pod2");
        agent.start();
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), "pod2"::equals);
        assertThat(rules(hosts)).as("the same rules, none twice").isEqualTo(programmed);
        toEcho.write("after a restart\n");
        toEcho.flush();
        assertThat(fromEcho.readLine()).isEqualTo("after a restart");

        // Without the API server, traffic keeps flowing on the rules in place.
        cp.stopApiServer();
        try {
          await().during(Duration.ofSeconds(60)).atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(2))
              .until(() -> hosts.tcpAsk(port), "pod2"::equals);
        } finally {
          cp.startApiServer();
        }

        client.resources(PortForward.class).inNamespace(ns.name()).withName("web").delete();
        await().atMost(WAIT).until(() -> !hosts.net.exec(hosts.node, "nft", "list", "table", "inet", "portforward")
            .contains(String.valueOf(port)));
        assertThat(hosts.tcpAsk(port)).isEmpty();
      } finally {
        agent.close();
        client.resource(node).delete();
      }

      RoleProcess cleanup = RoleProcess.agent(cp, settings);
      assertThat(cleanup.runToCompletion("--cleanup")).isZero();
      assertThat(hosts.net.exec(hosts.node, "nft", "list", "tables")).doesNotContain("portforward");
    }
  }

  /** The node's table as sorted lines: the same rules in any chain order compare equal, duplicates do not. */
  private static List<String> rules(NodeTopology hosts) {
    return hosts.net.exec(hosts.node, "nft", "list", "table", "inet", "portforward").lines()
        .map(String::strip).sorted().toList();
  }


  private static EndpointSlice slice(TestNamespace ns, String address) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName("web-1")
        .addToLabels("kubernetes.io/service-name", "web").endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint()
        .build();
  }
}
