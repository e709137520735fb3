package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.toService;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.agent.nft.Nft;
import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PodsTarget;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.ReadyPods;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The CVE-2021-25740 pattern against a real agent: a tenant points the EndpointSlice of a
 * selectorless Service, behind an accepted forward, at the node's own address, to reach a service
 * the node's firewall keeps from clients. The agent re-checks every backend against the denylist
 * (the node's own addresses included) and does not program it, whatever the operator decided.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class AgentDenylistIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void aTenantsEndpointSliceCannotLeadAForwardToTheNodesOwnServices(KubernetesClient client, TestNamespace ns,
      ControlPlane cp) throws Exception {
    try (NodeTopology hosts = NodeTopology.create()) {
      // The node's own service on 2222, which its firewall keeps from clients (DNATed flows pass,
      // as kube-proxy's own rules let them).
      hosts.net.spawn(hosts.node, "socat", "TCP-LISTEN:2222,bind=" + NodeTopology.NODE_IP + ",fork,reuseaddr",
          "SYSTEM:echo node-only");
      hosts.net.exec(hosts.node, "nft", "add", "table", "inet", "guard");
      hosts.net.exec(hosts.node, "nft", "add", "chain", "inet", "guard", "input",
          "{ type filter hook input priority 0; policy accept; }");
      hosts.net.exec(hosts.node, "nft", "add", "rule", "inet", "guard", "input", "ct", "status", "dnat", "accept");
      hosts.net.exec(hosts.node, "nft", "add", "rule", "inet", "guard", "input", "tcp", "dport", "2222", "drop");
      assertThat(hosts.tcpAsk(2222)).as("the firewall keeps clients from the node's service").isEmpty();

      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      String nodeName = ns.name() + "-node";
      Node node = client.resource(new NodeBuilder().withNewMetadata().withName(nodeName).withLabels(label)
          .endMetadata().build()).create();
      node.setStatus(new NodeStatusBuilder()
          .addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP).endAddress().build());
      client.resource(node).updateStatus();
      for (String service : List.of("web", "sneaky")) {
        client.resource(new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName(service).endMetadata()
            .withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build()).create();
      }
      client.resource(slice(ns, "web", NodeTopology.POD1_IP, 8080)).create();
      EndpointSlice sneaky = client.resource(slice(ns, "sneaky", NodeTopology.POD2_IP, 8080)).create();
      int webPort = uniquePort();
      int sneakyPort = uniquePort();
      client.resource(toService(ns.name(), "web", webPort, "web", 80, spec -> spec.getListen().setNodeSelector(label)))
          .create();
      client.resource(toService(ns.name(), "sneaky", sneakyPort, "sneaky", 80,
          spec -> spec.getListen().setNodeSelector(label))).create();

      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", nodeName,
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)))).start();
      try {
        awaitCondition(client, ns.name(), "sneaky", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(sneakyPort), "pod2"::equals);

        // The tenant rewrites its own EndpointSlice: the backend becomes the node itself.
        sneaky.getEndpoints().get(0).setAddresses(List.of(NodeTopology.NODE_IP));
        sneaky.getPorts().get(0).setPort(2222);
        client.resource(sneaky).update();

        PortForward refused = await().atMost(WAIT).until(
            () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("sneaky").get(),
            pf -> condition(pf, Conditions.READY).filter(c -> "False".equals(c.getStatus())).isPresent()
                && messages(pf).contains(NodeTopology.NODE_IP));
        if (condition(refused, Conditions.ACCEPTED).map(c -> "True".equals(c.getStatus())).orElse(false)) {
          // The operator let it through: the agent's own check is what stopped it, and says so.
          assertThat(condition(refused, Conditions.PROGRAMMED)).get().extracting(Condition::getMessage).asString()
              .contains("backend " + NodeTopology.NODE_IP + " is refused: it is an address of this node");
          assertThat(refused.getStatus().getNodes()).singleElement().satisfies(state -> {
            assertThat(state.isProgrammed()).isFalse();
            assertThat(state.getMessage()).contains("portforward.agent.node-address-targets");
          });
          await("the forward the node should carry and does not, in the agent's metrics").atMost(WAIT)
              .until(() -> agent.gauge("portforward_agent_forwards_unprogrammed"), n -> n == 1);
        }
        await().atMost(WAIT).until(() -> hosts.tcpAsk(sneakyPort), answer -> !answer.equals("pod2"));
        assertThat(hosts.tcpAsk(sneakyPort)).as("the node-only service through the forward").isEmpty();
        assertThat(hosts.tcpAsk(webPort)).as("the other forward is untouched").isEqualTo("pod1");
      } finally {
        agent.close();
        client.resource(node).delete();
      }

      // The same forward programmed without the agent's check reaches the node-only service: the
      // firewall above is no reason for the refusal seen before.
      NodeSync unchecked = new NodeSync(new Nft(NetNs.inside(hosts.node)));
      assertThat(unchecked.sync(List.of(new NodeForward(ns.name(), "sneaky", 1, Protocol.TCP,
          List.of(Cidr.parseAddress(NodeTopology.NODE_IP)), sneakyPort, List.of(), List.of(),
          List.of(new NodeForward.Backend(Cidr.parseAddress(NodeTopology.NODE_IP), 2222))))).error()).isNull();
      await().atMost(WAIT).until(() -> hosts.tcpAsk(sneakyPort), "node-only"::equals);
      unchecked.cleanup();
    }
  }

  /**
   * Never DNAT to loopback: a forward whose pod claims 127.0.0.1 is not programmed, so a packet
   * sent to it from a client never reaches what the node serves on loopback, and the agent never
   * turns on route_localnet (CVE-2020-8558), without which the kernel would drop such packets anyway.
   */
  @Test
  void aPacketTowardALoopbackBackendIsNeverForwarded(KubernetesClient client, TestNamespace ns, ControlPlane cp)
      throws Exception {
    try (NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(client, ns)) {
      // What the node serves on loopback only, as a kubelet or a local agent does.
      hosts.net.spawn(hosts.node, "socat", "TCP-LISTEN:2223,bind=127.0.0.1,fork,reuseaddr",
          "SYSTEM:echo loopback-only");
      ReadyPods.create(client, ns, "local", "127.0.0.1");
      int webPort = uniquePort();
      int localPort = uniquePort();
      node.forward("web", webPort);
      node.forward("local", localPort, spec -> {
        PodsTarget pods = new PodsTarget();
        pods.setSelector(Map.of("app", "local"));
        pods.setPort(2223);
        Target target = new Target();
        target.setPods(pods);
        spec.setTarget(target);
      });
      RoleProcess agent = node.agent(cp, hosts).start();
      try {
        awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(webPort), "pod1"::equals);
        PortForward local = await().atMost(WAIT).until(
            () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("local").get(),
            pf -> condition(pf, Conditions.READY).filter(c -> "False".equals(c.getStatus())).isPresent()
                && messages(pf).contains("127.0.0.1"));
        if (condition(local, Conditions.ACCEPTED).map(c -> "True".equals(c.getStatus())).orElse(false)) {
          // The operator let it through: the agent's own check is what stopped it, and says so.
          assertThat(messages(local)).contains("backend 127.0.0.1 is refused: it is loopback");
        }
        assertThat(hosts.tcpAsk(localPort)).as("a packet toward the loopback backend").isEmpty();
        assertThat(hosts.net.exec(hosts.node, "nft", "list", "table", "inet", "portforward"))
            .as("the node's table").contains(String.valueOf(webPort)).doesNotContain("127.0.0.1");
        assertThat(routeLocalnet(hosts)).isEqualTo("0");
      } finally {
        agent.close();
      }

      // The probe sees a forward to loopback when there is one: the same forward programmed
      // without the agent's check, with route_localnet turned on, reaches the loopback service.
      NodeSync unchecked = new NodeSync(new Nft(NetNs.inside(hosts.node)));
      assertThat(unchecked.sync(List.of(new NodeForward(ns.name(), "local", 1, Protocol.TCP,
          List.of(Cidr.parseAddress(NodeTopology.NODE_IP)), localPort, List.of(), List.of(),
          List.of(new NodeForward.Backend(Cidr.parseAddress("127.0.0.1"), 2223))))).error()).isNull();
      hosts.net.exec(hosts.node, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1");
      await().atMost(WAIT).until(() -> hosts.tcpAsk(localPort), "loopback-only"::equals);
      unchecked.cleanup();
    }
  }

  private static String routeLocalnet(NodeTopology hosts) {
    return hosts.net.exec(hosts.node, "sysctl", "-n", "net.ipv4.conf.all.route_localnet").strip();
  }

  private static String messages(PortForward pf) {
    return pf == null || pf.getStatus() == null ? ""
        : pf.getStatus().getConditions().stream().map(Condition::getMessage).collect(Collectors.joining("\n"));
  }

  private static EndpointSlice slice(TestNamespace ns, String service, String address, int port) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName(service + "-1")
        .addToLabels("kubernetes.io/service-name", service).endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(port).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint()
        .build();
  }
}
