package dev.portforward.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.testbed.GatewayApiCrds;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.GatewayClass;
import io.k8s.networking.gateway.v1.TCPRoute;
import io.k8s.networking.gateway.v1.gatewayclassspec.ParametersRef;
import io.k8s.networking.gateway.v1.gatewaystatus.Listeners;
import io.k8s.networking.gateway.v1.tcproutestatus.Parents;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Gateway API controllers in the operator's own process against the real API server: a
 * GatewayClass of ours accepted, a Gateway's TCP listener with a TCPRoute turned into a derived
 * PortForward that the PortForward path judges like any other, and the route and listener
 * conditions the spec asks for; a class's parameters (relay Deployments); a deleted Gateway's
 * entries leaving its routes' status. The CRDs are installed after the operator started, as a user
 * installs them into a running cluster: the controllers find them by discovery.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class GatewayApiOperatorIT {

  private static final String CONTROLLER = "portforward.dev/gateway-controller";
  /** Discovery, informers and the first reconcile on a loaded machine. */
  private static final Duration WAIT = Duration.ofSeconds(120);

  private String className;

  @BeforeAll
  static void installGatewayApi(KubernetesClient client) throws Exception {
    GatewayApiCrds.install(client);
  }

  @BeforeEach
  void gatewayClass(KubernetesClient client, TestNamespace ns) {
    className = "pf-" + ns.name();
    client.resource(Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: %s}
        spec: {controllerName: %s}
        """.formatted(className, CONTROLLER), GatewayClass.class)).create();
  }

  @AfterEach
  void removeClass(KubernetesClient client) {
    client.resources(GatewayClass.class).withName(className).delete();
  }

  @Test
  void aTcpListenerWithARouteBecomesADerivedPortForwardThatGoesWithTheGateway(KubernetesClient client,
      TestNamespace ns) {
    int port = PortForwards.uniquePort();
    client.resource(service(ns.name(), "echo", 3000)).create();
    client.resource(gateway(ns.name(), "gw", "[{name: tcp, protocol: TCP, port: " + port + "}]")).create();
    client.resource(tcpRoute(ns.name(), "route", "[{name: gw, sectionName: tcp}]", "echo", ns.name())).create();

    GatewayClass accepted = await("GatewayClass " + className + " Accepted",
        () -> client.resources(GatewayClass.class).withName(className).get(),
        gc -> gc.getStatus() != null && gc.getStatus().getConditions().stream().anyMatch(c ->
            "Accepted".equals(c.getType()) && "True".equals(c.getStatus().getValue())));
    assertThat(accepted.getStatus().getConditions()).filteredOn(c -> "Accepted".equals(c.getType())).singleElement()
        .satisfies(c -> assertThat(c.getObservedGeneration()).isEqualTo(accepted.getMetadata().getGeneration()));
    // The test bed's CRDs are the v1.6.3 release the models are built from.
    assertThat(accepted.getStatus().getConditions()).filteredOn(c -> "SupportedVersion".equals(c.getType()))
        .singleElement().satisfies(c -> assertThat(c.getStatus().getValue()).isEqualTo("True"));

    PortForward derived = await("the derived PortForward",
        () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get(), Objects::nonNull);
    assertThat(derived.getSpec().getProtocol()).isEqualTo(Protocol.TCP);
    assertThat(derived.getSpec().getListen().getPort()).isEqualTo(port);
    assertThat(derived.getSpec().getRelay().getMode()).isEqualTo(RelayMode.None);
    assertThat(derived.getSpec().getTarget().getServices()).singleElement().satisfies(s -> {
      assertThat(s.getName()).isEqualTo("echo");
      assertThat(s.getPort()).isEqualTo(3000);
      assertThat(s.getWeight()).isEqualTo(1);
    });
    Gateway gateway = client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").get();
    assertThat(derived.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getUid()).isEqualTo(gateway.getMetadata().getUid());
      assertThat(o.getController()).isTrue();
    });
    assertThat(derived.getMetadata().getLabels()).containsEntry("gateway.portforward.dev/gateway", "gw")
        .containsEntry("gateway.portforward.dev/listener", "tcp");
    // The PortForward path judges it as any other forward: the port is free, the Service exists.
    PortForwards.awaitAccepted(client, ns.name(), "gw-tcp");

    Parents parent = awaitParent(client, ns.name(), "route",
        p -> condition(p, "Accepted", "True", "Accepted") && condition(p, "ResolvedRefs", "True", "ResolvedRefs"));
    TCPRoute route = client.resources(TCPRoute.class).inNamespace(ns.name()).withName("route").get();
    assertThat(parent.getConditions()).allSatisfy(c ->
        assertThat(c.getObservedGeneration()).isEqualTo(route.getMetadata().getGeneration()));
    assertThat(parent.getParentRef().getName()).isEqualTo("gw");
    assertThat(parent.getParentRef().getNamespace()).isEqualTo(ns.name());
    assertThat(parent.getParentRef().getSectionName()).isEqualTo("tcp");

    Listeners listener = awaitListener(client, ns.name(), "gw", l -> l.getAttachedRoutes() == 1
        && l.getConditions().stream().anyMatch(c -> "Accepted".equals(c.getType())
            && "True".equals(c.getStatus().getValue())));
    assertThat(listener.getSupportedKinds()).singleElement()
        .satisfies(k -> assertThat(k.getKind()).isEqualTo("TCPRoute"));
    assertThat(listener.getConditions()).extracting(c -> c.getType())
        .containsExactlyInAnyOrder("Accepted", "Programmed", "ResolvedRefs", "Conflicted");

    // A tenant's edit of the derived forward is put back by the controller's forced apply.
    onConflictAgain(() -> client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").edit(pf -> {
      pf.getSpec().getTarget().getServices().get(0).setName("elsewhere");
      return pf;
    }));
    await("the derived PortForward's target put back",
        () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get(),
        pf -> "echo".equals(pf.getSpec().getTarget().getServices().get(0).getName()));

    // Another controller's entry in the route's status stays when this one rewrites its own.
    Parents foreign = Serialization.unmarshal("""
        parentRef: {group: gateway.networking.k8s.io, kind: Gateway, namespace: %s, name: other-gw}
        controllerName: example.com/other-controller
        conditions: [{type: Accepted, status: "True", reason: Accepted, message: theirs, observedGeneration: 1,
          lastTransitionTime: "2026-01-01T00:00:00Z"}]
        """.formatted(ns.name()), Parents.class);
    onConflictAgain(() -> client.resources(TCPRoute.class).inNamespace(ns.name()).withName("route").editStatus(r -> {
      r.getStatus().setParents(new java.util.ArrayList<>(r.getStatus().getParents()));
      r.getStatus().getParents().add(foreign);
      return r;
    }));
    onConflictAgain(() -> client.resources(TCPRoute.class).inNamespace(ns.name()).withName("route").edit(r -> {
      r.getSpec().getParentRefs().add(Serialization.unmarshal("name: gw\nsectionName: missing\n",
          io.k8s.networking.gateway.v1.tcproutespec.ParentRefs.class));
      return r;
    }));
    TCPRoute both = await("the route's status with both controllers' entries",
        () -> client.resources(TCPRoute.class).inNamespace(ns.name()).withName("route").get(),
        r -> r.getStatus().getParents().stream().anyMatch(p -> "missing".equals(p.getParentRef().getSectionName())
            && condition(p, "Accepted", "False", "NoMatchingParent")));
    assertThat(both.getStatus().getParents()).extracting(p -> p.getControllerName() + " " + p.getParentRef().getName()
        + "/" + p.getParentRef().getSectionName())
        .containsExactlyInAnyOrder(CONTROLLER + " gw/tcp", CONTROLLER + " gw/missing",
            "example.com/other-controller other-gw/null");

    client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").delete();
    await("the derived PortForward gone with its Gateway",
        () -> Optional.ofNullable(client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get()),
        Optional::isEmpty);
    // The Gateway's entries leave the route's status with it (its delete event, no finalizer); the
    // other controller's entry stays.
    TCPRoute withdrawn = await("this controller's entries gone from the route's status",
        () -> client.resources(TCPRoute.class).inNamespace(ns.name()).withName("route").get(),
        r -> r.getStatus().getParents().stream().noneMatch(p -> CONTROLLER.equals(p.getControllerName())));
    assertThat(withdrawn.getStatus().getParents()).singleElement().satisfies(p -> {
      assertThat(p.getControllerName()).isEqualTo("example.com/other-controller");
      assertThat(p.getConditions()).singleElement().satisfies(c -> assertThat(c.getMessage()).isEqualTo("theirs"));
    });
  }

  /**
   * A class whose parametersRef names a ConfigMap with relay.mode Deployment: its Gateways'
   * listeners become PortForwards with relay.mode Deployment, which the PortForward path gives a
   * relay Deployment. Parameters the controller cannot read refuse the class with the reason, and
   * its Gateways' forwards go.
   */
  @Test
  void aClassWithRelayParametersGetsRelayDeploymentsAndBadParametersRefuseIt(KubernetesClient client,
      TestNamespace ns) {
    client.resource(new ConfigMapBuilder().withNewMetadata().withNamespace(ns.name()).withName("relayed")
        .addToLabels("gateway.portforward.dev/parameters", "true").endMetadata()
        .addToData("relay.mode", "Deployment").build()).create();
    onConflictAgain(() -> client.resources(GatewayClass.class).withName(className).edit(gc -> {
      gc.getSpec().setParametersRef(Serialization.unmarshal("""
          group: ""
          kind: ConfigMap
          namespace: %s
          name: relayed
          """.formatted(ns.name()), ParametersRef.class));
      return gc;
    }));
    client.resource(service(ns.name(), "echo", 3000)).create();
    client.resource(gateway(ns.name(), "gw", "[{name: tcp, protocol: TCP, port: " + PortForwards.uniquePort() + "}]"))
        .create();
    client.resource(tcpRoute(ns.name(), "route", "[{name: gw}]", "echo", ns.name())).create();

    awaitClass(client, "True", "Accepted", "each carried by a relay Deployment");
    PortForward derived = await("the derived PortForward in relay mode Deployment",
        () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get(),
        pf -> pf != null && pf.getSpec().getRelay().getMode() == RelayMode.Deployment);
    assertThat(derived.getSpec().getTarget().getServices()).singleElement()
        .satisfies(s -> assertThat(s.getName()).isEqualTo("echo"));
    Deployment relay = await("the relay Deployment of the derived forward",
        () -> client.apps().deployments().inNamespace(ns.name()).withName("gw-tcp-relay").get(), Objects::nonNull);
    assertThat(relay.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getKind()).isEqualTo("PortForward");
      assertThat(o.getUid()).isEqualTo(derived.getMetadata().getUid());
    });

    // A value the controller does not know: the class is refused, saying which, and nothing is carried.
    client.configMaps().inNamespace(ns.name()).withName("relayed").edit(cm -> {
      cm.getData().put("relay.mode", "Socks5");
      return cm;
    });
    awaitClass(client, "False", "InvalidParameters", "ConfigMap " + ns.name()
        + "/relayed: relay.mode \"Socks5\" is not supported: None (node DNAT) or Deployment");
    await("the derived PortForward gone while the class is refused",
        () -> Optional.ofNullable(client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get()),
        Optional::isEmpty);
    awaitListener(client, ns.name(), "gw", l -> l.getConditions().stream().anyMatch(c -> "Accepted".equals(c.getType())
        && "False".equals(c.getStatus().getValue()) && "the GatewayClass is not accepted".equals(c.getMessage())));

    // A missing ConfigMap likewise.
    client.configMaps().inNamespace(ns.name()).withName("relayed").delete();
    awaitClass(client, "False", "InvalidParameters", "ConfigMap " + ns.name() + "/relayed not found");
  }

  @Test
  void aRouteFromANamespaceTheListenerDoesNotAllowIsNotAllowedByListeners(KubernetesClient client,
      TestNamespace ns) {
    String other = ns.name() + "-o";
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(other).endMetadata().build())
        .create();
    try {
      client.resource(service(other, "echo", 3000)).create();
      client.resource(gateway(ns.name(), "gw", "[{name: tcp, protocol: TCP, port: " + PortForwards.uniquePort() + "}]"))
          .create();
      client.resource(tcpRoute(other, "route", "[{name: gw, namespace: " + ns.name() + "}]", "echo", other)).create();

      awaitParent(client, other, "route", p -> condition(p, "Accepted", "False", "NotAllowedByListeners"));
      awaitListener(client, ns.name(), "gw", l -> l.getAttachedRoutes() == 0);
      assertThat(client.resources(PortForward.class).inNamespace(ns.name()).list().getItems()).isEmpty();
    } finally {
      client.namespaces().withName(other).delete();
    }
  }

  @Test
  void aMissingServiceIsBackendNotFound(KubernetesClient client, TestNamespace ns) {
    client.resource(gateway(ns.name(), "gw", "[{name: tcp, protocol: TCP, port: " + PortForwards.uniquePort() + "}]"))
        .create();
    client.resource(tcpRoute(ns.name(), "route", "[{name: gw}]", "nonexistent-service", ns.name())).create();

    awaitParent(client, ns.name(), "route", p -> condition(p, "Accepted", "True", "Accepted")
        && condition(p, "ResolvedRefs", "False", "BackendNotFound"));
    // The listener's forward names a mirror of the missing backend that holds no endpoints: the
    // listener stays programmed with the Gateway's address, and its connections go nowhere.
    PortForward derived = await("the derived PortForward",
        () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get(), Objects::nonNull);
    String mirror = derived.getSpec().getTarget().getServices().get(0).getName();
    assertThat(mirror).startsWith("gw-tcp-nonexistent-service-");
    await("the mirror Service", () -> client.services().inNamespace(ns.name()).withName(mirror).get(),
        Objects::nonNull);
    assertThat(client.discovery().v1().endpointSlices().inNamespace(ns.name())
        .withLabel("kubernetes.io/service-name", mirror).list().getItems()).isEmpty();
  }

  /**
   * A backend of another namespace that a ReferenceGrant permits is mirrored into the Gateway's
   * namespace, owned by the Gateway; a tenant's edit of the mirror's slice is put back; without
   * the grant the mirror holds nothing, and it goes with the route; a tenant's object under the
   * mirror's name is left alone and the listener is not carried.
   */
  @Test
  void aGrantedBackendInAnotherNamespaceIsMirroredAndTheMirrorIsPutBackAndGoes(KubernetesClient client,
      TestNamespace ns) {
    String other = ns.name() + "-b";
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(other).endMetadata().build())
        .create();
    try {
      client.resource(service(other, "echo", 3000)).create();
      client.resource(new EndpointSliceBuilder().withNewMetadata().withNamespace(other).withName("echo-1")
          .addToLabels("kubernetes.io/service-name", "echo").endMetadata()
          .withAddressType("IPv4")
          .addNewPort().withName("tcp").withPort(3000).withProtocol("TCP").endPort()
          .addNewEndpoint().withAddresses("10.77.9.9").withNodeName("n1").withNewConditions().withReady(true)
          .endConditions().endEndpoint()
          .addNewEndpoint().withAddresses("10.77.9.10").withNewConditions().withReady(false).endConditions()
          .endEndpoint()
          .build()).create();
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: ReferenceGrant
          metadata: {name: routes, namespace: %s}
          spec:
            from: [{group: gateway.networking.k8s.io, kind: TCPRoute, namespace: %s}]
            to: [{group: "", kind: Service, name: echo}]
          """.formatted(other, ns.name()), io.k8s.networking.gateway.v1.ReferenceGrant.class)).create();
      client.resource(gateway(ns.name(), "gw", "[{name: tcp, protocol: TCP, port: " + PortForwards.uniquePort() + "}]"))
          .create();
      client.resource(tcpRoute(ns.name(), "route", "[{name: gw}]", "echo", other)).create();

      awaitParent(client, ns.name(), "route", p -> condition(p, "ResolvedRefs", "True", "ResolvedRefs"));
      PortForward derived = await("the derived PortForward naming the mirror",
          () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get(),
          pf -> pf != null && pf.getSpec().getTarget().getServices().get(0).getName().startsWith("gw-tcp-echo-"));
      String mirror = derived.getSpec().getTarget().getServices().get(0).getName();
      Gateway gateway = client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").get();
      io.fabric8.kubernetes.api.model.Service service = await("the mirror Service",
          () -> client.services().inNamespace(ns.name()).withName(mirror).get(), Objects::nonNull);
      assertThat(service.getSpec().getSelector()).isNullOrEmpty();
      assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> assertThat(p.getPort()).isEqualTo(3000));
      assertThat(service.getMetadata().getOwnerReferences()).singleElement()
          .satisfies(o -> assertThat(o.getUid()).isEqualTo(gateway.getMetadata().getUid()));
      EndpointSlice slice = await("the mirror's slice", () -> client.discovery().v1().endpointSlices()
          .inNamespace(ns.name()).withName(mirror + "-ipv4-0").get(), Objects::nonNull);
      assertThat(slice.getMetadata().getLabels()).containsEntry("kubernetes.io/service-name", mirror);
      assertThat(slice.getEndpoints()).singleElement().satisfies(e -> {
        assertThat(e.getAddresses()).containsExactly("10.77.9.9");
        assertThat(e.getNodeName()).isEqualTo("n1");
      });
      // The forward the PortForward path judges resolves the mirror like any selectorless Service.
      PortForwards.awaitAccepted(client, ns.name(), "gw-tcp");

      // A tenant of the Gateway's namespace points the mirror elsewhere: the controller puts it back.
      client.discovery().v1().endpointSlices().inNamespace(ns.name()).withName(mirror + "-ipv4-0").edit(s -> {
        s.getEndpoints().get(0).setAddresses(List.of("10.77.8.8"));
        return s;
      });
      await("the mirror's slice put back", () -> client.discovery().v1().endpointSlices().inNamespace(ns.name())
          .withName(mirror + "-ipv4-0").get(), s -> s.getEndpoints().get(0).getAddresses().equals(List.of("10.77.9.9")));

      // The grant goes: RefNotPermitted, and the mirror holds nothing.
      client.resources(io.k8s.networking.gateway.v1.ReferenceGrant.class).inNamespace(other).withName("routes").delete();
      awaitParent(client, ns.name(), "route", p -> condition(p, "ResolvedRefs", "False", "RefNotPermitted"));
      await("the mirror's slice gone", () -> Optional.ofNullable(client.discovery().v1().endpointSlices()
          .inNamespace(ns.name()).withName(mirror + "-ipv4-0").get()), Optional::isEmpty);

      // The route goes: nothing names the mirror any more.
      client.resources(TCPRoute.class).inNamespace(ns.name()).withName("route").delete();
      await("the mirror gone with its route", () -> Optional.ofNullable(client.services().inNamespace(ns.name())
          .withName(mirror).get()), Optional::isEmpty);

      // A tenant of the Gateway's namespace takes the mirror's name, then the route comes back: the
      // controller leaves the tenant's Service alone and does not carry the listener through it.
      client.resource(service(ns.name(), mirror, 3000)).create();
      client.resource(tcpRoute(ns.name(), "route", "[{name: gw}]", "echo", other)).create();
      Listeners blocked = awaitListener(client, ns.name(), "gw", l -> l.getConditions().stream()
          .anyMatch(c -> "Programmed".equals(c.getType()) && "Invalid".equals(c.getReason())));
      assertThat(blocked.getConditions()).filteredOn(c -> "Programmed".equals(c.getType())).singleElement()
          .satisfies(c -> assertThat(c.getMessage()).contains("Service " + mirror, "not this Gateway's"));
      assertThat(client.resources(PortForward.class).inNamespace(ns.name()).withName("gw-tcp").get())
          .as("no forward through the tenant's Service").isNull();
      assertThat(client.services().inNamespace(ns.name()).withName(mirror).get().getMetadata().getOwnerReferences())
          .isNullOrEmpty();
    } finally {
      client.namespaces().withName(other).delete();
    }
  }

  /** The derived forward passes the same Judge as a tenant's own: a reserved port refuses the listener. */
  @Test
  void aListenerOnAReservedPortIsRefusedWithTheForwardsMessage(KubernetesClient client, TestNamespace ns) {
    client.resource(service(ns.name(), "echo", 3000)).create();
    client.resource(gateway(ns.name(), "gw", "[{name: kubelet, protocol: TCP, port: 10250}]")).create();
    client.resource(tcpRoute(ns.name(), "route", "[{name: gw}]", "echo", ns.name())).create();

    Listeners listener = awaitListener(client, ns.name(), "gw", l -> l.getConditions().stream()
        .anyMatch(c -> "Accepted".equals(c.getType()) && "False".equals(c.getStatus().getValue())
            && "PortUnavailable".equals(c.getReason())));
    assertThat(listener.getConditions()).filteredOn(c -> "Accepted".equals(c.getType())).singleElement()
        .satisfies(c -> assertThat(c.getMessage()).startsWith("PortForward " + ns.name()
            + "/gw-kubelet is refused: listen.port 10250 is reserved: kubelet API;"));
    Gateway gateway = client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").get();
    assertThat(gateway.getStatus().getConditions()).filteredOn(c -> "Accepted".equals(c.getType())).singleElement()
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("ListenersNotValid"));
  }

  private GatewayClass awaitClass(KubernetesClient client, String status, String reason, String message) {
    return await("GatewayClass " + className + " Accepted " + status + " " + reason,
        () -> client.resources(GatewayClass.class).withName(className).get(),
        gc -> gc.getStatus() != null && gc.getStatus().getConditions().stream().anyMatch(c ->
            "Accepted".equals(c.getType()) && status.equals(c.getStatus().getValue()) && reason.equals(c.getReason())
                && c.getMessage().contains(message)
                && Objects.equals(c.getObservedGeneration(), gc.getMetadata().getGeneration())));
  }

  private Gateway gateway(String namespace, String name, String listeners) {
    return Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: %s, namespace: %s}
        spec: {gatewayClassName: %s, listeners: %s}
        """.formatted(name, namespace, className, listeners), Gateway.class);
  }

  private static TCPRoute tcpRoute(String namespace, String name, String parentRefs, String service,
      String serviceNamespace) {
    return Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: TCPRoute
        metadata: {name: %s, namespace: %s}
        spec:
          parentRefs: %s
          rules: [{backendRefs: [{name: %s, namespace: %s, port: 3000}]}]
        """.formatted(name, namespace, parentRefs, service, serviceNamespace), TCPRoute.class);
  }

  private static io.fabric8.kubernetes.api.model.Service service(String namespace, String name, int port) {
    return new ServiceBuilder()
        .withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
        .withNewSpec().addNewPort().withName("tcp").withPort(port).withProtocol("TCP").endPort().endSpec()
        .build();
  }

  private static Parents awaitParent(KubernetesClient client, String namespace, String route,
      Predicate<Parents> matches) {
    TCPRoute found = await("TCPRoute " + namespace + "/" + route + " parent status",
        () -> client.resources(TCPRoute.class).inNamespace(namespace).withName(route).get(),
        r -> r.getStatus() != null && r.getStatus().getParents() != null
            && r.getStatus().getParents().stream().anyMatch(p -> CONTROLLER.equals(p.getControllerName())
                && matches.test(p)));
    return found.getStatus().getParents().stream().filter(p -> CONTROLLER.equals(p.getControllerName()))
        .filter(matches).findFirst().orElseThrow();
  }

  private static Listeners awaitListener(KubernetesClient client, String namespace, String gateway,
      Predicate<Listeners> matches) {
    Gateway found = await("Gateway " + namespace + "/" + gateway + " listener status",
        () -> client.resources(Gateway.class).inNamespace(namespace).withName(gateway).get(),
        g -> g.getStatus() != null && g.getStatus().getListeners() != null
            && g.getStatus().getListeners().stream().anyMatch(matches));
    return found.getStatus().getListeners().stream().filter(matches).findFirst().orElseThrow();
  }

  private static boolean condition(Parents parent, String type, String status, String reason) {
    return Optional.ofNullable(parent.getConditions()).orElse(List.of()).stream().anyMatch(c -> type.equals(c.getType())
        && status.equals(c.getStatus().getValue()) && reason.equals(c.getReason()));
  }

  /** An edit of an object the controller writes too: read again and retried when the controller wrote between. */
  private static void onConflictAgain(Runnable edit) {
    Awaitility.await("an edit without a conflict").atMost(WAIT)
        .ignoreExceptionsMatching(e -> e instanceof KubernetesClientException k && k.getCode() == 409)
        .until(() -> {
          edit.run();
          return true;
        });
  }

  private static <T> T await(String what, java.util.concurrent.Callable<T> read, Predicate<T> done) {
    return Awaitility.await(what).atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(read, done::test);
  }
}
