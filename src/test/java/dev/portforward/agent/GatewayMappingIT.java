package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.toService;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.ExternalEndpoint;
import dev.portforward.api.v1alpha1.Gateway;
import dev.portforward.api.v1alpha1.GatewayProtocol;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.gateway.Mapping;
import dev.portforward.gateway.Transport;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.HomeGateway;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * spec.gateway end to end: the operator accepts it, a real agent process programs the forward into
 * a node namespace and asks a real home gateway (miniupnpd in a router namespace) for the mapping,
 * and the PortForward's status says what the gateway granted. The agent process is a host on the
 * router's LAN (the router is linked to the test's own network namespace), so the mapping leads to
 * the agent's address there: the node's own address toward its gateway.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class GatewayMappingIT {

  private static final Duration WAIT = Duration.ofSeconds(60);
  /** The first forward's lease. */
  private static final Duration LEASE = Duration.ofSeconds(40);

  @Test
  void aForwardWithSpecGatewayIsMappedRenewedRestoredAndRemoved(KubernetesClient client, TestNamespace ns,
      ControlPlane cp) throws Exception {
    try (NodeTopology hosts = NodeTopology.create(); NetNs lan = NetNs.create();
        HomeGateway router = HomeGateway.start(lan, 61)) {
      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      String nodeName = ns.name() + "-node";
      Node node = client.resource(new NodeBuilder().withNewMetadata().withName(nodeName).withLabels(label)
          .endMetadata().build()).create();
      node.setStatus(new NodeStatusBuilder()
          .addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP).endAddress().build());
      client.resource(node).updateStatus();
      client.resource(new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName("web").endMetadata()
          .withNewSpec().addNewPort().withName("http").withPort(80).endPort()
          .addNewPort().withName("dns").withPort(80).withProtocol("UDP").endPort().endSpec().build()).create();
      int port = uniquePort();
      int externalPort = uniquePort();
      client.resource(toService(ns.name(), "web", port, "web", 80, spec -> {
        spec.getListen().setNodeSelector(label);
        spec.setGateway(gateway(GatewayProtocol.UPnP, externalPort, "40s"));
      })).create();

      Map<String, String> settings = Map.of(
          "portforward.agent.node-name", nodeName,
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)),
          "portforward.agent.gateway.address", router.lanAddress(),
          "portforward.agent.gateway.check-period", "2s");
      RoleProcess agent = RoleProcess.agent(cp, settings).start();
      String rule = "th dport " + externalPort + " dnat ip to " + router.hostAddress() + ":" + port;
      try {
        Instant asked = Instant.now();
        PortForward pf = awaitCondition(client, ns.name(), "web", Conditions.GATEWAY_MAPPED, "True", Reason.MAPPED);
        ExternalEndpoint granted = pf.getStatus().getExternalEndpoints().get(0);
        assertThat(pf.getStatus().getExternalEndpoints()).hasSize(1);
        assertThat(granted).extracting(ExternalEndpoint::getNode, ExternalEndpoint::getAddress, ExternalEndpoint::getPort,
                ExternalEndpoint::getProtocol)
            .containsExactly(nodeName, HomeGateway.EXTERNAL_IP, externalPort, GatewayProtocol.UPnP);
        Instant firstExpiry = Instant.parse(granted.getExpiresAt());
        assertThat(firstExpiry).isBetween(asked.plusSeconds(39), Instant.now().plusSeconds(41));
        assertThat(condition(pf, Conditions.GATEWAY_MAPPED).orElseThrow().getMessage())
            .startsWith("the gateway maps " + HomeGateway.EXTERNAL_IP + ":" + externalPort + " (UPnP) to node " + nodeName);
        assertThat(router.dnatRules()).contains(rule);

        // Renewed at half the 40 s lease. A renewal is a new lease of the same length, so the
        // recorded expiries say when it happened: the renewed expiry less the lease. Not before
        // half the first lease (1 s for the expiries' whole seconds), and before it lapses.
        Instant renewedExpiry = Instant.parse(await("lease renewed").atMost(WAIT).until(
            () -> externalEndpoint(client, ns).getExpiresAt(),
            expires -> expires != null && Instant.parse(expires).isAfter(firstExpiry)));
        Instant renewal = renewedExpiry.minus(LEASE);
        assertThat(renewal).as("renewed at half the lease, not before")
            .isAfterOrEqualTo(firstExpiry.minus(LEASE.dividedBy(2)).minusSeconds(1));
        assertThat(renewal).as("renewed before the lease runs out").isBefore(firstExpiry);

        // Editing the forward (a new generation, not yet programmed anywhere) keeps the mapping.
        pf = client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get();
        pf.getSpec().getGateway().setLease("30s");
        client.resource(pf).update();
        await("mapping kept through an edit").during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(6))
            .pollInterval(Duration.ofMillis(100)).until(router::dnatRules, rules -> rules.contains(rule));
        awaitCondition(client, ns.name(), "web", Conditions.GATEWAY_MAPPED, "True", Reason.MAPPED);

        // The router reboots and forgets every mapping; the agent's next check puts it back.
        router.reboot();
        assertThat(router.dnatRules()).doesNotContain(rule);
        await("mapping restored").atMost(WAIT).until(router::dnatRules, rules -> rules.contains(rule));

        // Changing the forward's protocol on the same external port: the router keeps only the new
        // mapping, whether the agent runs through the change or starts after it (then it finds the
        // old mapping in its node report). The hour's lease keeps a forgotten mapping in place.
        assertThat(mapped(router.dnatRules(), rule)).containsExactly("tcp");
        setProtocol(client, ns, Protocol.UDP);
        await("TCP mapping replaced").atMost(WAIT).untilAsserted(
            () -> assertThat(mapped(router.dnatRules(), rule)).as(router.dnatRules()).containsExactly("udp"));
        await("UDP mapping reported").atMost(WAIT).until(() -> GatewayMappings.reported(
                client.resources(PortForwardNodeReport.class).withName(nodeName).get().getStatus())
            .get(ns.name() + "/web"), m -> m != null && m.transport() == Transport.UDP);
        agent.close();
        setProtocol(client, ns, Protocol.TCP);
        agent = RoleProcess.agent(cp, settings).start();
        await("UDP mapping replaced after a restart").atMost(WAIT).untilAsserted(
            () -> assertThat(mapped(router.dnatRules(), rule)).as(router.dnatRules()).containsExactly("tcp"));

        // Deleting the forward removes the mapping; the gateway is away then (miniupnpd stopped,
        // its rules kept), so the removal fails, and it is retried until the gateway answers.
        router.pause();
        int logged = Files.readString(agent.log()).length();
        client.resources(PortForward.class).inNamespace(ns.name()).withName("web").delete();
        RoleProcess removing = agent;
        await("a failed removal").atMost(WAIT).until(() -> Files.readString(removing.log()).substring(logged),
            log -> log.contains("could not remove the gateway mapping of external port " + externalPort
                + ", will retry"));
        assertThat(router.dnatRules()).contains(rule);
        router.resume();
        await("mapping removed by a retry").atMost(WAIT).until(router::dnatRules, rules -> !rules.contains(rule));

        // The router maps external ports from 1024 up only: the refusal is the agent's words, named by node.
        client.resource(toService(ns.name(), "refused", uniquePort(), "web", 80, spec -> {
          spec.getListen().setNodeSelector(label);
          spec.setGateway(gateway(GatewayProtocol.UPnP, 1000, "1h"));
        })).create();
        pf = awaitCondition(client, ns.name(), "refused", Conditions.GATEWAY_MAPPED, "False", Reason.MAPPING_REFUSED);
        assertThat(condition(pf, Conditions.GATEWAY_MAPPED).orElseThrow().getMessage()).isEqualTo("node " + nodeName
            + ": the gateway does not allow this mapping (UPnP Action not authorized: its rules forbid this external"
            + " port or this host)");
        assertThat(pf.getStatus().getExternalEndpoints()).isEmpty();
        client.resources(PortForward.class).inNamespace(ns.name()).withName("refused").delete();

        // A forward mapped with Auto (PCP here) outlives its agent; agent --cleanup removes it.
        int autoPort = uniquePort();
        client.resource(toService(ns.name(), "auto", autoPort, "web", 80, spec -> {
          spec.getListen().setNodeSelector(label);
          spec.setGateway(gateway(GatewayProtocol.Auto, autoPort, "1h"));
        })).create();
        pf = awaitCondition(client, ns.name(), "auto", Conditions.GATEWAY_MAPPED, "True", Reason.MAPPED);
        assertThat(pf.getStatus().getExternalEndpoints()).extracting(ExternalEndpoint::getProtocol)
            .containsExactly(GatewayProtocol.PCP);
        String autoRule = "th dport " + autoPort + " dnat ip to " + router.hostAddress() + ":" + autoPort;
        await().atMost(WAIT).until(router::dnatRules, rules -> rules.contains(autoRule));
        agent.close();
        assertThat(router.dnatRules()).as("stopping the agent leaves mappings, like rules").contains(autoRule);
        assertThat(RoleProcess.agent(cp, settings).runToCompletion("--cleanup")).isZero();
        assertThat(router.dnatRules()).doesNotContain(autoRule);
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  /**
   * listen.addresses that leave out the gateway-side address are refused a mapping. A forward
   * deleted while its agent is down keeps its mapping at the gateway (a 1 h lease); the next
   * agent, started while the API server is away, still finds the mapping in its node's report
   * once the API server answers, and removes it.
   */
  @Test
  void fencedAddressesAreRefusedAndAnAgentStartedWithoutTheApiServerRemovesTheMappingsItsReportLists(KubernetesClient client,
      TestNamespace ns, ControlPlane cp) throws Exception {
    try (NodeTopology hosts = NodeTopology.create(); NetNs lan = NetNs.create();
        HomeGateway router = HomeGateway.start(lan, 63); OneNode node = OneNode.create(client, ns)) {
      int port = uniquePort();
      node.forward("web", port, spec -> spec.setGateway(gateway(GatewayProtocol.UPnP, port, "1h")));
      RoleProcess agent = node.agent(cp, hosts, Map.of("portforward.agent.gateway.address", router.lanAddress(),
          "portforward.agent.gateway.check-period", "5s")).start();
      String rule = "th dport " + port + " dnat ip to " + router.hostAddress() + ":" + port;
      try {
        awaitCondition(client, ns.name(), "web", Conditions.GATEWAY_MAPPED, "True", Reason.MAPPED);
        await().atMost(WAIT).until(router::dnatRules, rules -> rules.contains(rule));

        // A forward whose listen.addresses leave out the node's address toward the gateway is
        // refused a mapping, which would lead to an address the forward does not listen on.
        int fencedPort = uniquePort();
        node.forward("fenced", fencedPort, spec -> {
          spec.getListen().setAddresses(List.of(NodeTopology.NODE_IP));
          spec.setGateway(gateway(GatewayProtocol.UPnP, fencedPort, "1h"));
        });
        PortForward fenced = awaitCondition(client, ns.name(), "fenced", Conditions.GATEWAY_MAPPED, "False",
            Reason.MAPPING_REFUSED);
        assertThat(condition(fenced, Conditions.GATEWAY_MAPPED).orElseThrow().getMessage())
            .contains("listen.addresses does not include " + router.hostAddress());
        assertThat(router.dnatRules()).doesNotContain("th dport " + fencedPort + " ");
        await("the refusal in the agent's metrics").atMost(WAIT)
            .until(() -> agent.gauge("portforward_agent_gateway_mappings_refused"), n -> n == 1);
        client.resources(PortForward.class).inNamespace(ns.name()).withName("fenced").delete();
        await("a deleted forward's refusal is forgotten").atMost(WAIT)
            .until(() -> agent.gauge("portforward_agent_gateway_mappings_refused"), n -> n == 0);

        agent.kill();
        client.resources(PortForward.class).inNamespace(ns.name()).withName("web").delete();
        int logged = Files.readString(agent.log()).length();
        cp.stopApiServer();
        try {
          agent.launch();
          await("the agent meets the API server's absence").atMost(WAIT)
              .until(() -> Files.readString(agent.log()).substring(logged), log -> log.contains("watch failed, retrying"));
          assertThat(agent.get("/q/health/ready").statusCode()).as("not ready before its caches have synced")
              .isEqualTo(503);
        } finally {
          cp.startApiServer();
        }
        agent.awaitStarted();

        await("the mapping its node's report listed is removed").atMost(WAIT)
            .until(router::dnatRules, rules -> !rules.contains(rule));
      } finally {
        agent.close();
      }
    }
  }

  /**
   * Two nodes, each with its own agent and node namespace: the first programmed node by name
   * holds the mapping and the other holds none; when the first stops being programmed (the
   * forward's node selector no longer selects it), the next one takes the mapping over.
   */
  @Test
  void theFirstProgrammedNodeHoldsTheMappingAndTheNextTakesOver(KubernetesClient client, TestNamespace ns,
      ControlPlane cp) throws Exception {
    try (NodeTopology hostsA = NodeTopology.create(); NodeTopology hostsB = NodeTopology.create();
        NetNs lan = NetNs.create(); HomeGateway router = HomeGateway.start(lan, 65);
        OneNode first = OneNode.create(client, ns)) {
      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      String second = first.name() + "-2"; // after the first by name
      Node secondNode = client.resource(new NodeBuilder().withNewMetadata().withName(second).withLabels(label)
          .endMetadata().build()).create();
      secondNode.setStatus(new NodeStatusBuilder()
          .addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP).endAddress().build());
      client.resource(secondNode).updateStatus();
      int port = uniquePort();
      first.forward("web", port, spec -> spec.setGateway(gateway(GatewayProtocol.UPnP, port, "1h")));
      Map<String, String> gatewaySettings = Map.of("portforward.agent.gateway.address", router.lanAddress(),
          "portforward.agent.gateway.check-period", "2s");
      Map<String, String> secondSettings = new HashMap<>(gatewaySettings);
      secondSettings.put("portforward.agent.node-name", second);
      secondSettings.put("portforward.agent.command-prefix", String.join(",", NetNs.inside(hostsB.node)));
      RoleProcess agentA = first.agent(cp, hostsA, gatewaySettings).start();
      RoleProcess agentB = RoleProcess.agent(cp, secondSettings).start();
      String rule = "th dport " + port + " dnat ip to " + router.hostAddress() + ":" + port;
      String id = ns.name() + "/web";
      try {
        await("both nodes programmed").atMost(WAIT).until(
            () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get(),
            pf -> pf.getStatus() != null
                && pf.getStatus().getNodes().stream().filter(n -> n.isProgrammed()).count() == 2);
        PortForward pf = awaitCondition(client, ns.name(), "web", Conditions.GATEWAY_MAPPED, "True", Reason.MAPPED);
        assertThat(pf.getStatus().getExternalEndpoints()).extracting(ExternalEndpoint::getNode)
            .containsExactly(first.name());
        await().atMost(WAIT).until(router::dnatRules, rules -> rules.contains(rule));
        await("the first node reports the mapping").atMost(WAIT).until(() -> mappings(client, first.name()),
            m -> m.containsKey(id));
        await("the second node holds none").during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10))
            .until(() -> mappings(client, second), m -> !m.containsKey(id));

        // The first node stops being programmed: the second takes the mapping over.
        client.nodes().withName(first.name()).edit(n -> {
          n.getMetadata().getLabels().remove("portforward.dev/test");
          return n;
        });
        await("the second node holds the mapping").atMost(WAIT).until(
            () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get(),
            p -> p.getStatus().getExternalEndpoints().stream().map(ExternalEndpoint::getNode).toList()
                .equals(List.of(second)));
        await("the first node lets go").atMost(WAIT)
            .until(() -> mappings(client, first.name()), m -> !m.containsKey(id));
        await("the second node reports it").atMost(WAIT).until(() -> mappings(client, second), m -> m.containsKey(id));
        await("mapped at the gateway").atMost(WAIT).until(router::dnatRules, rules -> rules.contains(rule));
        awaitCondition(client, ns.name(), "web", Conditions.GATEWAY_MAPPED, "True", Reason.MAPPED);
      } finally {
        agentA.close();
        agentB.close();
        client.resource(secondNode).delete();
      }
    }
  }

  private static Map<String, Mapping> mappings(KubernetesClient client, String node) {
    PortForwardNodeReport report = client.resources(PortForwardNodeReport.class).withName(node).get();
    return report == null ? Map.of() : GatewayMappings.reported(report.getStatus());
  }

  private static void setProtocol(KubernetesClient client, TestNamespace ns, Protocol protocol) {
    PortForward pf = client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get();
    pf.getSpec().setProtocol(protocol);
    pf.getSpec().getGateway().setLease("1h");
    client.resource(pf).update();
  }

  /**
   * The transports (tcp, udp) of the router's rules that end in {@code rule}; miniupnpd matches
   * the IP header's protocol byte, which nft lists as {@code @nh,72,8 0x6} (TCP) or {@code 0x11} (UDP).
   */
  private static List<String> mapped(String rules, String rule) {
    return rules.lines().filter(line -> line.contains(rule))
        .map(line -> line.contains(" 0x11 " + rule) ? "udp" : line.contains(" 0x6 " + rule) ? "tcp" : line)
        .toList();
  }

  private static ExternalEndpoint externalEndpoint(KubernetesClient client, TestNamespace ns) {
    PortForward pf = client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get();
    return pf.getStatus().getExternalEndpoints().isEmpty() ? new ExternalEndpoint()
        : pf.getStatus().getExternalEndpoints().get(0);
  }

  private static Gateway gateway(GatewayProtocol protocol, int externalPort, String lease) {
    Gateway gateway = new Gateway();
    gateway.setProtocol(protocol);
    gateway.setExternalPort(externalPort);
    gateway.setLease(lease);
    return gateway;
  }
}
