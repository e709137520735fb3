package dev.portforward.operator.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.operator.gatewayapi.GatewayApi.Reason;
import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import dev.portforward.operator.gatewayapi.GatewayPlan.ListenerState;
import dev.portforward.operator.gatewayapi.GatewayPlan.ParentStatus;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.ReferenceGrant;
import io.k8s.networking.gateway.v1.TCPRoute;
import io.k8s.networking.gateway.v1.UDPRoute;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Gateway API spec's cases for TCP and UDP listeners, over inputs written by hand: no cluster. */
class GatewayPlannerTest {

  private static final String NS = "infra";

  private final List<RouteView> routes = new ArrayList<>();
  private final List<ReferenceGrant> grants = new ArrayList<>();
  private final Map<String, Service> services = new HashMap<>();
  private final Map<String, List<EndpointSlice>> slices = new HashMap<>();
  private final Map<String, Map<String, String>> labels = new HashMap<>();
  private final List<PortForward> derived = new ArrayList<>();
  private final Set<String> othersObjects = new HashSet<>();
  private boolean classAccepted = true;
  private GatewayParameters parameters = GatewayParameters.NODE_DNAT;

  @Test
  void aTcpListenerWithARouteBecomesOneNodeDnatForwardToTheBackend() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "echo");
    tcpRoute(NS, "r", 3, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, sectionName: tcp}]",
        "[{name: echo, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).hasSize(1);
    PortForward pf = plan.forwards().get(0);
    assertThat(pf.getMetadata().getName()).isEqualTo("gw-tcp");
    assertThat(pf.getMetadata().getNamespace()).isEqualTo(NS);
    assertThat(pf.getMetadata().getLabels()).containsEntry(GatewayApi.GATEWAY_LABEL, "gw")
        .containsEntry(GatewayApi.LISTENER_LABEL, "tcp");
    assertThat(pf.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getKind()).isEqualTo("Gateway");
      assertThat(o.getApiVersion()).isEqualTo("gateway.networking.k8s.io/v1");
      assertThat(o.getUid()).isEqualTo("gw-uid");
      assertThat(o.getController()).isTrue();
    });
    assertThat(pf.getSpec().getProtocol()).isEqualTo(Protocol.TCP);
    assertThat(pf.getSpec().getListen().getPort()).isEqualTo(9300);
    assertThat(pf.getSpec().getRelay().getMode()).isEqualTo(RelayMode.None);
    assertThat(pf.getSpec().getTarget().getServices()).singleElement()
        .extracting(WeightedService::getName, WeightedService::getPort, WeightedService::getWeight)
        .containsExactly("echo", 3000, 1);

    ListenerState listener = plan.gateway().listeners().get(0);
    assertThat(listener.attachedRoutes()).isEqualTo(1);
    assertThat(listener.supportedKinds()).containsExactly("TCPRoute");
    assertThat(cond(listener.conditions(), "Accepted")).extracting(Cond::status, Cond::reason, Cond::observedGeneration)
        .containsExactly(true, Reason.ACCEPTED, 7L);
    assertThat(cond(listener.conditions(), "Conflicted").status()).isFalse();
    assertThat(cond(listener.conditions(), "ResolvedRefs").status()).isTrue();
    // The forward has no status yet.
    assertThat(cond(listener.conditions(), "Programmed")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.PENDING);
    assertThat(cond(plan.gateway().conditions(), "Accepted").status()).isTrue();
    assertThat(cond(plan.gateway().conditions(), "Programmed").status()).isFalse();
    assertThat(plan.gateway().addresses()).isEmpty();

    ParentStatus parent = parent(plan, "TCPRoute infra/r");
    assertThat(parent.parentRef()).isEqualTo(new RouteView.ParentRef(GatewayApi.GROUP, "Gateway", NS, "gw", "tcp", null));
    assertThat(cond(parent.conditions(), "Accepted")).extracting(Cond::status, Cond::reason, Cond::observedGeneration)
        .containsExactly(true, Reason.ACCEPTED, 3L);
    assertThat(cond(parent.conditions(), "ResolvedRefs")).extracting(Cond::status, Cond::reason, Cond::observedGeneration)
        .containsExactly(true, Reason.RESOLVED_REFS, 3L);
  }

  @Test
  void theDerivedForwardsProgrammedStatusProgramsTheListenerAndGivesTheGatewayItsAddresses() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "echo");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]", "[{name: echo, port: 3000}]");
    derived.add(observed("gw-tcp", "True", "Accepted", "owns port TCP/9300", "True", "programmed on 2 node(s)",
        "10.77.1.1", "10.77.0.9", "10.77.1.1"));

    GatewayPlan plan = plan(gateway);

    ListenerState listener = plan.gateway().listeners().get(0);
    assertThat(cond(listener.conditions(), "Programmed")).extracting(Cond::status, Cond::reason, Cond::message)
        .containsExactly(true, Reason.PROGRAMMED, "PortForward infra/gw-tcp: programmed on 2 node(s)");
    assertThat(plan.gateway().addresses()).containsExactly("10.77.0.9", "10.77.1.1");
    assertThat(cond(plan.gateway().conditions(), "Programmed")).extracting(Cond::status, Cond::reason)
        .containsExactly(true, Reason.PROGRAMMED);
  }

  @Test
  void aDerivedForwardRefusedByTheJudgeRefusesTheListenerWithItsMessage() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 22}]");
    service(NS, "echo");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]", "[{name: echo, port: 3000}]");
    derived.add(observed("gw-tcp", "False", "ReservedPort", "port TCP/22 is reserved by the cluster admin",
        "False", "not programmed: the forward is not accepted"));

    GatewayPlan plan = plan(gateway);

    // Still desired: the refusal lives on the forward, and is lifted there when the admin allows the port.
    assertThat(plan.forwards()).hasSize(1);
    ListenerState listener = plan.gateway().listeners().get(0);
    assertThat(cond(listener.conditions(), "Accepted")).extracting(Cond::status, Cond::reason, Cond::message)
        .containsExactly(false, Reason.PORT_UNAVAILABLE,
            "PortForward infra/gw-tcp is refused: port TCP/22 is reserved by the cluster admin");
    assertThat(cond(listener.conditions(), "Programmed")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.INVALID);
    // The Gateway itself is valid: only its listener's port is refused.
    assertThat(cond(plan.gateway().conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(true, Reason.LISTENERS_NOT_VALID);
  }

  @Test
  void aRouteFromANamespaceTheListenerDoesNotAllowIsNotAllowedByListeners() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service("other", "echo");
    tcpRoute("other", "r", 2, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, namespace: infra}]",
        "[{name: echo, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).isEmpty();
    assertThat(plan.gateway().listeners().get(0).attachedRoutes()).isZero();
    assertThat(cond(parent(plan, "TCPRoute other/r").conditions(), "Accepted"))
        .extracting(Cond::status, Cond::reason, Cond::observedGeneration)
        .containsExactly(false, Reason.NOT_ALLOWED_BY_LISTENERS, 2L);
  }

  @Test
  void allowedRoutesAllAcceptsARouteFromAnotherNamespaceAndItsBackendThereIsCarriedByAMirror() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300, allowedRoutes: {namespaces: {from: All}}}]");
    service("other", "echo", 3000, "TCP");
    slice("other", "echo", "echo-1", 3000, "10.0.0.5", true);
    tcpRoute("other", "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, namespace: infra}]",
        "[{name: echo, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    List<Cond> conditions = parent(plan, "TCPRoute other/r").conditions();
    assertThat(cond(conditions, "Accepted").status()).isTrue();
    assertThat(cond(conditions, "ResolvedRefs")).extracting(Cond::status, Cond::reason)
        .containsExactly(true, Reason.RESOLVED_REFS);
    assertThat(plan.gateway().listeners().get(0).attachedRoutes()).isEqualTo(1);
    String mirror = BackendMirrors.name("gw", "tcp", "other", "echo", 3000);
    assertThat(pf(plan).getSpec().getTarget().getServices()).singleElement()
        .satisfies(s -> assertThat(s.getName()).isEqualTo(mirror));
    assertThat(plan.mirrors()).singleElement().satisfies(m -> assertThat(addresses(m)).containsExactly("10.0.0.5"));
  }

  @Test
  void anObjectOfAnotherUnderAMirrorsNameIsNotTakenOverAndItsListenerIsNotCarried() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300, allowedRoutes: {namespaces: {from: All}}}]");
    service("other", "echo", 3000, "TCP");
    slice("other", "echo", "echo-1", 3000, "10.0.0.5", true);
    tcpRoute("other", "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, namespace: infra}]",
        "[{name: echo, port: 3000}]");
    String mirror = BackendMirrors.name("gw", "tcp", "other", "echo", 3000);
    othersObjects.add("Service " + mirror);

    GatewayPlan plan = plan(gateway);

    // A forward to that Service would reach whatever its owner says.
    assertThat(plan.forwards()).isEmpty();
    assertThat(plan.mirrors()).isEmpty();
    assertThat(cond(plan.gateway().listeners().get(0).conditions(), "Programmed"))
        .satisfies(c -> assertThat(c.status()).isFalse())
        .satisfies(c -> assertThat(c.reason()).isEqualTo(Reason.INVALID))
        .satisfies(c -> assertThat(c.message()).contains("Service " + mirror, "not this Gateway's"));
    assertThat(cond(parent(plan, "TCPRoute other/r").conditions(), "ResolvedRefs").status()).isTrue();

    // A slice of the mirror's name blocks it as well; other objects of the namespace do not.
    othersObjects.clear();
    othersObjects.add("EndpointSlice " + mirror + "-ipv4-0");
    assertThat(plan(gateway).forwards()).isEmpty();
    othersObjects.clear();
    othersObjects.addAll(List.of("Service echo", "EndpointSlice " + mirror + "-ipv6-0", "EndpointSlice " + mirror));
    assertThat(plan(gateway).forwards()).hasSize(1);
  }

  @Test
  void aNamespaceSelectorAdmitsOnlyTheNamespacesItMatches() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300, allowedRoutes: {namespaces: {from: Selector,"
        + " selector: {matchLabels: {team: a}, matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}}}}]");
    labels.put("a-dev", Map.of("team", "a", "env", "dev"));
    labels.put("a-prod", Map.of("team", "a", "env", "prod"));
    labels.put("b", Map.of("team", "b"));
    for (String ns : List.of("a-dev", "a-prod", "b")) {
      tcpRoute(ns, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, namespace: infra}]",
          "[{name: echo, port: 3000}]");
    }

    GatewayPlan plan = plan(gateway);

    assertThat(cond(parent(plan, "TCPRoute a-dev/r").conditions(), "Accepted").status()).isTrue();
    assertThat(cond(parent(plan, "TCPRoute a-prod/r").conditions(), "Accepted").reason())
        .isEqualTo(Reason.NOT_ALLOWED_BY_LISTENERS);
    assertThat(cond(parent(plan, "TCPRoute b/r").conditions(), "Accepted").reason())
        .isEqualTo(Reason.NOT_ALLOWED_BY_LISTENERS);
  }

  @Test
  void aMissingServiceIsBackendNotFoundAndTheListenerStaysProgrammedOnAMirrorWithoutEndpoints() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, sectionName: tcp}]",
        "[{name: nonexistent-service, port: 8080}]");

    GatewayPlan plan = plan(gateway);

    List<Cond> conditions = parent(plan, "TCPRoute infra/r").conditions();
    assertThat(cond(conditions, "Accepted").status()).isTrue();
    assertThat(cond(conditions, "ResolvedRefs")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.BACKEND_NOT_FOUND);
    assertThat(plan.gateway().listeners().get(0).attachedRoutes()).isEqualTo(1);
    // The forward names a mirror that holds nothing: the listener is programmed, and refuses.
    String mirror = BackendMirrors.name("gw", "tcp", NS, "nonexistent-service", 8080);
    assertThat(pf(plan).getSpec().getTarget().getServices()).singleElement()
        .satisfies(s -> assertThat(s.getName()).isEqualTo(mirror));
    assertThat(plan.mirrors()).singleElement().satisfies(m -> {
      assertThat(m.service().getMetadata().getName()).isEqualTo(mirror);
      assertThat(m.slices()).isEmpty();
    });
  }

  @Test
  void aCrossNamespaceBackendNeedsAReferenceGrantAndIsThenMirroredIntoTheGatewaysNamespace() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service("web", "echo", 3000, "TCP");
    slice("web", "echo", "echo-abc", 8080, "10.0.0.5", true);
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]",
        "[{name: echo, namespace: web, port: 3000}]");
    String mirror = BackendMirrors.name("gw", "tcp", "web", "echo", 3000);

    GatewayPlan refused = plan(gateway);
    assertThat(cond(parent(refused, "TCPRoute infra/r").conditions(), "ResolvedRefs"))
        .extracting(Cond::status, Cond::reason).containsExactly(false, Reason.REF_NOT_PERMITTED);
    // Not permitted: the mirror exists (the listener keeps its forward and address) but holds nothing.
    assertThat(pf(refused).getSpec().getTarget().getServices()).extracting(WeightedService::getName)
        .containsExactly(mirror);
    assertThat(refused.mirrors()).singleElement().satisfies(m -> assertThat(m.slices()).isEmpty());

    // A grant for another kind or another namespace permits nothing.
    grants.add(grant("web", "UDPRoute", NS, null));
    grants.add(grant("web", "TCPRoute", "elsewhere", null));
    grants.add(grant(NS, "TCPRoute", NS, null));
    assertThat(cond(parent(plan(gateway), "TCPRoute infra/r").conditions(), "ResolvedRefs").reason())
        .isEqualTo(Reason.REF_NOT_PERMITTED);
    grants.add(grant("web", "TCPRoute", NS, "other-service"));
    assertThat(cond(parent(plan(gateway), "TCPRoute infra/r").conditions(), "ResolvedRefs").reason())
        .isEqualTo(Reason.REF_NOT_PERMITTED);
    assertThat(plan(gateway).mirrors()).singleElement().satisfies(m -> assertThat(m.slices()).isEmpty());

    grants.add(grant("web", "TCPRoute", NS, "echo"));
    GatewayPlan plan = plan(gateway);
    assertThat(cond(parent(plan, "TCPRoute infra/r").conditions(), "ResolvedRefs"))
        .extracting(Cond::status, Cond::reason).containsExactly(true, Reason.RESOLVED_REFS);
    assertThat(pf(plan).getSpec().getTarget().getServices()).singleElement().satisfies(s -> {
      assertThat(s.getName()).isEqualTo(mirror);
      assertThat(s.getPort()).isEqualTo(3000);
    });
    BackendMirrors.Mirror m = plan.mirrors().get(0);
    assertThat(plan.mirrors()).hasSize(1);
    // The mirror: a selectorless Service in the Gateway's namespace, the Gateway's, with the backend's port.
    assertThat(m.service().getMetadata().getNamespace()).isEqualTo(NS);
    assertThat(m.service().getSpec().getSelector()).isNullOrEmpty();
    assertThat(m.service().getSpec().getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getPort()).isEqualTo(3000);
      assertThat(p.getProtocol()).isEqualTo("TCP");
    });
    assertThat(m.service().getMetadata().getLabels()).containsEntry(BackendMirrors.BACKEND_NAMESPACE_LABEL, "web")
        .containsEntry(BackendMirrors.BACKEND_LABEL, "echo").containsEntry("app.kubernetes.io/managed-by",
            "portforward-operator");
    assertThat(m.service().getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getUid()).isEqualTo("gw-uid");
      assertThat(o.getController()).isTrue();
    });
    // Its slice: the backend's ready endpoint on the target port, named for the mirror.
    assertThat(m.slices()).singleElement().satisfies(slice -> {
      assertThat(slice.getMetadata().getNamespace()).isEqualTo(NS);
      assertThat(slice.getMetadata().getLabels()).containsEntry("kubernetes.io/service-name", mirror)
          .containsEntry("endpointslice.kubernetes.io/managed-by", "portforward-operator.portforward.dev");
      assertThat(slice.getPorts()).singleElement().satisfies(p -> assertThat(p.getPort()).isEqualTo(8080));
      assertThat(slice.getEndpoints()).singleElement().satisfies(e -> assertThat(e.getNodeName()).isEqualTo("node-a"));
    });
    assertThat(addresses(m)).containsExactly("10.0.0.5");

    // The backend's endpoints change: the mirror follows (ready ones only).
    slice("web", "echo", "echo-def", 8080, "10.0.0.6", true);
    slice("web", "echo", "echo-ghi", 8080, "10.0.0.7", false);
    assertThat(addresses(plan(gateway).mirrors().get(0))).containsExactly("10.0.0.5", "10.0.0.6");
    slices.clear();
    assertThat(plan(gateway).mirrors().get(0).slices()).isEmpty();

    // The grant goes: RefNotPermitted again, and the mirror holds nothing.
    grants.removeIf(g -> g.getSpec().getTo().get(0).getName() != null
        && g.getSpec().getTo().get(0).getName().equals("echo"));
    slice("web", "echo", "echo-abc", 8080, "10.0.0.5", true);
    GatewayPlan revoked = plan(gateway);
    assertThat(cond(parent(revoked, "TCPRoute infra/r").conditions(), "ResolvedRefs").reason())
        .isEqualTo(Reason.REF_NOT_PERMITTED);
    assertThat(revoked.mirrors()).singleElement().satisfies(x -> assertThat(x.slices()).isEmpty());
  }

  @Test
  void aMirrorCarriesItsBackendsWeightBesideABackendOfTheGatewaysNamespace() {
    Gateway gateway = gateway("listeners: [{name: udp, protocol: UDP, port: 5300}]");
    service(NS, "local", 8080, "UDP");
    service("app", "echo", 8080, "UDP");
    slice("app", "echo", "echo-1", 8080, "10.0.0.9", true);
    grants.add(grant("app", "UDPRoute", NS, "echo"));
    udpRoute(NS, "r", "parentRefs: [{name: gw}]",
        "[{name: local, port: 8080, weight: 20}, {name: echo, namespace: app, port: 8080, weight: 80}]");

    GatewayPlan plan = plan(gateway);

    String mirror = BackendMirrors.name("gw", "udp", "app", "echo", 8080);
    assertThat(pf(plan).getSpec().getTarget().getServices())
        .extracting(WeightedService::getName, WeightedService::getWeight)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("local", 20), org.assertj.core.groups.Tuple.tuple(mirror, 80));
    assertThat(plan.mirrors()).singleElement().satisfies(m -> {
      assertThat(m.service().getSpec().getPorts().get(0).getProtocol()).isEqualTo("UDP");
      assertThat(m.slices().get(0).getPorts().get(0).getProtocol()).isEqualTo("UDP");
      assertThat(addresses(m)).containsExactly("10.0.0.9");
    });
  }

  @Test
  void aMirrorNameIsADnsLabelWithRoomForItsSlicesAndDiffersPerListenerAndBackend() {
    String longName = "n".repeat(63);
    String name = BackendMirrors.name(longName, longName, longName, longName, 65535);
    assertThat(name).hasSizeLessThanOrEqualTo(BackendMirrors.MAX_NAME).matches("[a-z]([-a-z0-9]*[a-z0-9])?");
    assertThat((name + "-ipv6-99").length()).isLessThanOrEqualTo(63);
    assertThat(BackendMirrors.name("9gw", "tcp", "web", "echo", 3000)).matches("[a-z]([-a-z0-9]*[a-z0-9])?");
    assertThat(List.of(BackendMirrors.name("gw", "tcp", "web", "echo", 3000),
        BackendMirrors.name("gw", "tcp2", "web", "echo", 3000), BackendMirrors.name("gw", "tcp", "web2", "echo", 3000),
        BackendMirrors.name("gw", "tcp", "web", "echo", 3001))).doesNotHaveDuplicates();
  }

  @Test
  void aBackendThatIsNotAServiceIsInvalidKind() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]",
        "[{group: example.com, kind: Widget, name: w, port: 1}]");

    assertThat(cond(parent(plan(gateway), "TCPRoute infra/r").conditions(), "ResolvedRefs"))
        .extracting(Cond::status, Cond::reason).containsExactly(false, Reason.INVALID_KIND);
  }

  @Test
  void attachmentBySectionNameAndPortPicksTheListenerOrNoMatchingParent() {
    Gateway gateway = gateway("listeners: [{name: one, protocol: TCP, port: 9300}, {name: two, protocol: TCP, port: 9301},"
        + " {name: three, protocol: TCP, port: 9302}]");
    service(NS, "echo-one");
    service(NS, "echo-two");
    service(NS, "echo-three");
    tcpRoute(NS, "by-port", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, port: 9300}]",
        "[{name: echo-one, port: 3000}]");
    tcpRoute(NS, "by-section", 1, "2026-01-01T00:00:01Z", "parentRefs: [{name: gw, sectionName: two}]",
        "[{name: echo-two, port: 3000}]");
    tcpRoute(NS, "by-both", 1, "2026-01-01T00:00:02Z", "parentRefs: [{name: gw, sectionName: three, port: 9302}]",
        "[{name: echo-three, port: 3000}]");
    tcpRoute(NS, "mismatch", 1, "2026-01-01T00:00:03Z", "parentRefs: [{name: gw, sectionName: three, port: 9300}]",
        "[{name: echo-three, port: 3000}]");
    tcpRoute(NS, "no-section", 1, "2026-01-01T00:00:04Z", "parentRefs: [{name: gw, sectionName: four}]",
        "[{name: echo-three, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).extracting(pf -> pf.getMetadata().getName() + "->"
        + pf.getSpec().getTarget().getServices().get(0).getName())
        .containsExactly("gw-one->echo-one", "gw-two->echo-two", "gw-three->echo-three");
    assertThat(plan.gateway().listeners()).extracting(ListenerState::attachedRoutes).containsExactly(1, 1, 1);
    assertThat(cond(parent(plan, "TCPRoute infra/mismatch").conditions(), "Accepted").reason())
        .isEqualTo(Reason.NO_MATCHING_PARENT);
    assertThat(cond(parent(plan, "TCPRoute infra/no-section").conditions(), "Accepted").reason())
        .isEqualTo(Reason.NO_MATCHING_PARENT);
  }

  @Test
  void aRouteWithoutSectionNameAttachesToEveryListenerOfItsKind() {
    Gateway gateway = gateway("listeners: [{name: a, protocol: UDP, port: 5300}, {name: b, protocol: UDP, port: 5301},"
        + " {name: t, protocol: TCP, port: 5302}]");
    service(NS, "dns");
    udpRoute(NS, "r", "parentRefs: [{name: gw}]", "[{name: dns, port: 53}]");

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).extracting(pf -> pf.getMetadata().getName() + "/" + pf.getSpec().getProtocol())
        .containsExactly("gw-a/UDP", "gw-b/UDP");
    assertThat(plan.gateway().listeners()).extracting(ListenerState::attachedRoutes).containsExactly(1, 1, 0);
    assertThat(plan.gateway().listeners()).extracting(ListenerState::supportedKinds)
        .containsExactly(List.of("UDPRoute"), List.of("UDPRoute"), List.of("TCPRoute"));
  }

  @Test
  void aNonL4ListenerIsUnsupportedProtocolAndARouteNamingItIsNotAllowed() {
    Gateway gateway = gateway("listeners: [{name: only-allow-http-routes, protocol: HTTP, port: 5300,"
        + " allowedRoutes: {kinds: [{kind: HTTPRoute}]}}]");
    service(NS, "tcp-echo-backend");
    tcpRoute(NS, "tcp-route", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, sectionName: only-allow-http-routes}]",
        "[{name: tcp-echo-backend, port: 8080}]");

    GatewayPlan plan = plan(gateway);

    ListenerState listener = plan.gateway().listeners().get(0);
    assertThat(cond(listener.conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.UNSUPPORTED_PROTOCOL);
    assertThat(listener.attachedRoutes()).isZero();
    assertThat(listener.supportedKinds()).isEmpty();
    assertThat(cond(parent(plan, "TCPRoute infra/tcp-route").conditions(), "Accepted").reason())
        .isEqualTo(Reason.NOT_ALLOWED_BY_LISTENERS);
    // HTTP is a Gateway API protocol this controller does not serve: the Gateway stays accepted, and
    // programmed, with nothing to program (the conformance suite's base Gateways are such).
    assertThat(cond(plan.gateway().conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(true, Reason.LISTENERS_NOT_VALID);
    assertThat(cond(plan.gateway().conditions(), "Programmed")).extracting(Cond::status, Cond::reason)
        .containsExactly(true, Reason.PROGRAMMED);
    assertThat(plan.forwards()).isEmpty();
  }

  @Test
  void aGatewayWhoseListenersAllNameNoGatewayApiProtocolIsNotAccepted() {
    GatewayPlan plan = plan(gateway("listeners: [{name: invalid, protocol: INVALID, port: 1111}]"));

    assertThat(cond(plan.gateway().listeners().get(0).conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.UNSUPPORTED_PROTOCOL);
    assertThat(cond(plan.gateway().conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.LISTENERS_NOT_VALID);
    assertThat(cond(plan.gateway().conditions(), "Programmed").status()).isFalse();
  }

  @Test
  void twoListenersOnOnePortAndProtocolAreConflictedButTcpAndUdpMayShareAPort() {
    Gateway gateway = gateway("listeners: [{name: a, protocol: TCP, port: 53}, {name: b, protocol: TCP, port: 53},"
        + " {name: u, protocol: UDP, port: 53}]");
    service(NS, "dns");
    tcpRoute(NS, "t", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]", "[{name: dns, port: 53}]");
    udpRoute(NS, "u", "parentRefs: [{name: gw}]", "[{name: dns, port: 53}]");

    GatewayPlan plan = plan(gateway);

    for (int i = 0; i < 2; i++) {
      ListenerState listener = plan.gateway().listeners().get(i);
      assertThat(cond(listener.conditions(), "Conflicted")).extracting(Cond::status, Cond::reason)
          .containsExactly(true, Reason.PROTOCOL_CONFLICT);
      assertThat(cond(listener.conditions(), "Accepted").status()).isFalse();
      assertThat(listener.attachedRoutes()).isZero();
    }
    assertThat(cond(plan.gateway().listeners().get(2).conditions(), "Conflicted").status()).isFalse();
    assertThat(plan.forwards()).extracting(pf -> pf.getMetadata().getName()).containsExactly("gw-u");
    assertThat(cond(parent(plan, "TCPRoute infra/t").conditions(), "Accepted").reason())
        .isEqualTo(Reason.NOT_ALLOWED_BY_LISTENERS);
    assertThat(cond(plan.gateway().conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(true, Reason.LISTENERS_NOT_VALID);
  }

  @Test
  void aUdpRouteDoesNotAttachToATcpListener() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "echo");
    udpRoute(NS, "r", "parentRefs: [{name: gw, sectionName: tcp}]", "[{name: echo, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    assertThat(cond(parent(plan, "UDPRoute infra/r").conditions(), "Accepted").reason())
        .isEqualTo(Reason.NOT_ALLOWED_BY_LISTENERS);
    assertThat(plan.forwards()).isEmpty();
  }

  @Test
  void severalRoutesOnOneListenerAreAllAcceptedAndTheOldestCarriesTheTraffic() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9310}]");
    service(NS, "backend-1");
    service(NS, "backend-2");
    tcpRoute(NS, "newer", 1, "2026-01-01T00:00:05Z", "parentRefs: [{name: gw, sectionName: tcp}]",
        "[{name: backend-2, port: 3000}]");
    tcpRoute(NS, "older", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, sectionName: tcp}]",
        "[{name: backend-1, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    assertThat(plan.gateway().listeners().get(0).attachedRoutes()).isEqualTo(2);
    assertThat(cond(parent(plan, "TCPRoute infra/newer").conditions(), "Accepted").status()).isTrue();
    assertThat(cond(parent(plan, "TCPRoute infra/older").conditions(), "Accepted").status()).isTrue();
    assertThat(plan.forwards()).singleElement()
        .satisfies(pf -> assertThat(pf.getSpec().getTarget().getServices().get(0).getName()).isEqualTo("backend-1"));
  }

  @Test
  void aRouteSplittingTrafficOverSeveralServicesBecomesWeightedServices() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "a");
    service(NS, "b");
    service(NS, "c");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]",
        "[{name: a, port: 1, weight: 80}, {name: b, port: 1, weight: 20}, {name: c, port: 1, weight: 0},"
            + " {name: a, port: 1, weight: 5}, {name: a, port: 2}]");

    GatewayPlan plan = plan(gateway);

    // Two refs to one Service and port are one entry with their weights added; weight 0 is left out.
    assertThat(plan.forwards()).singleElement().satisfies(pf -> assertThat(pf.getSpec().getTarget().getServices())
        .extracting(s -> s.getName() + ":" + s.getPort() + "=" + s.getWeight())
        .containsExactly("a:1=85", "b:1=20", "a:2=1"));
    assertThat(pf(plan).getSpec().getTarget().getService()).isNull();
  }

  @Test
  void aRouteOverMoreServicesThanAForwardTakesIsNotCarriedAndTheListenerSaysWhy() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    StringBuilder refs = new StringBuilder("[");
    for (int i = 0; i < 17; i++) {
      service(NS, "s" + i);
      refs.append(i == 0 ? "" : ", ").append("{name: s").append(i).append(", port: 1}");
    }
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]", refs.append("]").toString());

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).isEmpty();
    assertThat(cond(plan.gateway().listeners().get(0).conditions(), "Programmed").message())
        .contains("splits traffic over 17 Services; a listener carries at most 16");
    assertThat(cond(parent(plan, "TCPRoute infra/r").conditions(), "ResolvedRefs").status()).isTrue();
  }

  @Test
  void aWeightOfZeroLeavesABackendOut() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "a");
    service(NS, "b");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]",
        "[{name: a, port: 1, weight: 0}, {name: b, port: 2}]");

    assertThat(plan(gateway).forwards()).singleElement()
        .satisfies(pf -> assertThat(pf.getSpec().getTarget().getServices().get(0).getName()).isEqualTo("b"));
  }

  /**
   * A class whose parameters ask for relay mode Deployment: each listener's forward carries
   * relay.mode Deployment (the PortForward path then makes its relay objects), with the same
   * weighted targets; the Gateway's addresses are still its forward's status.endpoints, which with
   * a relay Deployment are the nodes' addresses too (the agents DNAT to the relay pods).
   */
  @Test
  void aClassWithRelayParametersCarriesEveryListenerThroughARelayDeployment() {
    parameters = new GatewayParameters(RelayMode.Deployment);
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}, {name: dns, protocol: UDP,"
        + " port: 9353}]");
    service(NS, "a");
    service(NS, "b");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw, sectionName: tcp}]",
        "[{name: a, port: 3000, weight: 3}, {name: b, port: 3000}]");
    routes.add(RouteView.of(Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: UDPRoute
        metadata: {name: u, namespace: infra, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z"}
        spec: {parentRefs: [{name: gw, sectionName: dns}], rules: [{backendRefs: [{name: a, port: 53}]}]}
        """, UDPRoute.class)));
    derived.add(observed("gw-tcp", "True", "Accepted", "owns port TCP/9300", "True",
        "programmed on 1 node(s), relay Deployment gw-tcp-relay: 1/1 replicas ready", "10.77.1.1"));

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).extracting(pf -> pf.getMetadata().getName(), pf -> pf.getSpec().getRelay().getMode())
        .containsExactly(org.assertj.core.groups.Tuple.tuple("gw-tcp", RelayMode.Deployment),
            org.assertj.core.groups.Tuple.tuple("gw-dns", RelayMode.Deployment));
    assertThat(pf(plan).getSpec().getTarget().getServices())
        .extracting(WeightedService::getName, WeightedService::getWeight)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("a", 3), org.assertj.core.groups.Tuple.tuple("b", 1));
    assertThat(plan.forwards().get(1).getSpec().getProtocol()).isEqualTo(Protocol.UDP);
    assertThat(cond(plan.gateway().listeners().get(0).conditions(), "Programmed").message())
        .isEqualTo("PortForward infra/gw-tcp: programmed on 1 node(s), relay Deployment gw-tcp-relay: 1/1 replicas"
            + " ready");
    assertThat(plan.gateway().addresses()).containsExactly("10.77.1.1");
  }

  /** Per-Gateway parameters are not read: the Gateway is refused, not served without them. */
  @Test
  void aGatewayWithItsOwnParametersRefIsRefusedWithInvalidParameters() {
    Gateway gateway = gateway("infrastructure: {parametersRef: {group: '', kind: ConfigMap, name: mine}},"
        + " listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "echo");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]", "[{name: echo, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).isEmpty();
    Cond accepted = cond(plan.gateway().conditions(), "Accepted");
    assertThat(accepted).extracting(Cond::status, Cond::reason).containsExactly(false, Reason.INVALID_PARAMETERS);
    assertThat(accepted.message()).isEqualTo("spec.infrastructure.parametersRef (\"ConfigMap\" \"mine\") is not"
        + " supported: a Gateway's listeners are carried as its GatewayClass's parameters say");
    assertThat(cond(plan.gateway().listeners().get(0).conditions(), "Accepted").status()).isFalse();
    assertThat(cond(parent(plan, "TCPRoute infra/r").conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.NOT_ALLOWED_BY_LISTENERS);
  }

  @Test
  void aGatewayOfAClassNotAcceptedGetsNothing() {
    classAccepted = false;
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "echo");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}]", "[{name: echo, port: 3000}]");

    GatewayPlan plan = plan(gateway);

    assertThat(plan.forwards()).isEmpty();
    assertThat(cond(plan.gateway().conditions(), "Accepted")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.INVALID);
    assertThat(cond(parent(plan, "TCPRoute infra/r").conditions(), "Accepted").status()).isFalse();
  }

  @Test
  void allowedRouteKindsThisListenerCannotServeAreInvalidRouteKinds() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300,"
        + " allowedRoutes: {kinds: [{kind: HTTPRoute}, {kind: TCPRoute}]}}, {name: u, protocol: UDP, port: 9301,"
        + " allowedRoutes: {kinds: [{kind: TCPRoute}]}}]");

    GatewayPlan plan = plan(gateway);

    ListenerState tcp = plan.gateway().listeners().get(0);
    assertThat(tcp.supportedKinds()).containsExactly("TCPRoute");
    assertThat(cond(tcp.conditions(), "ResolvedRefs")).extracting(Cond::status, Cond::reason)
        .containsExactly(false, Reason.INVALID_ROUTE_KINDS);
    assertThat(plan.gateway().listeners().get(1).supportedKinds()).isEmpty();
  }

  @Test
  void routesNamingAnotherGatewayGetNoEntryFromThisOne() {
    Gateway gateway = gateway("listeners: [{name: tcp, protocol: TCP, port: 9300}]");
    service(NS, "echo");
    tcpRoute(NS, "r", 1, "2026-01-01T00:00:00Z", "parentRefs: [{name: gw}, {name: other-gw}, {name: gw, kind: Service}]",
        "[{name: echo, port: 3000}]");

    assertThat(plan(gateway).routes().get("TCPRoute infra/r")).singleElement()
        .satisfies(p -> assertThat(p.parentRef().name()).isEqualTo("gw"));
  }

  @Test
  void aLongNameIsCutToADnsLabelAndStaysUnique() {
    String gateway = "g".repeat(60);
    String a = GatewayPlanner.forwardName(gateway, "listener-a");
    String b = GatewayPlanner.forwardName(gateway, "listener-b");
    assertThat(a).hasSizeLessThanOrEqualTo(63).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?").isNotEqualTo(b);
    assertThat(GatewayPlanner.forwardName("gw", "tcp.one")).isEqualTo("gw-tcp-one");
  }

  private static PortForward pf(GatewayPlan plan) {
    return plan.forwards().get(0);
  }

  private GatewayPlan plan(Gateway gateway) {
    return GatewayPlanner.plan(new GatewayInput(gateway, classAccepted, routes, grants, services, slices, labels,
        derived, parameters, othersObjects));
  }

  private static Gateway gateway(String spec) {
    return Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: infra, uid: gw-uid, generation: 7}
        spec: {gatewayClassName: portforward, %s}
        """.formatted(spec), Gateway.class);
  }

  private void tcpRoute(String namespace, String name, long generation, String created, String parents,
      String backends) {
    routes.add(RouteView.of(Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: TCPRoute
        metadata: {name: %s, namespace: %s, generation: %d, creationTimestamp: "%s"}
        spec: {%s, rules: [{backendRefs: %s}]}
        """.formatted(name, namespace, generation, created, parents, backends), TCPRoute.class)));
  }

  private void udpRoute(String namespace, String name, String parents, String backends) {
    routes.add(RouteView.of(Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: UDPRoute
        metadata: {name: %s, namespace: %s, generation: 1, creationTimestamp: "2026-01-01T00:00:00Z"}
        spec: {%s, rules: [{backendRefs: %s}]}
        """.formatted(name, namespace, parents, backends), UDPRoute.class)));
  }

  private void service(String namespace, String name) {
    services.put(namespace + "/" + name,
        new ServiceBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata().build());
  }

  private void service(String namespace, String name, int port, String protocol) {
    services.put(namespace + "/" + name, new ServiceBuilder().withNewMetadata().withNamespace(namespace).withName(name)
        .endMetadata().withNewSpec().addNewPort().withName("p").withPort(port).withProtocol(protocol).endPort()
        .endSpec().build());
  }

  /** A slice of the EndpointSlice controller's for the Service's port "p" (as {@link #service} names it). */
  private void slice(String namespace, String service, String name, int targetPort, String address, boolean ready) {
    String protocol = services.get(namespace + "/" + service).getSpec().getPorts().get(0).getProtocol();
    slices.computeIfAbsent(namespace + "/" + service, k -> new ArrayList<>()).add(new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(namespace).withName(name)
        .addToLabels("kubernetes.io/service-name", service).endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("p").withPort(targetPort).withProtocol(protocol).endPort()
        .addNewEndpoint().withAddresses(address).withNodeName("node-a").withNewConditions().withReady(ready)
        .endConditions().endEndpoint()
        .build());
  }

  private static List<String> addresses(BackendMirrors.Mirror mirror) {
    return mirror.slices().stream().flatMap(s -> s.getEndpoints().stream())
        .flatMap(e -> e.getAddresses().stream()).toList();
  }

  private static ReferenceGrant grant(String namespace, String fromKind, String fromNamespace, String toName) {
    return Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: ReferenceGrant
        metadata: {name: g, namespace: %s}
        spec:
          from: [{group: gateway.networking.k8s.io, kind: %s, namespace: %s}]
          to: [{group: "", kind: Service%s}]
        """.formatted(namespace, fromKind, fromNamespace, toName == null ? "" : ", name: " + toName),
        ReferenceGrant.class);
  }

  /** A derived forward as the PortForward reconciler left it: Accepted and Programmed, and its endpoints. */
  private static PortForward observed(String name, String accepted, String acceptedReason, String acceptedMessage,
      String programmed, String programmedMessage, String... addresses) {
    PortForward pf = new PortForward();
    pf.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    PortForwardStatus status = new PortForwardStatus();
    status.getConditions().add(new ConditionBuilder().withType("Accepted").withStatus(accepted)
        .withReason(acceptedReason).withMessage(acceptedMessage).build());
    status.getConditions().add(new ConditionBuilder().withType("Programmed").withStatus(programmed)
        .withReason("x").withMessage(programmedMessage).build());
    for (String address : addresses) {
      Endpoint endpoint = new Endpoint();
      endpoint.setAddress(address);
      status.getEndpoints().add(endpoint);
    }
    pf.setStatus(status);
    return pf;
  }

  private static Cond cond(List<Cond> conditions, String type) {
    return conditions.stream().filter(c -> c.type().equals(type)).findFirst().orElseThrow();
  }

  private static ParentStatus parent(GatewayPlan plan, String route) {
    assertThat(plan.routes().get(route)).as(route).hasSize(1);
    return plan.routes().get(route).get(0);
  }
}
