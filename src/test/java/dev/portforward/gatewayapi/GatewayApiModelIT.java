package dev.portforward.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.portforward.testbed.GatewayApiCrds;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.GatewayClass;
import io.k8s.networking.gateway.v1.GatewayClassSpec;
import io.k8s.networking.gateway.v1.GatewayClassStatus;
import io.k8s.networking.gateway.v1.GatewaySpec;
import io.k8s.networking.gateway.v1.GatewayStatus;
import io.k8s.networking.gateway.v1.ReferenceGrant;
import io.k8s.networking.gateway.v1.ReferenceGrantSpec;
import io.k8s.networking.gateway.v1.TCPRoute;
import io.k8s.networking.gateway.v1.TCPRouteSpec;
import io.k8s.networking.gateway.v1.TCPRouteStatus;
import io.k8s.networking.gateway.v1.UDPRoute;
import io.k8s.networking.gateway.v1.UDPRouteSpec;
import io.k8s.networking.gateway.v1.UDPRouteStatus;
import io.k8s.networking.gateway.v1.gatewayspec.Listeners;
import io.k8s.networking.gateway.v1.gatewayspec.listeners.AllowedRoutes;
import io.k8s.networking.gateway.v1.gatewayspec.listeners.allowedroutes.Kinds;
import io.k8s.networking.gateway.v1.gatewaystatus.Addresses;
import io.k8s.networking.gateway.v1.gatewaystatus.listeners.SupportedKinds;
import io.k8s.networking.gateway.v1.referencegrantspec.From;
import io.k8s.networking.gateway.v1.referencegrantspec.To;
import io.k8s.networking.gateway.v1.tcproutestatus.Parents;
import io.k8s.networking.gateway.v1.tcproutestatus.parents.ParentRef;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Gateway API models generated from the upstream v1.6.3 CRDs match the schema a real API
 * server serves from those same CRDs: every kind the L4 controller reads (GatewayClass, Gateway
 * with TCP and UDP listeners, TCPRoute and UDPRoute at v1 with weighted backends, ReferenceGrant)
 * is created through the models, read back with the server's defaults, and given a status whose
 * conditions (with observedGeneration and lastTransitionTime) survive the round trip.
 */
@ExtendWith(RealCluster.class)
class GatewayApiModelIT {

