package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PodsTarget;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import dev.portforward.common.RelayNames;
import dev.portforward.common.Sidecars;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
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
  private final List<Pod> pods = new ArrayList<>();
  private final List<Service> services = new ArrayList<>();
  private final List<EndpointSlice> slices = new ArrayList<>();

  @Test
  void onlyAcceptedForwardsThatSelectThisNodeArePlanned() {
    forwards.add(external("accepted", Map.of(), "203.0.113.5", true));
    forwards.add(external("refused", Map.of(), "203.0.113.6", false));
    forwards.add(external("elsewhere", Map.of("role", "core"), "203.0.113.7", true));

    NodePlanner.Plan plan = NodePlanner.plan(node, view());

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

    NodePlanner.Plan plan = NodePlanner.plan(node, view());

    assertThat(plan.forwards()).isEmpty();
    assertThat(plan.report()).extracting(ForwardReport::getMessage).containsExactly(
        "backend 127.0.0.1 is loopback or link-local, which kernel forwarding never reaches",
        "none of listen.addresses [198.51.100.1] is an address of this node");
  }

  @Test
  void theForwardCarriesTypedValuesOnly() {
    PortForward pf = external("typed", Map.of(), "203.0.113.5", true);
    pf.getSpec().setSourceRanges(List.of("10.1.2.3/8"));
    forwards.add(pf);

    NodeForward forward = NodePlanner.plan(node, view()).forwards().get(0);

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
      forwards.add(pf);
    }

    assertThat(NodePlanner.plan(node, view()).forwards()).extracting(NodeForward::name, NodeForward::limits).containsExactly(
        org.assertj.core.groups.Tuple.tuple("plain", NodeForward.Limits.NONE),
        org.assertj.core.groups.Tuple.tuple("none", new NodeForward.Limits(100, 5)),
        org.assertj.core.groups.Tuple.tuple("sidecar", new NodeForward.Limits(0, 5)));
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
    pods.add(pod("with", "10.0.0.1", "web,other", true));
    pods.add(pod("without", "10.0.0.2", null, false));
    pods.add(pod("for-another", "10.0.0.3", "other", true));

    NodeForward forward = NodePlanner.plan(node, view()).forwards().get(0);

    assertThat(forward.backends()).containsExactly(new NodeForward.Backend(Cidr.parseAddress("10.0.0.1"), 8080));
  }

  private static Pod pod(String name, String ip, String sidecarFor, boolean sidecar) {
    PodBuilder pod = new PodBuilder().withNewMetadata().withName(name).withNamespace("n").addToLabels("app", "web")
        .endMetadata()
        .withNewSpec().addNewContainer().withName("app").endContainer().endSpec()
        .withNewStatus().withPodIP(ip).addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus();
    if (sidecarFor != null) {
      pod.editMetadata().addToAnnotations(Sidecars.ANNOTATION, sidecarFor).endMetadata();
    }
    if (sidecar) {
      pod.editSpec().addNewInitContainer().withName(Sidecars.CONTAINER).endInitContainer().endSpec();
    }
    return pod.build();
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

    NodePlanner.Plan plan = NodePlanner.plan(node, view());

    assertThat(plan.forwards()).singleElement().extracting(NodeForward::backends).asList()
        .containsExactly(new NodeForward.Backend(Cidr.parseAddress("10.244.0.7"), RelayNames.RELAY_PORT));
    assertThat(plan.report()).extracting(ForwardReport::isProgrammed).containsExactly(true);
  }

  private NodePlanner.View view() {
    return new NodePlanner.View() {
      @Override public List<PortForward> portForwards() {
        return forwards;
      }

      @Override public Optional<Service> service(String namespace, String name) {
        return services.stream().filter(s -> s.getMetadata().getName().equals(name)).findFirst();
      }

      @Override public List<EndpointSlice> endpointSlices(String namespace, String service) {
        return slices.stream().filter(s -> s.getMetadata().getLabels().get("kubernetes.io/service-name").equals(service))
            .toList();
      }

      @Override public List<Pod> pods(String namespace) {
        return pods;
      }
    };
  }

  @Test
  void theFirstProgrammedNodeByNameHoldsTheGatewayMapping() {
    PortForward pf = external("mapped", Map.of(), "203.0.113.5", true);
    Gateway gateway = new Gateway();
    gateway.setProtocol(GatewayProtocol.NATPMP);
    gateway.setExternalPort(18443);
    gateway.setLease("5s");
    pf.getSpec().setGateway(gateway);
    forwards.add(pf);
    assertThat(NodePlanner.plan(node, view()).gateway()).as("no node reported programmed yet: nobody maps").isEmpty();

    pf.getStatus().setNodes(List.of(nodeState("n0", false), nodeState("n1", true), nodeState("n2", true)));
    assertThat(NodePlanner.plan(node, view()).gateway()).singleElement().satisfies(wish -> {
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
    assertThat(NodePlanner.plan(node, view()).gateway()).hasSize(1);

    pf.getStatus().setNodes(List.of(nodeState("n0", true), nodeState("n1", true)));
    assertThat(NodePlanner.plan(node, view()).gateway()).as("n0 holds it now").isEmpty();
  }

  private static NodeState nodeState(String name, boolean programmed) {
    NodeState state = new NodeState();
    state.setName(name);
    state.setProgrammed(programmed);
    return state;
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
