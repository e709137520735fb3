package dev.portforward.testbed;

import static dev.portforward.testbed.PortForwards.toService;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A Node object for a {@link NodeTopology}'s node namespace (its InternalIP is the namespace's
 * address, its label is the test's own), a Service "web" whose EndpointSlice names pod1, and
 * forwards to it that select only this node: what an agent in that namespace programs.
 */
public final class OneNode implements AutoCloseable {

  private final KubernetesClient client;
  private final TestNamespace ns;
  private final Node node;
  private final Map<String, String> label;

  private OneNode(KubernetesClient client, TestNamespace ns, Node node, Map<String, String> label) {
    this.client = client;
    this.ns = ns;
    this.node = node;
    this.label = label;
  }

  public static OneNode create(KubernetesClient client, TestNamespace ns) {
    Map<String, String> label = Map.of("portforward.dev/test", ns.name());
    Node node = node(client, ns);
    client.resource(new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName("web").endMetadata()
        .withNewSpec().addNewPort().withName("http").withPort(80).endPort().endSpec().build()).create();
    client.resource(new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName("web-1")
        .addToLabels("kubernetes.io/service-name", "web").endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses(NodeTopology.POD1_IP).withNewConditions().withReady(true).endConditions()
        .endEndpoint()
        .build()).create();
    return new OneNode(client, ns, node, label);
  }

  /**
   * The Node object alone: named "NAMESPACE-node", labelled portforward.dev/test=NAMESPACE, at the
   * topology's node address.
   */
  public static Node node(KubernetesClient client, TestNamespace ns) {
    Node node = client.resource(new NodeBuilder().withNewMetadata().withName(ns.name() + "-node")
        .withLabels(Map.of("portforward.dev/test", ns.name())).endMetadata().build()).create();
    node.setStatus(new NodeStatusBuilder()
        .addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP).endAddress().build());
    return client.resource(node).updateStatus();
  }

  public String name() {
    return node.getMetadata().getName();
  }

  /** Creates a forward from {@code port} on this node to the Service web. */
  public PortForward forward(String name, int port) {
    return forward(name, port, spec -> { });
  }

  /** Creates a forward from {@code port} on this node to the Service web, further shaped by {@code customize}. */
  public PortForward forward(String name, int port, Consumer<PortForwardSpec> customize) {
    return client.resource(toService(ns.name(), name, port, "web", 80, spec -> {
      spec.getListen().setNodeSelector(label);
      customize.accept(spec);
    })).create();
  }

  /** An agent for this node, programming the topology's node namespace. */
  public RoleProcess agent(ControlPlane cp, NodeTopology hosts) {
    return agent(cp, hosts, Map.of());
  }

  /** An agent for this node with further settings (such as its gateway). */
  public RoleProcess agent(ControlPlane cp, NodeTopology hosts, Map<String, String> settings) {
    Map<String, String> all = new HashMap<>(settings);
    all.put("portforward.agent.node-name", name());
    all.put("portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)));
    return RoleProcess.agent(cp, all);
  }

  @Override
  public void close() {
    client.resource(node).delete();
  }
}
