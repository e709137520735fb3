package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.portforward.api.v1alpha1.ApplicationProtocol;
import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PodsTarget;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Route;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.common.Cidr;
import dev.portforward.common.NodeSelection;
import dev.portforward.common.RelayNames;
import dev.portforward.common.ForwardSlices;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import dev.portforward.api.v1alpha1.ExternalEndpoint;
import dev.portforward.api.v1alpha1.Gateway;
import dev.portforward.api.v1alpha1.GatewayProtocol;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.gateway.MappingRequest;
import dev.portforward.gateway.Method;
import dev.portforward.gateway.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NodePlannerTest {

  private final Node node = new NodeBuilder().withNewMetadata().withName("n1").addToLabels("role", "edge").endMetadata()
      .withNewStatus().addNewAddress().withType("InternalIP").withAddress("192.0.2.1").endAddress().endStatus().build();
  private final List<PortForward> forwards = new ArrayList<>();
  private final List<Service> services = new ArrayList<>();
  private final List<EndpointSlice> slices = new ArrayList<>();

  @Test
  void onlyAcceptedForwardsThatSelectThisNodeArePlanned() {
    forwards.add(external("accepted", Map.of(), "203.0.113.5", true));
    forwards.add(external("refused", Map.of(), "203.0.113.6", false));
    forwards.add(external("elsewhere", Map.of("role", "core"), "203.0.113.7", true));

    NodePlanner.Plan plan = plan();

    assertThat(plan.forwards()).extracting(NodeForward::name).containsExactly("accepted");
    assertThat(plan.report()).extracting(ForwardReport::getName, ForwardReport::isProgrammed, ForwardReport::getAddresses)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("accepted", true, List.of("192.0.2.1")));
  }

  @Test
  void loopbackBackendsAndForeignListenAddressesAreReportedNotProgrammed() {
    forwards.add(external("loop", Map.of(), "127.0.0.1", true));
    PortForward foreign = external("foreign", Map.of(), "203.0.113.5", true);
    foreign.getSpec().getListen().setAddresses(List.of("198.51.100.1"));
    forwards.add(foreign);

    NodePlanner.Plan plan = plan();

    assertThat(plan.forwards()).isEmpty();
    assertThat(plan.report()).extracting(ForwardReport::getMessage).containsExactly(
        "none of listen.addresses [198.51.100.1] is an address of this node",
        "backend 127.0.0.1 is refused: it is loopback; the forward stays unprogrammed while any backend is refused");
  }

  @Test
  void theForwardCarriesTypedValuesOnly() {
    PortForward pf = external("typed", Map.of(), "203.0.113.5", true);
    pf.getSpec().setSourceRanges(List.of("10.1.2.3/8"));
    forwards.add(pf);

    NodeForward forward = plan().forwards().get(0);

    assertThat(forward.sourceRanges()).containsExactly(Cidr.parse("10.0.0.0/8"));
    assertThat(forward.backends()).containsExactly(new NodeForward.Backend(Cidr.parseAddress("203.0.113.5"), 443));
  }

  @Test
  void theKernelCountsConnectionsWithoutARelayAndLimitsTheSourceRateInEveryMode() {
    forwards.add(external("plain", Map.of(), "203.0.113.5", true));
    for (RelayMode mode : List.of(RelayMode.None, RelayMode.Sidecar)) {
      PortForward pf = external(mode.name().toLowerCase(Locale.ROOT), Map.of(), "203.0.113.5", true);
      Relay relay = new Relay();
      relay.setMode(mode);
      relay.setMaxConnections(100);
      relay.setMaxConnectionsPerSecondPerSource(5);
      pf.getSpec().setRelay(relay);
      pf.getSpec().getListen().setPort(8444 + forwards.size());
      forwards.add(pf);
    }

    assertThat(plan().forwards()).extracting(NodeForward::name, NodeForward::limits).containsExactlyInAnyOrder(
        tuple("plain", NodeForward.Limits.NONE),
        tuple("none", new NodeForward.Limits(100, 5)),
        tuple("sidecar", new NodeForward.Limits(0, 5)));
  }

  @Test
  void aSidecarForwardDnatsOnlyToPodsThatCarryItsSidecar() {
    PortForward pf = external("web", Map.of(), "203.0.113.5", true);
    PodsTarget target = new PodsTarget();
    target.setSelector(Map.of("app", "web"));
    target.setPort(8080);
    pf.getSpec().getTarget().setExternal(null);
    pf.getSpec().getTarget().setPods(target);
    Relay relay = new Relay();
    relay.setMode(RelayMode.Sidecar);
    pf.getSpec().setRelay(relay);
    forwards.add(pf);
    // The operator publishes every selected pod, and apart the pods that carry the forward's sidecar.
    slices.add(published("web", ForwardSlices.TARGET, 8080,
        endpoint("10.0.0.1", true, null), endpoint("10.0.0.2", true, null), endpoint("10.0.0.3", true, null)));
    slices.add(published("web", ForwardSlices.SIDECARS, null, endpoint("10.0.0.1", false, null)));
    // Slices for another forward, and one another manager wrote, count for nothing.
    slices.add(published("other", ForwardSlices.SIDECARS, null, endpoint("10.0.0.2", true, null)));
    EndpointSlice forged = published("web", ForwardSlices.SIDECARS, null, endpoint("10.0.0.3", true, null));
    forged.getMetadata().getLabels().put(ForwardSlices.MANAGED_BY_LABEL, "endpointslice-controller.k8s.io");
    slices.add(forged);

    NodeForward forward = plan().forwards().get(0);

    assertThat(forward.backends()).containsExactly(new NodeForward.Backend(Cidr.parseAddress("10.0.0.1"), 8080));
  }

  @Test
  void aPodsTargetLeadsToTheReadyEndpointsTheOperatorPublishedForItAndEachRouteToItsOwn() {
    PortForward pf = external("web", Map.of(), "203.0.113.5", true);
    PodsTarget target = new PodsTarget();
    target.setSelector(Map.of("app", "web"));
    target.setPort(8080);
    pf.getSpec().getTarget().setExternal(null);
    pf.getSpec().getTarget().setPods(target);
    Route route = new Route();
    route.setSourceRanges(List.of("10.1.0.0/16"));
    route.setTarget(new Target());
    route.getTarget().setPods(target);
    pf.getSpec().setRoutes(List.of(route));
    forwards.add(pf);
    slices.add(published("web", ForwardSlices.TARGET, 8080, endpoint("10.0.0.1", true, null),
        endpoint("10.0.0.2", false, null)));
    slices.add(published("web", ForwardSlices.route(0), 9090, endpoint("10.0.1.1", true, null)));

    NodeForward forward = plan().forwards().get(0);

    assertThat(forward.backends()).containsExactly(new NodeForward.Backend(Cidr.parseAddress("10.0.0.1"), 8080));
    assertThat(forward.routes()).singleElement().extracting(NodeForward.SourceRoute::backends).asList()
        .containsExactly(new NodeForward.Backend(Cidr.parseAddress("10.0.1.1"), 9090));
  }

  /** A slice the operator published for {@code forward} in namespace n ({@link ForwardSlices}). */
  private static EndpointSlice published(String forward, String resolves, Integer port,
      io.fabric8.kubernetes.api.model.discovery.v1.Endpoint... endpoints) {
    EndpointSliceBuilder slice = new EndpointSliceBuilder().withNewMetadata().withNamespace("n")
        .withName(forward + "-" + resolves + "-ipv4-0")
        .addToLabels(ForwardSlices.MANAGED_BY_LABEL, ForwardSlices.MANAGED_BY)
        .addToLabels(ForwardSlices.FORWARD_LABEL, forward)
        .addToLabels(ForwardSlices.RESOLVES_LABEL, resolves).endMetadata()
        .withAddressType("IPv4")
        .withEndpoints(endpoints);
    if (port != null) {
      slice.addNewPort().withName("").withPort(port).withProtocol("TCP").endPort();
    }
    return slice.build();
  }

  private static io.fabric8.kubernetes.api.model.discovery.v1.Endpoint endpoint(String ip, boolean ready,
      String nodeName) {
    return new io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder().withAddresses(ip)
        .withNewConditions().withReady(ready).endConditions().withNodeName(nodeName).build();
  }

  @Test
  void aRelayDeploymentForwardLeadsToTheReadyRelayPodsNotToTheTarget() {
    PortForward pf = external("relayed", Map.of(), "backend.example.com", true);
    Relay relay = new Relay();
    relay.setMode(RelayMode.Deployment);
    pf.getSpec().setRelay(relay);
    forwards.add(pf);
    services.add(new ServiceBuilder().withNewMetadata().withNamespace("n").withName("relayed-relay").endMetadata()
        .withNewSpec().withClusterIP("None").addNewPort().withName("relay").withPort(RelayNames.RELAY_PORT).endPort()
        .endSpec().build());
    slices.add(new EndpointSliceBuilder().withNewMetadata().withNamespace("n").withName("relayed-relay-1")
        .addToLabels("kubernetes.io/service-name", "relayed-relay").endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("relay").withPort(RelayNames.RELAY_PORT).endPort()
        .addNewEndpoint().withAddresses("10.244.0.7").withNewConditions().withReady(true).endConditions().endEndpoint()
        .addNewEndpoint().withAddresses("10.244.0.8").withNewConditions().withReady(false).endConditions().endEndpoint()
        .build());

    NodePlanner.Plan plan = plan();

    assertThat(plan.forwards()).singleElement().extracting(NodeForward::backends).asList()
        .containsExactly(new NodeForward.Backend(Cidr.parseAddress("10.244.0.7"), RelayNames.RELAY_PORT));
    assertThat(plan.report()).extracting(ForwardReport::isProgrammed).containsExactly(true);
  }

  @Test
  void backendsKnownToRunOnAnotherNodeAreMarkedForMasqueradingTheOthersKeepTheClientAddress() {
    forwards.add(serviceForward("spread", "web"));
    services.add(selectorless("web"));
    slices.add(new EndpointSliceBuilder().withNewMetadata().withNamespace("n").withName("web-1")
        .addToLabels("kubernetes.io/service-name", "web").endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).endPort()
        .addNewEndpoint().withAddresses("10.244.1.5").withNodeName("n1").endEndpoint()
        .addNewEndpoint().withAddresses("10.244.2.5").withNodeName("n9").endEndpoint()
        .addNewEndpoint().withAddresses("10.244.3.5").endEndpoint()
        .build());
    PortForward byPods = external("by-pods", Map.of(), "203.0.113.5", true);
    byPods.getSpec().getListen().setPort(7000);
    PodsTarget target = new PodsTarget();
    target.setSelector(Map.of("app", "api"));
    target.setPort(9090);
    byPods.getSpec().getTarget().setExternal(null);
    byPods.getSpec().getTarget().setPods(target);
    forwards.add(byPods);
    slices.add(published("by-pods", ForwardSlices.TARGET, 9090,
        endpoint("10.244.1.6", true, "n1"), endpoint("10.244.2.6", true, "n9")));

    NodePlanner.Plan plan = plan();

    assertThat(plan.forwards()).extracting(NodeForward::name, f -> f.elsewhere().stream().map(io.netty.util.NetUtil::toAddressString).toList())
        .containsExactlyInAnyOrder(
            tuple("spread", List.of("10.244.2.5")),
            tuple("by-pods", List.of("10.244.2.6")));
    assertThat(plan.forwards()).filteredOn(f -> f.name().equals("spread")).singleElement()
        .extracting(f -> f.backends().size()).isEqualTo(3);
  }

  private NodePlanner.Plan plan() {
    return NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT);
  }

  /** A node with an InternalIP, an IPv6 InternalIP and an ExternalIP, and other local addresses nobody lists. */
  private static Node dualStackNode(String... extraLabels) {
    NodeBuilder node = new NodeBuilder().withNewMetadata().withName("n2").endMetadata()
        .withNewStatus()
        .addNewAddress().withType("InternalIP").withAddress("192.0.2.1").endAddress()
        .addNewAddress().withType("InternalIP").withAddress("fd77:1::1").endAddress()
        .addNewAddress().withType("ExternalIP").withAddress("198.51.100.7").endAddress()
        .addNewAddress().withType("Hostname").withAddress("n2").endAddress()
        .endStatus();
    for (String label : extraLabels) {
      node.editMetadata().addToLabels(label, "").endMetadata();
    }
    return node.build();
  }

  @Test
  void aForwardListensOnTheNodesOwnAddressesOnlyAndListenAddressesCompareAsAddresses() {
    forwards.add(external("any", Map.of(), "203.0.113.5", true));
    PortForward spelled = external("spelled", Map.of(), "203.0.113.5", true);
    spelled.getSpec().getListen().setPort(9443);
    spelled.getSpec().getListen().setAddresses(List.of("FD77:0001:0000:0000:0000:0000:0000:0001", "10.9.9.9"));
    forwards.add(spelled);

    NodePlanner.Plan plan = NodePlanner.plan(dualStackNode(), view(), NodePlanner.Policy.DEFAULT);

    assertThat(plan.forwards()).extracting(NodeForward::name, NodeForward::listenAddresses).containsExactly(
        org.assertj.core.groups.Tuple.tuple("any", List.of(Cidr.parseAddress("192.0.2.1"),
            Cidr.parseAddress("fd77:1::1"), Cidr.parseAddress("198.51.100.7"))),
        org.assertj.core.groups.Tuple.tuple("spelled", List.of(Cidr.parseAddress("fd77:1::1"))));
    assertThat(plan.report()).extracting(ForwardReport::getAddresses)
        .containsExactly(List.of("192.0.2.1", "fd77:1::1", "198.51.100.7"), List.of("fd77:1::1"));
  }

  @Test
  void aNodeWithoutAddressesCarriesNothingAndSaysWhy() {
    forwards.add(external("web", Map.of(), "203.0.113.5", true));
    Node bare = new NodeBuilder().withNewMetadata().withName("bare").endMetadata().build();

    NodePlanner.Plan plan = NodePlanner.plan(bare, view(), NodePlanner.Policy.DEFAULT);

    assertThat(plan.forwards()).isEmpty();
    assertThat(plan.report()).extracting(ForwardReport::getMessage)
        .containsExactly("this node's status lists no InternalIP or ExternalIP address to listen on");
  }

  @Test
  void controlPlaneNodesCarryForwardsOnlyWhenTheAdminAllowsIt() {
    forwards.add(external("web", Map.of(), "203.0.113.5", true));
    Node controlPlane = dualStackNode(NodeSelection.CONTROL_PLANE_LABEL);

    NodePlanner.Plan excluded = NodePlanner.plan(controlPlane, view(), NodePlanner.Policy.DEFAULT);
    NodePlanner.Plan allowed = NodePlanner.plan(controlPlane, view(), new NodePlanner.Policy(true, List.of(), false));

    assertThat(excluded.forwards()).isEmpty();
    assertThat(excluded.report()).as("not selected: no report entry, as for a nodeSelector that does not match")
        .isEmpty();
    assertThat(allowed.forwards()).extracting(NodeForward::name).containsExactly("web");
  }

  @Test
  void twoForwardsNeverShareADispatchKeyTheOlderKeepsIt() {
    PortForward older = external("older", Map.of(), "203.0.113.5", true);
    older.getMetadata().setNamespace("b");
    older.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
    older.getSpec().getListen().setAddresses(List.of("fd77:1::1"));
    PortForward younger = external("a-younger", Map.of(), "203.0.113.6", true);
    younger.getMetadata().setCreationTimestamp("2026-01-02T00:00:00Z");
    younger.getSpec().getListen().setAddresses(List.of("FD77:0001:0:0:0:0:0:0001"));
    PortForward anyAddress = external("any", Map.of(), "203.0.113.7", true);
    anyAddress.getMetadata().setCreationTimestamp("2026-01-03T00:00:00Z");
    PortForward otherProtocol = external("udp", Map.of(), "203.0.113.8", true);
    otherProtocol.getMetadata().setCreationTimestamp("2026-01-04T00:00:00Z");
    otherProtocol.getSpec().setProtocol(dev.portforward.api.v1alpha1.Protocol.UDP);
    forwards.addAll(List.of(anyAddress, younger, otherProtocol, older));

    NodePlanner.Plan plan = NodePlanner.plan(dualStackNode(), view(), NodePlanner.Policy.DEFAULT);

    assertThat(plan.forwards()).extracting(NodeForward::name).containsExactly("older", "udp");
    assertThat(plan.report()).extracting(ForwardReport::getName, ForwardReport::isProgrammed, ForwardReport::getMessage)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("older", true, null),
            org.assertj.core.groups.Tuple.tuple("a-younger", false, "listen TCP port 8443 on fd77:1::1 is held by"
                + " PortForward b/older, which takes precedence (older creationTimestamp, then namespace/name)"),
            org.assertj.core.groups.Tuple.tuple("any", false, "listen TCP port 8443 on fd77:1::1 is held by"
                + " PortForward b/older, which takes precedence (older creationTimestamp, then namespace/name)"),
            org.assertj.core.groups.Tuple.tuple("udp", true, null));
  }

  @Test
  void aBackendOnTheNodeItselfTheApiServerOrTheDenylistIsRefusedNamingIt() {
    // CVE-2021-25740: a selectorless Service whose tenant-written EndpointSlice names the node.
    forwards.add(serviceForward("to-node", "sneaky"));
    services.add(selectorless("sneaky"));
    slices.add(slice("sneaky", "192.0.2.1", "10.244.0.9"));
    forwards.add(serviceForward("to-api", "api"));
    services.add(selectorless("api"));
    slices.add(slice("api", "10.0.0.1", "172.18.0.2"));
    services.add(new ServiceBuilder().withNewMetadata().withNamespace("default").withName("kubernetes").endMetadata()
        .withNewSpec().withClusterIPs("10.96.0.1").addNewPort().withName("https").withPort(443).endPort().endSpec()
        .build());
    slices.add(slice("kubernetes", "172.18.0.2"));
    forwards.add(serviceForward("to-cluster-ip", "cip"));
    services.add(selectorless("cip"));
    slices.add(slice("cip", "10.96.0.1"));
    forwards.add(serviceForward("to-denied", "denied"));
    forwards.get(forwards.size() - 1).getSpec().getTarget().setService(null);
    forwards.get(forwards.size() - 1).getSpec().getTarget().setExternal(external("x", Map.of(), "203.0.113.5", true)
        .getSpec().getTarget().getExternal());
    NodePlanner.Policy policy = new NodePlanner.Policy(false,
        List.of(new dev.portforward.common.DeniedRange(Cidr.parse("203.0.113.0/24"), "in the test's denylist")), false);

    NodePlanner.Plan plan = NodePlanner.plan(node, view(), policy);

    assertThat(plan.forwards()).isEmpty();
    assertThat(plan.report()).extracting(ForwardReport::getName, ForwardReport::getMessage).containsExactly(
        org.assertj.core.groups.Tuple.tuple("to-api", "backend 172.18.0.2 is refused: it is the API server (an endpoint"
            + " of Service default/kubernetes); the forward stays unprogrammed while any backend is refused"),
        org.assertj.core.groups.Tuple.tuple("to-cluster-ip", "backend 10.96.0.1 is refused: it is the API server"
            + " (a cluster IP of Service default/kubernetes); the forward stays unprogrammed while any backend is"
            + " refused"),
        org.assertj.core.groups.Tuple.tuple("to-denied", "backend 203.0.113.5 is refused: it is in the test's"
            + " denylist; the forward stays unprogrammed while any backend is refused"),
        org.assertj.core.groups.Tuple.tuple("to-node", "backend 192.0.2.1 is refused: it is an address of this node,"
            + " where the node's own services listen (allowed only with the agent setting"
            + " portforward.agent.node-address-targets, chart value policy.nodeAddressTargets); the forward stays"
            + " unprogrammed while any backend is refused"));

    NodePlanner.Plan allowed = NodePlanner.plan(node, view(), new NodePlanner.Policy(false, List.of(), true));
    assertThat(allowed.forwards()).extracting(NodeForward::name).contains("to-node");
  }

  @Test
  void weightedServicesShareTheirWeightAmongTheirReadyEndpointsAndMissingOrZeroWeightServicesTakeNothing() {
    forwards.add(weightedForward("canary", weighted("v1", 80), weighted("v2", 20), weighted("gone", 50),
        weighted("off", 0), weighted("idle", 30)));
    services.add(selectorless("v1"));
    slices.add(slice("v1", "10.244.0.1"));
    services.add(selectorless("v2"));
    slices.add(slice("v2", "10.244.0.2", "10.244.0.3"));
    services.add(selectorless("off"));
    slices.add(slice("off", "10.244.0.4"));
    services.add(selectorless("idle"));
    slices.add(slice("idle"));

    NodePlanner.Plan plan = NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT);

    // 80 on one endpoint, 20 on two: 80, 10, 10 slots, reduced to 8, 1, 1; "gone" and "idle"
    // have no endpoint and "off" has weight 0, so none of them is a backend.
    assertThat(plan.forwards()).singleElement().extracting(NodeForward::backends).asList().containsExactly(
        new NodeForward.Backend(Cidr.parseAddress("10.244.0.1"), 2222, 8),
        new NodeForward.Backend(Cidr.parseAddress("10.244.0.2"), 2222, 1),
        new NodeForward.Backend(Cidr.parseAddress("10.244.0.3"), 2222, 1));
  }

  @Test
  void anEndpointTwoWeightedServicesShareGetsBothSharesAndEveryEndpointIsCheckedAgainstTheDenylist() {
    forwards.add(weightedForward("shared", weighted("a", 1), weighted("b", 1)));
    services.add(selectorless("a"));
    slices.add(slice("a", "10.244.0.1", "10.244.0.2"));
    services.add(selectorless("b"));
    slices.add(slice("b", "10.244.0.2"));
    forwards.add(weightedForward("sneaky", weighted("c", 1), weighted("node", 1)));
    services.add(selectorless("c"));
    slices.add(slice("c", "10.244.0.5"));
    services.add(selectorless("node"));
    slices.add(slice("node", "192.0.2.1"));

    NodePlanner.Plan plan = NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT);

    // a: 1/2 per endpoint, b: 1 on its one: not whole, so shares of a million, then reduced.
    assertThat(plan.forwards()).singleElement().extracting(NodeForward::backends).asList().containsExactly(
        new NodeForward.Backend(Cidr.parseAddress("10.244.0.1"), 2222, 1),
        new NodeForward.Backend(Cidr.parseAddress("10.244.0.2"), 2222, 3));
    assertThat(plan.report()).filteredOn(r -> r.getName().equals("sneaky")).singleElement()
        .extracting(ForwardReport::getMessage).asString().startsWith("backend 192.0.2.1 is refused: it is an address of this node");
  }

  @Test
  void weightedServicesWithoutAnyReadyEndpointAreProgrammedToDropAsAServiceWithoutEndpoints() {
    forwards.add(weightedForward("empty", weighted("gone", 1), weighted("idle", 1)));
    services.add(selectorless("idle"));
    slices.add(slice("idle"));

    NodePlanner.Plan plan = NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT);

    assertThat(plan.forwards()).singleElement().extracting(NodeForward::backends).asList().isEmpty();
    assertThat(plan.report()).singleElement().extracting(ForwardReport::isProgrammed).isEqualTo(true);
  }

  private static PortForward weightedForward(String name, WeightedService... services) {
    PortForward pf = serviceForward(name, "unused");
    pf.getSpec().getTarget().setService(null);
    pf.getSpec().getTarget().setServices(List.of(services));
    return pf;
  }

  private static WeightedService weighted(String service, int weight) {
    WeightedService weighted = new WeightedService();
    weighted.setName(service);
    weighted.setPort(80);
    weighted.setWeight(weight);
    return weighted;
  }

  private static PortForward serviceForward(String name, String service) {
    PortForward pf = external(name, Map.of(), "203.0.113.5", true);
    pf.getSpec().getListen().setPort(9000 + Math.floorMod(name.hashCode(), 1000));
    dev.portforward.api.v1alpha1.ServiceTarget target = new dev.portforward.api.v1alpha1.ServiceTarget();
    target.setName(service);
    target.setPort(80);
    pf.getSpec().getTarget().setExternal(null);
    pf.getSpec().getTarget().setService(target);
    return pf;
  }

  private static Service selectorless(String name) {
    return new ServiceBuilder().withNewMetadata().withNamespace("n").withName(name).endMetadata()
        .withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build();
  }

  private static EndpointSlice slice(String service, String... addresses) {
    EndpointSliceBuilder slice = new EndpointSliceBuilder().withNewMetadata()
        .withNamespace(service.equals("kubernetes") ? "default" : "n").withName(service + "-1")
        .addToLabels("kubernetes.io/service-name", service).endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName(service.equals("kubernetes") ? "https" : "http").withPort(2222).endPort();
    for (String address : addresses) {
      slice.addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint();
    }
    return slice.build();
  }

  private NodePlanner.View view() {
    return new NodePlanner.View() {
      @Override public List<PortForward> portForwards() {
        return forwards;
      }

      @Override public Optional<Service> service(String namespace, String name) {
        return services.stream().filter(s -> s.getMetadata().getNamespace().equals(namespace)
            && s.getMetadata().getName().equals(name)).findFirst();
      }

      @Override public List<EndpointSlice> endpointSlices(String namespace, String service) {
        return slices.stream().filter(s -> s.getMetadata().getNamespace().equals(namespace)
            && service.equals(s.getMetadata().getLabels().get("kubernetes.io/service-name"))).toList();
      }

      @Override public List<EndpointSlice> forwardSlices(String namespace, String portForward) {
        return slices.stream().filter(s -> s.getMetadata().getNamespace().equals(namespace)).toList();
      }
    };
  }

  @Test
  void theFirstProgrammedNodeByNameHoldsTheGatewayMapping() {
    PortForward pf = mapped();
    pf.getSpec().getGateway().setLease("5s");
    forwards.add(pf);
    assertThat(plan().gateway()).as("no node reported programmed yet: nobody maps").isEmpty();

    pf.getStatus().setNodes(List.of(nodeState("n0", false), nodeState("n1", true), nodeState("n2", true)));
    assertThat(plan().gateway()).singleElement().satisfies(wish -> {
      assertThat(wish.id()).isEqualTo("n/mapped");
      assertThat(wish.method()).contains(Method.NATPMP);
      assertThat(wish.request()).isEqualTo(new MappingRequest(Transport.TCP, 8443, 18443, NodePlanner.MIN_LEASE,
          "portforward n/mapped"));
    });

    // A new generation, reported by no agent yet: the holder named in status keeps the mapping.
    ExternalEndpoint held = new ExternalEndpoint();
    held.setNode("n1");
    pf.getStatus().setExternalEndpoints(List.of(held));
    pf.getStatus().setNodes(List.of(nodeState("n0", false), nodeState("n1", false)));
    assertThat(plan().gateway()).hasSize(1);

    pf.getStatus().setNodes(List.of(nodeState("n0", true), nodeState("n1", true)));
    assertThat(plan().gateway()).as("n0 holds it now").isEmpty();
  }

  @Test
  void aForwardAsTheAgentCachesItIsPlannedAsTheWholeForward() {
    PortForward pf = mapped();
    pf.getMetadata().setAnnotations(Map.of("kubectl.kubernetes.io/last-applied-configuration", "{\"spec\": {}}"));
    pf.getStatus().setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus("True")
        .withReason("Accepted").withMessage("the forward is valid and allowed, and owns port TCP/8443").build()));
    NodeState n0 = nodeState("n0", false);
    n0.setMessage("the kernel refused the ruleset");
    NodeState n1 = nodeState("n1", true);
    n1.setLastSyncTime("2026-01-01T00:00:00Z");
    pf.getStatus().setNodes(List.of(n0, n1));
    Endpoint endpoint = new Endpoint();
    endpoint.setNode("n1");
    endpoint.setAddress("192.0.2.1");
    endpoint.setPort(8443);
    pf.getStatus().setEndpoints(List.of(endpoint));
    pf.getStatus().setEndpointsSummary("192.0.2.1:8443");
    forwards.add(pf);
    NodePlanner.Plan whole = plan();

    PlannedForwards cache = new PlannedForwards();
    cache.put("n/mapped", new KubernetesSerialization().clone(pf));
    PortForward cached = cache.get("n/mapped");
    forwards.set(0, cached);

    assertThat(plan()).isEqualTo(whole);
    assertThat(whole.gateway()).as("n1 holds the mapping").hasSize(1);
    assertThat(cached.getMetadata().getAnnotations()).isNull();
    assertThat(cached.getStatus().getEndpoints()).isEmpty();
    assertThat(cached.getStatus().getConditions()).singleElement().extracting(Condition::getMessage).isNull();
    assertThat(cached.getStatus().getNodes()).extracting(NodeState::getName, NodeState::isProgrammed,
        NodeState::getMessage, NodeState::getLastSyncTime).containsExactly(tuple("n0", false, null, null),
        tuple("n1", true, null, null));
  }

  /** An accepted forward on every node that asks the gateway for external port 18443 by NAT-PMP. */
  private static PortForward mapped() {
    PortForward pf = external("mapped", Map.of(), "203.0.113.5", true);
    Gateway gateway = new Gateway();
    gateway.setProtocol(GatewayProtocol.NATPMP);
    gateway.setExternalPort(18443);
    pf.getSpec().setGateway(gateway);
    return pf;
  }

  private static NodeState nodeState(String name, boolean programmed) {
    NodeState state = new NodeState();
    state.setName(name);
    state.setProgrammed(programmed);
    return state;
  }

  @Test
  void anFtpForwardIsProgrammedOnlyWhereTheKernelHasTheHelperAndOtherwiseSaysSo() {
    PortForward ftp = external("ftp", Map.of(), "203.0.113.5", true);
    ftp.getSpec().setApplicationProtocol(ApplicationProtocol.FTP);
    forwards.add(ftp);
    forwards.add(external("plain", Map.of(), "203.0.113.6", true));
    forwards.get(1).getSpec().getListen().setPort(8444);

    assertThat(plan().forwards()).extracting(NodeForward::name, NodeForward::applicationProtocol)
        .containsExactlyInAnyOrder(tuple("ftp", ApplicationProtocol.FTP), tuple("plain", ApplicationProtocol.None));

    NodePlanner.Plan withoutHelper = NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT, new NodePlanner.Kernel(false),
        List.of());
    assertThat(withoutHelper.forwards()).extracting(NodeForward::name).containsExactly("plain");
    assertThat(withoutHelper.report()).filteredOn(r -> r.getName().equals("ftp")).singleElement()
        .satisfies(r -> assertThat(r.isProgrammed()).isFalse())
        .extracting(ForwardReport::getMessage).asString()
        .contains("no FTP connection-tracking helper (nf_conntrack_ftp and nf_nat_ftp)");
  }

  @Test
  void anEditTheOperatorHasNotJudgedYetKeepsWhatTheNodeCarries() {
    PortForward pf = external("edited", Map.of(), "203.0.113.5", true);
    forwards.add(pf);
    NodeForward programmed = plan().forwards().get(0);

    pf.getMetadata().setGeneration(2L);
    pf.getSpec().getTarget().getExternal().setHost("203.0.113.9");
    NodePlanner.Plan pending = NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT, NodePlanner.Kernel.COMPLETE,
        List.of(programmed));
    assertThat(pending.forwards()).containsExactly(programmed);
    assertThat(pending.report()).singleElement()
        .satisfies(r -> assertThat(r.isProgrammed()).isTrue())
        .extracting(ForwardReport::getGeneration).isEqualTo(1L);
    assertThat(NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT, NodePlanner.Kernel.COMPLETE, List.of())
        .forwards()).as("nothing carried, nothing kept").isEmpty();

    pf.getStatus().setObservedGeneration(2L);
    assertThat(NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT, NodePlanner.Kernel.COMPLETE,
        List.of(programmed)).forwards()).as("judged: the new generation")
        .flatExtracting(NodeForward::backends).containsExactly(new NodeForward.Backend(Cidr.parseAddress("203.0.113.9"), 443));

    pf.getStatus().setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus("False").build()));
    assertThat(NodePlanner.plan(node, view(), NodePlanner.Policy.DEFAULT, NodePlanner.Kernel.COMPLETE,
        List.of(programmed)).forwards()).as("judged and refused: gone").isEmpty();
  }

  private static PortForward external(String name, Map<String, String> nodeSelector, String host, boolean accepted) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace("n").withName(name).withGeneration(1L).build());
    PortForwardSpec spec = new PortForwardSpec();
    Listen listen = new Listen();
    listen.setPort(8443);
    listen.setNodeSelector(nodeSelector);
    spec.setListen(listen);
    ExternalTarget external = new ExternalTarget();
    external.setHost(host);
    external.setPort(443);
    Target target = new Target();
    target.setExternal(external);
    spec.setTarget(target);
    pf.setSpec(spec);
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(1L);
    status.setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus(accepted ? "True" : "False").build()));
    pf.setStatus(status);
    return pf;
  }
}