  /** Not the operator's: a running operator must leave these objects as the test wrote them. */
  private static final String CONTROLLER = "example.com/model-round-trip";
  private static final String GROUP = "gateway.networking.k8s.io";
  /** Whole seconds in UTC: what the served date-time format keeps. */
  private static final ZonedDateTime NOW = ZonedDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS);

  @BeforeAll
  static void installGatewayApi(KubernetesClient client) throws Exception {
    GatewayApiCrds.install(client);
  }

  @Test
  void gatewayClassTakesTheServersPendingStatusAndOurs(KubernetesClient client, TestNamespace ns) {
    var gatewayClass = new GatewayClass();
    gatewayClass.setMetadata(new ObjectMetaBuilder().withName("pf-" + ns.name()).build());
    var spec = new GatewayClassSpec();
    spec.setControllerName(CONTROLLER);
    gatewayClass.setSpec(spec);
    var classes = client.resources(GatewayClass.class);
    try {
      GatewayClass created = classes.resource(gatewayClass).create();

      // The CRD's default status: what a class looks like before any controller has seen it.
      assertThat(created.getStatus().getConditions()).singleElement().satisfies(c -> {
        assertThat(c.getType()).isEqualTo("Accepted");
        assertThat(c.getStatus()).isEqualTo(io.k8s.networking.gateway.v1.gatewayclassstatus.Conditions.Status.UNKNOWN);
        assertThat(c.getReason()).isEqualTo("Pending");
      });

      var accepted = new io.k8s.networking.gateway.v1.gatewayclassstatus.Conditions();
      accepted.setType("Accepted");
      accepted.setStatus(io.k8s.networking.gateway.v1.gatewayclassstatus.Conditions.Status.TRUE);
      accepted.setReason("Accepted");
      accepted.setMessage("handled by " + CONTROLLER);
      accepted.setObservedGeneration(created.getMetadata().getGeneration());
      accepted.setLastTransitionTime(NOW);
      var status = new GatewayClassStatus();
      status.setConditions(List.of(accepted));
      created.setStatus(status);
      classes.resource(created).updateStatus();

      GatewayClass read = classes.withName(gatewayClass.getMetadata().getName()).get();
      assertThat(read.getSpec().getControllerName()).isEqualTo(CONTROLLER);
      assertThat(read.getStatus().getConditions()).singleElement().satisfies(c -> {
        assertThat(c.getStatus()).isEqualTo(io.k8s.networking.gateway.v1.gatewayclassstatus.Conditions.Status.TRUE);
        assertThat(c.getReason()).isEqualTo("Accepted");
        assertThat(c.getObservedGeneration()).isEqualTo(read.getMetadata().getGeneration());
        assertThat(c.getLastTransitionTime()).isEqualTo(NOW);
      });
    } finally {
      classes.withName(gatewayClass.getMetadata().getName()).delete();
    }
  }

  @Test
  void gatewayWithTcpAndUdpListenersRoundTripsSpecAndStatus(KubernetesClient client, TestNamespace ns) {
    var gateway = new Gateway();
    gateway.setMetadata(meta(ns, "edge"));
    var spec = new GatewaySpec();
    spec.setGatewayClassName("portforward");
    spec.setListeners(List.of(listener("tcp", "TCP", 5432, "TCPRoute"), listener("udp", "UDP", 5353, "UDPRoute")));
    gateway.setSpec(spec);
    var gateways = client.resources(Gateway.class).inNamespace(ns.name());

    Gateway created = gateways.resource(gateway).create();
    assertThat(created.getSpec().getListeners())
        .extracting(Listeners::getName, Listeners::getProtocol, Listeners::getPort)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("tcp", "TCP", 5432),
            org.assertj.core.groups.Tuple.tuple("udp", "UDP", 5353));
    // The CRD's default status (Accepted and Programmed Unknown, reason Pending) reads into the model.
    assertThat(created.getStatus().getConditions())
        .extracting(io.k8s.networking.gateway.v1.gatewaystatus.Conditions::getType,
            io.k8s.networking.gateway.v1.gatewaystatus.Conditions::getReason)
        .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("Accepted", "Pending"),
            org.assertj.core.groups.Tuple.tuple("Programmed", "Pending"));

    long generation = created.getMetadata().getGeneration();
    var status = new GatewayStatus();
    var address = new Addresses();
    address.setType("IPAddress");
    address.setValue("10.77.0.1");
    status.setAddresses(List.of(address));
    status.setConditions(List.of(gatewayCondition("Accepted", "Accepted", generation),
        gatewayCondition("Programmed", "Programmed", generation)));
    status.setListeners(List.of(listenerStatus("tcp", "TCPRoute", generation), listenerStatus("udp", "UDPRoute", generation)));
    created.setStatus(status);
    gateways.resource(created).updateStatus();

    GatewayStatus read = gateways.withName("edge").get().getStatus();
    assertThat(read.getAddresses()).singleElement().extracting(Addresses::getValue).isEqualTo("10.77.0.1");
    assertThat(read.getConditions()).allSatisfy(c -> {
      assertThat(c.getStatus()).isEqualTo(io.k8s.networking.gateway.v1.gatewaystatus.Conditions.Status.TRUE);
      assertThat(c.getObservedGeneration()).isEqualTo(generation);
      assertThat(c.getLastTransitionTime()).isEqualTo(NOW);
    }).extracting(io.k8s.networking.gateway.v1.gatewaystatus.Conditions::getType)
        .containsExactlyInAnyOrder("Accepted", "Programmed");
    assertThat(read.getListeners()).hasSize(2).allSatisfy(l -> {
      assertThat(l.getAttachedRoutes()).isEqualTo(1);
      assertThat(l.getConditions()).extracting(io.k8s.networking.gateway.v1.gatewaystatus.listeners.Conditions::getType)
          .containsExactlyInAnyOrder("Accepted", "Programmed", "ResolvedRefs", "Conflicted");
      assertThat(l.getConditions()).allSatisfy(c -> assertThat(c.getObservedGeneration()).isEqualTo(generation));
    });
    assertThat(read.getListeners().get(1).getSupportedKinds()).singleElement()
        .extracting(SupportedKinds::getKind).isEqualTo("UDPRoute");
  }

  @Test
  void tcpRouteWithWeightedBackendsRoundTripsSpecAndParentStatus(KubernetesClient client, TestNamespace ns) {
    var route = new TCPRoute();
    route.setMetadata(meta(ns, "db"));
    var parent = new io.k8s.networking.gateway.v1.tcproutespec.ParentRefs();
    parent.setName("edge");
    parent.setSectionName("tcp");
    var primary = tcpBackend("db-a", null, 80);
    var canary = tcpBackend("db-b", "backends", 20);
    var rule = new io.k8s.networking.gateway.v1.tcproutespec.Rules();
    rule.setBackendRefs(List.of(primary, canary));
    var spec = new TCPRouteSpec();
    spec.setParentRefs(List.of(parent));
    spec.setRules(List.of(rule));
    route.setSpec(spec);
    var routes = client.resources(TCPRoute.class).inNamespace(ns.name());

    TCPRoute created = routes.resource(route).create();
    assertThat(created.getApiVersion()).isEqualTo(GROUP + "/v1");
    assertThat(created.getSpec().getRules()).singleElement().satisfies(r -> assertThat(r.getBackendRefs())
        .extracting(b -> b.getName(), b -> b.getNamespace(), b -> b.getKind(), b -> b.getWeight())
        .containsExactly(org.assertj.core.groups.Tuple.tuple("db-a", null, "Service", 80),
            org.assertj.core.groups.Tuple.tuple("db-b", "backends", "Service", 20)));

    long generation = created.getMetadata().getGeneration();
    var ref = new ParentRef();
    ref.setName("edge");
    ref.setSectionName("tcp");
    var routeParent = new Parents();
    routeParent.setParentRef(ref);
    routeParent.setControllerName(CONTROLLER);
    routeParent.setConditions(List.of(tcpRouteCondition("Accepted", "Accepted", true, generation),
        tcpRouteCondition("ResolvedRefs", "RefNotPermitted", false, generation)));
    var status = new TCPRouteStatus();
    status.setParents(List.of(routeParent));
    created.setStatus(status);
    routes.resource(created).updateStatus();

    TCPRouteStatus read = routes.withName("db").get().getStatus();
    assertThat(read.getParents()).singleElement().satisfies(p -> {
      assertThat(p.getControllerName()).isEqualTo(CONTROLLER);
      assertThat(p.getParentRef().getSectionName()).isEqualTo("tcp");
      assertThat(p.getConditions())
          .extracting(c -> c.getType(), c -> c.getReason(), c -> c.getStatus().getValue(), c -> c.getObservedGeneration(),
              c -> c.getLastTransitionTime())
          .containsExactly(org.assertj.core.groups.Tuple.tuple("Accepted", "Accepted", "True", generation, NOW),
              org.assertj.core.groups.Tuple.tuple("ResolvedRefs", "RefNotPermitted", "False", generation, NOW));
    });
  }

  @Test
  void udpRouteAttachedByPortRoundTripsSpecAndParentStatus(KubernetesClient client, TestNamespace ns) {
    var route = new UDPRoute();
    route.setMetadata(meta(ns, "dns"));
    var parent = new io.k8s.networking.gateway.v1.udproutespec.ParentRefs();
    parent.setName("edge");
    parent.setPort(5353);
    var backends = new java.util.ArrayList<io.k8s.networking.gateway.v1.udproutespec.rules.BackendRefs>();
    for (String name : List.of("dns-a", "dns-b")) {
      var backend = new io.k8s.networking.gateway.v1.udproutespec.rules.BackendRefs();
      backend.setName(name);
      backend.setPort(53);
      backend.setWeight(name.equals("dns-a") ? 3 : 1);
      backends.add(backend);
    }
    var rule = new io.k8s.networking.gateway.v1.udproutespec.Rules();
    rule.setBackendRefs(backends);
    var spec = new UDPRouteSpec();
    spec.setParentRefs(List.of(parent));
    spec.setRules(List.of(rule));
    route.setSpec(spec);
    var routes = client.resources(UDPRoute.class).inNamespace(ns.name());

    UDPRoute created = routes.resource(route).create();
    assertThat(created.getSpec().getParentRefs()).singleElement().satisfies(p -> {
      assertThat(p.getPort()).isEqualTo(5353);
      assertThat(p.getSectionName()).isNull();
    });
    assertThat(created.getSpec().getRules().get(0).getBackendRefs())
        .extracting(b -> b.getName(), b -> b.getWeight())
        .containsExactly(org.assertj.core.groups.Tuple.tuple("dns-a", 3), org.assertj.core.groups.Tuple.tuple("dns-b", 1));

    long generation = created.getMetadata().getGeneration();
    var ref = new io.k8s.networking.gateway.v1.udproutestatus.parents.ParentRef();
    ref.setName("edge");
    ref.setPort(5353);
    var accepted = new io.k8s.networking.gateway.v1.udproutestatus.parents.Conditions();
    accepted.setType("Accepted");
    accepted.setStatus(io.k8s.networking.gateway.v1.udproutestatus.parents.Conditions.Status.FALSE);
    accepted.setReason("NotAllowedByListeners");
    accepted.setMessage("listener udp allows routes from its own namespace only");
    accepted.setObservedGeneration(generation);
    accepted.setLastTransitionTime(NOW);
    var routeParent = new io.k8s.networking.gateway.v1.udproutestatus.Parents();
    routeParent.setParentRef(ref);
    routeParent.setControllerName(CONTROLLER);
    routeParent.setConditions(List.of(accepted));
    var status = new UDPRouteStatus();
    status.setParents(List.of(routeParent));
    created.setStatus(status);
    routes.resource(created).updateStatus();

    var read = routes.withName("dns").get().getStatus().getParents();
    assertThat(read).singleElement().satisfies(p -> {
      assertThat(p.getParentRef().getPort()).isEqualTo(5353);
      assertThat(p.getConditions()).singleElement().satisfies(c -> {
        assertThat(c.getReason()).isEqualTo("NotAllowedByListeners");
        assertThat(c.getObservedGeneration()).isEqualTo(generation);
        assertThat(c.getLastTransitionTime()).isEqualTo(NOW);
      });
    });
  }

  @Test
  void referenceGrantRoundTrips(KubernetesClient client, TestNamespace ns) {
    var grant = new ReferenceGrant();
    grant.setMetadata(meta(ns, "routes-to-services"));
    var from = new From();
    from.setGroup(GROUP);
    from.setKind("TCPRoute");
    from.setNamespace("tenant-a");
    var to = new To();
    to.setGroup("");
    to.setKind("Service");
    to.setName("db-b");
    var spec = new ReferenceGrantSpec();
    spec.setFrom(List.of(from));
    spec.setTo(List.of(to));
    grant.setSpec(spec);
    var grants = client.resources(ReferenceGrant.class).inNamespace(ns.name());

    grants.resource(grant).create();

    ReferenceGrant read = grants.withName("routes-to-services").get();
    assertThat(read.getApiVersion()).isEqualTo(GROUP + "/v1");
    assertThat(read.getSpec().getFrom()).singleElement()
        .extracting(From::getKind, From::getNamespace).containsExactly("TCPRoute", "tenant-a");
    assertThat(read.getSpec().getTo()).singleElement()
        .extracting(To::getGroup, To::getKind, To::getName).containsExactly("", "Service", "db-b");
  }

  @Test
  void theServedSchemaRefusesWhatTheModelsLetThrough(KubernetesClient client, TestNamespace ns) {
    // The models carry no validation; the served CRD does (weight is 0..1000000), so a controller
    // that builds objects through them still meets the upstream rules.
    var route = new TCPRoute();
    route.setMetadata(meta(ns, "too-heavy"));
    var rule = new io.k8s.networking.gateway.v1.tcproutespec.Rules();
    rule.setBackendRefs(List.of(tcpBackend("db-a", null, 1_000_001)));
    var spec = new TCPRouteSpec();
    spec.setRules(List.of(rule));
    route.setSpec(spec);

    KubernetesClientException error = catchThrowableOfType(KubernetesClientException.class,
        () -> client.resources(TCPRoute.class).inNamespace(ns.name()).resource(route).create());

    assertThat(error).isNotNull();
    assertThat(error.getCode()).isEqualTo(422);
    assertThat(error.getStatus().getMessage()).contains("spec.rules[0].backendRefs[0].weight");
  }

  private static ObjectMeta meta(TestNamespace ns, String name) {
    return new ObjectMetaBuilder().withNamespace(ns.name()).withName(name).build();
  }

  private static Listeners listener(String name, String protocol, int port, String routeKind) {
    var kind = new Kinds();
    kind.setKind(routeKind);
    var allowed = new AllowedRoutes();
    allowed.setKinds(List.of(kind));
    var listener = new Listeners();
    listener.setName(name);
    listener.setProtocol(protocol);
    listener.setPort(port);
    listener.setAllowedRoutes(allowed);
    return listener;
  }

  private static io.k8s.networking.gateway.v1.gatewaystatus.Conditions gatewayCondition(
      String type, String reason, long generation) {
    var c = new io.k8s.networking.gateway.v1.gatewaystatus.Conditions();
    c.setType(type);
    c.setStatus(io.k8s.networking.gateway.v1.gatewaystatus.Conditions.Status.TRUE);
    c.setReason(reason);
    c.setMessage("");
    c.setObservedGeneration(generation);
    c.setLastTransitionTime(NOW);
    return c;
  }

  private static io.k8s.networking.gateway.v1.gatewaystatus.Listeners listenerStatus(
      String name, String routeKind, long generation) {
    var kind = new SupportedKinds();
    kind.setKind(routeKind);
    var conditions = new java.util.ArrayList<io.k8s.networking.gateway.v1.gatewaystatus.listeners.Conditions>();
    for (String type : List.of("Accepted", "Programmed", "ResolvedRefs", "Conflicted")) {
      var c = new io.k8s.networking.gateway.v1.gatewaystatus.listeners.Conditions();
      boolean conflicted = type.equals("Conflicted");
      c.setType(type);
      c.setStatus(conflicted
          ? io.k8s.networking.gateway.v1.gatewaystatus.listeners.Conditions.Status.FALSE
          : io.k8s.networking.gateway.v1.gatewaystatus.listeners.Conditions.Status.TRUE);
      c.setReason(conflicted ? "NoConflicts" : type);
      c.setMessage("");
      c.setObservedGeneration(generation);
      c.setLastTransitionTime(NOW);
      conditions.add(c);
    }
    var listener = new io.k8s.networking.gateway.v1.gatewaystatus.Listeners();
    listener.setName(name);
    listener.setAttachedRoutes(1);
    listener.setSupportedKinds(List.of(kind));
    listener.setConditions(conditions);
    return listener;
  }

  private static io.k8s.networking.gateway.v1.tcproutespec.rules.BackendRefs tcpBackend(
      String name, String namespace, int weight) {
    var backend = new io.k8s.networking.gateway.v1.tcproutespec.rules.BackendRefs();
    backend.setName(name);
    backend.setNamespace(namespace);
    backend.setPort(5432);
    backend.setWeight(weight);
    return backend;
  }

  private static io.k8s.networking.gateway.v1.tcproutestatus.parents.Conditions tcpRouteCondition(
      String type, String reason, boolean status, long generation) {
    var c = new io.k8s.networking.gateway.v1.tcproutestatus.parents.Conditions();
    c.setType(type);
    c.setStatus(status
        ? io.k8s.networking.gateway.v1.tcproutestatus.parents.Conditions.Status.TRUE
        : io.k8s.networking.gateway.v1.tcproutestatus.parents.Conditions.Status.FALSE);
    c.setReason(reason);
    c.setMessage(status ? "" : "no ReferenceGrant in backends allows this route");
    c.setObservedGeneration(generation);
    c.setLastTransitionTime(NOW);
    return c;
  }
}
