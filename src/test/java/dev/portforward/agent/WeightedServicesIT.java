package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * target.services end to end: a PortForward in a real API server, the operator, and a node agent
 * process programming a node namespace, with two selectorless Services whose backends answer with
 * their own name (web-v1 on pod1, web-v2 on pod2). New connections follow the weights, a Service
 * with weight 0 gets none, and a deleted Service leaves all the traffic to the other.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class WeightedServicesIT {

  private static final Duration WAIT = Duration.ofSeconds(60);
  /**
   * Connections per tally. With weights 80/20 pod2 expects 60 of 300 (standard deviation 7):
   * "pod1 more than twice pod2" fails only when pod2 gets 100 or more, about once in a billion
   * runs; pod2 getting none, 0.8^300.
   */
  private static final int CONNECTIONS = 300;

  @Test
  void connectionsFollowTheWeightsWeightZeroGetsNoneAndADeletedServiceLeavesAllToTheOther(KubernetesClient client,
      TestNamespace ns, ControlPlane cp) throws Exception {
    try (NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(client, ns)) {
      Service v1 = client.resource(service(ns, "web-v1")).create();
      client.resource(service(ns, "web-v2")).create();
      client.resource(slice(ns, "web-v1", NodeTopology.POD1_IP)).create();
      client.resource(slice(ns, "web-v2", NodeTopology.POD2_IP)).create();
      int port = uniquePort();
      client.resource(PortForwards.of(ns.name(), "canary", """
          listen: {port: %d, nodeSelector: {portforward.dev/test: %s}},
          target: {services: [{name: web-v1, port: 80, weight: 80}, {name: web-v2, port: 80, weight: 20}]}"""
          .formatted(port, ns.name()))).create();

      RoleProcess agent = node.agent(cp, hosts).start();
      try {
        awaitCondition(client, ns.name(), "canary", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), answer -> !answer.isEmpty());

        Map<String, Long> weighted = tally(hosts, port);
        assertThat(weighted.keySet()).as("answers to %d connections: %s", CONNECTIONS, weighted)
            .containsExactlyInAnyOrder("pod1", "pod2");
        assertThat(weighted.get("pod1")).as("weight 80 against 20: %s", weighted)
            .isGreaterThan(2 * weighted.get("pod2"));

        setWeights(client, ns, 0, 20);
        await().atMost(WAIT).until(() -> tally(hosts, port), Map.of("pod2", (long) CONNECTIONS)::equals);

        setWeights(client, ns, 80, 20);
        await().atMost(WAIT).until(() -> tally(hosts, port).containsKey("pod1"));
        client.resource(v1).delete();
        await().atMost(WAIT).until(() -> tally(hosts, port), Map.of("pod2", (long) CONNECTIONS)::equals);
        assertThat(PortForwards.condition(client.resources(PortForward.class).inNamespace(ns.name()).withName("canary")
            .get(), Conditions.RESOLVED_REFS)).get().satisfies(c -> assertThat(c.getMessage())
            .contains("Service web-v1 not found", "taking no share, the others get all the traffic"));
      } finally {
        agent.close();
      }
    }
  }

  private static void setWeights(KubernetesClient client, TestNamespace ns, int v1, int v2) {
    client.resources(PortForward.class).inNamespace(ns.name()).withName("canary").edit(pf -> {
      var services = pf.getSpec().getTarget().getServices();
      services.get(0).setWeight(v1);
      services.get(1).setWeight(v2);
      return pf;
    });
  }

  /** Who answers {@link #CONNECTIONS} new connections from the client, counted by answer ("" for none). */
  private static Map<String, Long> tally(NodeTopology hosts, int port) {
    String answers = hosts.net.exec(hosts.client, "bash", "-c", "for i in $(seq " + CONNECTIONS + "); do"
        + " socat -T2 - TCP:" + NodeTopology.NODE_IP + ":" + port + ",connect-timeout=1 </dev/null 2>/dev/null"
        + " || echo none; done");
    return Arrays.stream(answers.split("\n")).map(String::strip).filter(a -> !a.isEmpty())
        .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
  }

  private static Service service(TestNamespace ns, String name) {
    return new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName(name).endMetadata()
        .withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build();
  }

  private static EndpointSlice slice(TestNamespace ns, String service, String address) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName(service + "-1")
        .addToLabels("kubernetes.io/service-name", service).endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint()
        .build();
  }
}
