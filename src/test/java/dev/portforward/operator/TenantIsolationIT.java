package dev.portforward.operator;

import static dev.portforward.operator.PortForwardOperatorIT.endpointSlice;
import static dev.portforward.operator.PortForwardOperatorIT.service;
import static dev.portforward.testbed.PortForwards.awaitAccepted;
import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a tenant writing PortForwards in its own namespace must not be able to do to the nodes or
 * to other tenants, tried against the real API server and the operator as its own process with the
 * chart's default policy. Each attack ends in Accepted=False with a reason and a message naming
 * what was refused.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class TenantIsolationIT {

  /** Forwards on these ports would take the node's own services, or its NodePorts. */
  @Test
  void theNodesOwnPortsAreReserved(KubernetesClient client, TestNamespace ns) {
    client.resource(service(ns.name(), "web", 80)).create();
    for (int port : new int[] {10250, 6443, 30080}) {
      client.resource(PortForwards.of(ns.name(), "port-" + port,
          "listen: {port: " + port + "}, target: {service: {name: web, port: 80}}")).create();
    }

    assertThat(message(awaitRefused(client, ns.name(), "port-10250", Reason.RESERVED_PORT)))
        .startsWith("listen.port 10250 is reserved: kubelet API;");
    assertThat(message(awaitRefused(client, ns.name(), "port-6443", Reason.RESERVED_PORT)))
        .startsWith("listen.port 6443 is reserved: Kubernetes API server;");
    assertThat(message(awaitRefused(client, ns.name(), "port-30080", Reason.RESERVED_PORT)))
        .startsWith("listen.port 30080 is reserved: the Service NodePort range 30000-32767;");
  }

  /**
   * The CVE-2021-25740 pattern: a selectorless Service whose EndpointSlice, written by the tenant,
   * points at a node's address, to reach a service only the node should.
   */
  @Test
  void aTargetAtANodesAddressIsDenied(KubernetesClient client, TestNamespace ns) {
    String nodeName = ns.name() + "-node";
    // A documentation address: the operator only has to see it on a Node; no traffic goes there.
    String nodeAddress = "192.0.2.77";
    Node node = client.resource(new NodeBuilder().withNewMetadata().withName(nodeName)
        .addToLabels("portforward.dev/test", ns.name()).endMetadata().build()).create();
    try {
      client.resource(service(ns.name(), "node-only", 2222)).create();
      client.resource(endpointSlice(ns.name(), "node-only", nodeAddress, 2222)).create();
      client.resource(PortForwards.of(ns.name(), "sneaky",
          "listen: {port: " + uniquePort() + "}, target: {service: {name: node-only, port: 2222}}")).create();
      // Not yet a node's address: nothing to refuse.
      awaitAccepted(client, ns.name(), "sneaky");

      // The node reports the address: the forward that leads there loses its acceptance.
      node.setStatus(new NodeStatusBuilder().addNewAddress().withType("InternalIP").withAddress(nodeAddress)
          .endAddress().build());
      client.resource(node).updateStatus();

      assertThat(message(awaitRefused(client, ns.name(), "sneaky", Reason.TARGET_DENIED))).isEqualTo(
          "target service/node-only:2222 resolves to " + nodeAddress + ", which is the address of node " + nodeName
              + " (" + nodeAddress + "/32); no forward may lead there");
    } finally {
      client.resource(node).delete();
    }
  }

  /**
   * The API server as the cluster itself names it: a tenant's EndpointSlice that leads a forward
   * to the cluster IP of Service default/kubernetes (read from the cluster, never given by the
   * test) is refused, naming the API server.
   */
  @Test
  void aTargetAtTheApiServersClusterIpIsDenied(KubernetesClient client, TestNamespace ns) {
    String clusterIp = client.services().inNamespace("default").withName("kubernetes").get().getSpec().getClusterIP();
    client.resource(service(ns.name(), "api", 443)).create();
    client.resource(endpointSlice(ns.name(), "api", clusterIp, 443)).create();
    client.resource(PortForwards.of(ns.name(), "sneaky",
        "listen: {port: " + uniquePort() + "}, target: {service: {name: api, port: 443}}")).create();

    assertThat(message(awaitRefused(client, ns.name(), "sneaky", Reason.TARGET_DENIED)))
        .startsWith("target service/api:443 resolves to " + clusterIp + ", which is the API server");
  }

  /** Two spellings of one IPv6 address are one claim: the later forward loses the port. */
  @Test
  void twoSpellingsOfOneAddressConflict(KubernetesClient client, TestNamespace ns) {
    String other = "t-" + UUID.randomUUID().toString().substring(0, 8);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(other).endMetadata().build()).create();
    try {
      int port = uniquePort();
      client.resource(PortForwards.of(ns.name(), "short", "listen: {port: " + port
          + ", addresses: ['fd77:1::1']}, target: {service: {name: web, port: 80}}")).create();
      awaitAccepted(client, ns.name(), "short");
      client.resource(PortForwards.of(other, "long", "listen: {port: " + port
          + ", addresses: ['FD77:0001:0000:0000:0000:0000:0000:0001']}, target: {service: {name: web, port: 80}}"))
          .create();

      assertThat(message(awaitRefused(client, other, "long", Reason.PORT_CONFLICT)))
          .startsWith("port TCP/" + port + " is already claimed by PortForward " + ns.name() + "/short");
    } finally {
      client.namespaces().withName(other).delete();
    }
  }

  private static PortForward awaitRefused(KubernetesClient client, String namespace, String name, String reason) {
    return awaitCondition(client, namespace, name, Conditions.ACCEPTED, "False", reason);
  }

  private static String message(PortForward pf) {
    return condition(pf, Conditions.ACCEPTED).orElseThrow().getMessage();
  }
}
