package dev.portforward.testbed;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;

/**
 * A whole cluster on one machine: the {@link NodeNetwork}, a {@link ControlPlane} serving on it,
 * and {@link RealNode}s node1..nodeN with the project image (when given) imported, all Ready.
 * The machine-wide sysctls kubelet sets are recorded first and restored on close, after every
 * node is gone.
 */
public final class NodeCluster implements AutoCloseable {

  /** Set by every kubelet at start (container manager's kernel tunables), machine-wide. */
  static final List<String> KUBELET_SYSCTLS = List.of("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic",
      "kernel/panic_on_oops", "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes");
  /** Where the services' virtual addresses come from (only inside the node namespaces). */
  public static final String SERVICE_CIDR = "10.96.0.0/16";
  private static final Duration READY_TIMEOUT = Duration.ofMinutes(4);

  private final Map<String, String> sysctls = new LinkedHashMap<>();
  private final List<RealNode> nodes = new ArrayList<>();
  private NodeNetwork network;
  private ControlPlane controlPlane;
  private KubernetesClient client;
  private RuntimeBuild runtime;

  private NodeCluster() {}

  /**
   * Starts a cluster of {@code count} nodes in {@code dir}, importing {@code images} into each;
   * returns once every node is Ready.
   */
  public static NodeCluster start(Path dir, int count, List<RealNode.Image> images) throws Exception {
    NodeCluster cluster = new NodeCluster();
    Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
    try {
      cluster.startAll(dir, count, images);
      return cluster;
    } catch (Exception | Error e) {
      cluster.close();
      throw e;
    }
  }

  private void startAll(Path dir, int count, List<RealNode.Image> images) throws Exception {
    for (String sysctl : KUBELET_SYSCTLS) {
      sysctls.put(sysctl, Files.readString(Path.of("/proc/sys", sysctl)).strip());
    }
    runtime = RuntimeBuild.find();
    network = NodeNetwork.create();
    List<String> names = IntStream.rangeClosed(1, count).mapToObj(i -> "node" + i).toList();
    controlPlane = ControlPlane.startForNodes(Files.createDirectories(dir.resolve("control-plane")),
        new ControlPlane.NodeAccess(network.hostAddress(), names, SERVICE_CIDR));
    client = RealCluster.clientFor(controlPlane);
    for (int i = 1; i <= count; i++) {
      nodes.add(RealNode.start(names.get(i - 1), i, count, network, controlPlane, runtime,
          Files.createDirectories(dir.resolve(names.get(i - 1))), images));
    }
    for (RealNode node : nodes) {
      Awaitility.await(node.name() + " Ready (logs: " + node.directory() + ")")
          .atMost(READY_TIMEOUT)
          .pollInterval(Duration.ofMillis(500))
          .failFast(node.name() + ": kubelet exited", () -> !node.kubeletAlive())
          .until(() -> ready(client.nodes().withName(node.name()).get()));
    }
  }

  static boolean ready(Node node) {
    return node != null && node.getStatus() != null && node.getStatus().getConditions() != null
        && node.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  public ControlPlane controlPlane() {
    return controlPlane;
  }

  public KubernetesClient client() {
    return client;
  }

  public NodeNetwork network() {
    return network;
  }

  public RuntimeBuild runtime() {
    return runtime;
  }

  public List<RealNode> nodes() {
    return List.copyOf(nodes);
  }

  @Override
  public synchronized void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).close();
    }
    nodes.clear();
    if (client != null) {
      client.close();
      client = null;
    }
    if (controlPlane != null) {
      controlPlane.close();
      controlPlane = null;
    }
    if (network != null) {
      network.close();
      network = null;
    }
    sysctls.forEach((sysctl, value) -> {
      try {
        Files.writeString(Path.of("/proc/sys", sysctl), value);
      } catch (IOException e) {
        System.err.println("could not restore " + sysctl + "=" + value + ": " + e.getMessage());
      }
    });
    sysctls.clear();
  }
}
