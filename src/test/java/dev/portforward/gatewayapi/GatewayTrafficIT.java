package dev.portforward.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.GatewayApiCrds;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.GatewayClass;
import io.k8s.networking.gateway.v1.ReferenceGrant;
import io.k8s.networking.gateway.v1.TCPRoute;
import io.k8s.networking.gateway.v1.UDPRoute;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole path for a Gateway: a GatewayClass of ours, a Gateway with a TCP listener and a
 * TCPRoute applied to the real API server, the derived PortForward programmed by a real node agent
 * into a node namespace, and a TCP connection from a client namespace reaching the backend pod
 * through the listener's port, then spread over two weighted backends; the Gateway's
 * status.addresses name the node. And a backend in another namespace, reached through its mirror
 * while a ReferenceGrant permits it.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class GatewayTrafficIT {

  private static final Duration WAIT = Duration.ofSeconds(120);

  @Test
  void aGatewayListenerCarriesATcpConnectionToTheRoutesBackend(KubernetesClient client, TestNamespace ns,
      ControlPlane cp) throws Exception {
    GatewayApiCrds.install(client);
    String className = "pf-" + ns.name();
    // The node, and a Service web whose slice names pod1.
    try (NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(client, ns)) {
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: GatewayClass
          metadata: {name: %s}
          spec: {controllerName: portforward.dev/gateway-controller}
          """.formatted(className), GatewayClass.class)).create();
      int port = PortForwards.uniquePort();
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: {name: gw, namespace: %s}
          spec: {gatewayClassName: %s, listeners: [{name: tcp, protocol: TCP, port: %d}]}
          """.formatted(ns.name(), className, port), Gateway.class)).create();
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: TCPRoute
          metadata: {name: web, namespace: %s}
          spec:
            parentRefs: [{name: gw, sectionName: tcp}]
            rules: [{backendRefs: [{name: web, port: 80}]}]
          """.formatted(ns.name()), TCPRoute.class)).create();

      RoleProcess agent = node.agent(cp, hosts).start();
      try {
        await("a connection through the Gateway's listener").atMost(WAIT)
            .until(() -> hosts.tcpAsk(port), "pod1"::equals);
        Gateway programmed = await("the Gateway Programmed with the node's address").atMost(WAIT)
            .until(() -> client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").get(),
                g -> g.getStatus() != null && g.getStatus().getAddresses() != null
                    && !g.getStatus().getAddresses().isEmpty());
        assertThat(programmed.getStatus().getAddresses()).extracting(a -> a.getValue())
            .containsExactly(NodeTopology.NODE_IP);
        assertThat(programmed.getStatus().getListeners()).singleElement().satisfies(l ->
            assertThat(l.getConditions()).filteredOn(c -> "Programmed".equals(c.getType())).singleElement()
                .satisfies(c -> assertThat(c.getStatus().getValue()).isEqualTo("True")));

        // A second backend with an equal weight: new connections reach both pods (weighted DNAT).
        client.resource(new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName("web2").endMetadata()
            .withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build()).create();
        client.resource(new EndpointSliceBuilder()
            .withNewMetadata().withNamespace(ns.name()).withName("web2-1")
            .addToLabels("kubernetes.io/service-name", "web2").endMetadata()
            .withAddressType("IPv4")
            .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
            .addNewEndpoint().withAddresses(NodeTopology.POD2_IP).withNewConditions().withReady(true).endConditions()
            .endEndpoint()
            .build()).create();
        client.resources(TCPRoute.class).inNamespace(ns.name()).withName("web").edit(r -> {
          r.getSpec().getRules().get(0).getBackendRefs().add(Serialization.unmarshal("name: web2\nport: 80\n",
              io.k8s.networking.gateway.v1.tcproutespec.rules.BackendRefs.class));
          return r;
        });
        Set<String> seen = new HashSet<>();
        await("connections spread over both backends").atMost(WAIT).until(() -> {
          seen.add(hosts.tcpAsk(port));
          return seen.containsAll(List.of("pod1", "pod2"));
        });

        // The route goes: its listener has nothing to carry, and the port stops answering.
        client.resources(TCPRoute.class).inNamespace(ns.name()).withName("web").delete();
        await("the listener's port closed with its route gone").atMost(WAIT)
            .until(() -> hosts.tcpAsk(port), String::isEmpty);
      } finally {
        agent.close();
        client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").delete();
        client.resources(GatewayClass.class).withName(className).delete();
      }
    }
  }

  /**
   * Backends in another namespace, carried by their mirrors in the Gateway's namespace: refused
   * (RefNotPermitted, the listeners still programmed with the node's address) until a
   * ReferenceGrant there permits them, then reached over TCP and UDP, following their endpoints,
   * and refused again once the grant is deleted.
   */
  @Test
  void aListenerCarriesAConnectionToABackendInAnotherNamespaceWhileAReferenceGrantPermitsIt(KubernetesClient client,
      TestNamespace ns, ControlPlane cp) throws Exception {
    GatewayApiCrds.install(client);
    String className = "pf-" + ns.name();
    String backends = ns.name() + "-b";
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(backends).endMetadata().build())
        .create();
    try (NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(client, ns)) {
      client.resource(new ServiceBuilder().withNewMetadata().withNamespace(backends).withName("echo").endMetadata()
          .withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build()).create();
      client.resource(backendSlice(backends, NodeTopology.POD2_IP)).create();
      client.resource(new ServiceBuilder().withNewMetadata().withNamespace(backends).withName("dns").endMetadata()
          .withNewSpec().addNewPort().withName("dns").withPort(53).withProtocol("UDP").endPort().endSpec().build())
          .create();
      client.resource(new EndpointSliceBuilder()
          .withNewMetadata().withNamespace(backends).withName("dns-1")
          .addToLabels("kubernetes.io/service-name", "dns").endMetadata()
          .withAddressType("IPv4")
          .addNewPort().withName("dns").withPort(5353).withProtocol("UDP").endPort()
          .addNewEndpoint().withAddresses(NodeTopology.POD2_IP).withNewConditions().withReady(true).endConditions()
          .endEndpoint()
          .build()).create();
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: GatewayClass
          metadata: {name: %s}
          spec: {controllerName: portforward.dev/gateway-controller}
          """.formatted(className), GatewayClass.class)).create();
      int port = PortForwards.uniquePort();
      int udpPort = PortForwards.uniquePort();
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: {name: gw, namespace: %s}
          spec:
            gatewayClassName: %s
            listeners: [{name: tcp, protocol: TCP, port: %d}, {name: udp, protocol: UDP, port: %d}]
          """.formatted(ns.name(), className, port, udpPort), Gateway.class)).create();
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: UDPRoute
          metadata: {name: xns-udp, namespace: %s}
          spec:
            parentRefs: [{name: gw, sectionName: udp}]
            rules: [{backendRefs: [{name: dns, namespace: %s, port: 53}]}]
          """.formatted(ns.name(), backends), UDPRoute.class)).create();
      client.resource(Serialization.unmarshal("""
          apiVersion: gateway.networking.k8s.io/v1
          kind: TCPRoute
          metadata: {name: xns, namespace: %s}
          spec:
            parentRefs: [{name: gw, sectionName: tcp}]
            rules: [{backendRefs: [{name: echo, namespace: %s, port: 80}]}]
          """.formatted(ns.name(), backends), TCPRoute.class)).create();

      RoleProcess agent = node.agent(cp, hosts).start();
      try {
        // Not permitted: RefNotPermitted, yet the listener is programmed and the Gateway has its address.
        awaitResolvedRefs(client, ns.name(), "False", "RefNotPermitted");
        Gateway refused = await("the Gateway's address while the backend is not permitted").atMost(WAIT)
            .until(() -> client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").get(),
                g -> g.getStatus() != null && g.getStatus().getAddresses() != null
                    && !g.getStatus().getAddresses().isEmpty() && listenersProgrammed(g));
        assertThat(refused.getStatus().getAddresses()).extracting(a -> a.getValue())
            .containsExactly(NodeTopology.NODE_IP);
        assertThat(hosts.tcpAsk(port)).as("a connection to a backend no grant permits").isEmpty();

        client.resource(grant(backends, ns.name())).create();
        await("a connection through the listener to the granted backend").atMost(WAIT)
            .until(() -> hosts.tcpAsk(port), "pod2"::equals);
        awaitResolvedRefs(client, ns.name(), "True", "ResolvedRefs");
        await("a UDP datagram through the UDP listener to the granted backend").atMost(WAIT)
            .until(() -> hosts.udpAsk(udpPort), "pod2"::equals);
        // The mirror is the Gateway's, in its namespace, and holds the backend's endpoint.
        List<EndpointSlice> mirrored = client.discovery().v1().endpointSlices().inNamespace(ns.name())
            .withLabel("gateway.portforward.dev/backend-namespace", backends)
            .withLabel("gateway.portforward.dev/backend", "echo").list().getItems();
        assertThat(mirrored).singleElement().satisfies(slice -> assertThat(slice.getEndpoints())
            .flatExtracting(e -> e.getAddresses()).containsExactly(NodeTopology.POD2_IP));

        // The backend's endpoints move: the mirror follows them.
        client.resource(backendSlice(backends, NodeTopology.POD1_IP)).update();
        await("the connection follows the backend's endpoints").atMost(WAIT)
            .until(() -> hosts.tcpAsk(port), "pod1"::equals);

        // The grant goes: RefNotPermitted, and the share is gone.
        client.resources(ReferenceGrant.class).inNamespace(backends).withName("gw-routes").delete();
        awaitResolvedRefs(client, ns.name(), "False", "RefNotPermitted");
        await("the connection refused once the grant is deleted").atMost(WAIT)
            .until(() -> hosts.tcpAsk(port), String::isEmpty);
        await("no UDP answer once the grant is deleted").atMost(WAIT)
            .until(() -> hosts.udpAsk(udpPort), String::isEmpty);
        await("the mirror's slices gone").atMost(WAIT).until(() -> client.discovery().v1().endpointSlices()
            .inNamespace(ns.name()).withLabel("gateway.portforward.dev/backend-namespace", backends).list().getItems()
            .isEmpty());
      } finally {
        agent.close();
        client.resources(Gateway.class).inNamespace(ns.name()).withName("gw").delete();
        client.resources(GatewayClass.class).withName(className).delete();
      }
    } finally {
      client.namespaces().withName(backends).delete();
    }
  }

  private static EndpointSlice backendSlice(String namespace, String address) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(namespace).withName("echo-1")
        .addToLabels("kubernetes.io/service-name", "echo").endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint()
        .build();
  }

  private static ReferenceGrant grant(String namespace, String routeNamespace) {
    return Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: ReferenceGrant
        metadata: {name: gw-routes, namespace: %s}
        spec:
          from: [{group: gateway.networking.k8s.io, kind: TCPRoute, namespace: %s},
            {group: gateway.networking.k8s.io, kind: UDPRoute, namespace: %s}]
          to: [{group: "", kind: Service, name: echo}, {group: "", kind: Service, name: dns}]
        """.formatted(namespace, routeNamespace, routeNamespace), ReferenceGrant.class);
  }

  private static boolean listenersProgrammed(Gateway gateway) {
    return gateway.getStatus().getListeners() != null && gateway.getStatus().getListeners().size() == 2
        && gateway.getStatus().getListeners().stream().allMatch(l -> l.getConditions().stream()
            .anyMatch(c -> "Programmed".equals(c.getType()) && "True".equals(c.getStatus().getValue())));
  }

  private static void awaitResolvedRefs(KubernetesClient client, String namespace, String status, String reason) {
    await("the route's ResolvedRefs " + status + " " + reason).atMost(WAIT)
        .until(() -> client.resources(TCPRoute.class).inNamespace(namespace).withName("xns").get(),
            r -> r.getStatus() != null && r.getStatus().getParents() != null && r.getStatus().getParents().stream()
                .flatMap(p -> p.getConditions().stream())
                .anyMatch(c -> "ResolvedRefs".equals(c.getType()) && status.equals(c.getStatus().getValue())
                    && reason.equals(c.getReason())));
  }
}
