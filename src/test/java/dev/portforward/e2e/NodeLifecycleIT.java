package dev.portforward.e2e;

import dev.portforward.e2e.ChartScenarios.NodeBackends;
import dev.portforward.testbed.EchoSession;
import dev.portforward.testbed.HelmRelease;
import dev.portforward.testbed.NodeCluster;
import dev.portforward.testbed.NodeNetwork;
import dev.portforward.testbed.RealNode;
import dev.portforward.testbed.RealNodes;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.awaitility.Awaitility.await;

/**
 * The chart's lifecycle and node faults on real nodes, one helm release for all scenarios (in
 * this order): a kubelet stopped and started, containerd restarted and a kubelet killed, helm
 * upgrade under a live connection, and helm uninstall leaving nothing behind. Each node has its own
 * backends and forwards ({@link ChartScenarios}); meant for two nodes (-Dtestbed.nodes=2).
 */
@ExtendWith(RealNodes.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeLifecycleIT implements ClusterUnderTest, NodeFaults {

  private NodeCluster cluster;
  private HelmRelease release;
  private NodeNetwork.Client outside;
  private boolean installed;
  private final List<NodeBackends> backends = new ArrayList<>();

  @BeforeAll
  void install(NodeCluster cluster) throws Exception {
    this.cluster = cluster;
    RealNode.Image image = HelmRelease.projectImage();
    for (RealNode node : cluster.nodes()) {
      node.importImage(image);
    }
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    release = new HelmRelease(cluster.controlPlane(), "pf-" + suffix, "pf-system-" + suffix);
    // RealNodes installed the CRDs from crds/ for the whole run, outside any release.
    // One operator replica: leader election has its own IT; each pod more costs minutes at upgrade.
    release.install("crds.enabled=false", "operator.replicas=1");
    installed = true;
    outside = cluster.network().client(cluster.nodes().size());
    await("operator replicas ready").atMost(ChartScenarios.LONG).pollInterval(Duration.ofSeconds(1))
        .until(() -> ChartScenarios.readyReplicas(client().apps().deployments().inNamespace(release.namespace())
            .withName(release.name()).get()) == 1);
    for (String node : nodes()) {
      backends.add(ChartScenarios.deployBackends(this, node));
    }
    for (NodeBackends b : backends) {
      ChartScenarios.awaitServing(this, b);
    }
  }

  @AfterAll
  void uninstall() throws Exception {
    try {
      if (installed) {
        helmUninstall();
      }
    } finally {
      ChartScenarios.deleteBackends(this, backends);
    }
  }

  @Test
  @Order(1)
  void aStoppedKubeletShowsInTheStatusOfItsNodesForwardsAndTheStatusRecovers() throws Exception {
    ChartScenarios.kubeletStopped(this, this, backends);
  }

  @Test
  @Order(2)
  void afterContainerdRestartsAndAKubeletIsKilledPodsAndForwardsComeBack() throws Exception {
    ChartScenarios.componentsRestart(this, this, backends);
  }

  @Test
  @Order(3)
  void helmUpgradeRollsEveryPodWhileAConnectionThroughADnatForwardKeepsFlowing() throws Exception {
    ChartScenarios.upgradeKeepsConnections(this, backends.get(0));
  }

  @Test
  @Order(4)
  void helmUninstallLeavesNoTableForwardFinalizerOrObjectBehind() throws Exception {
    ChartScenarios.uninstallLeavesNothing(this, backends);
  }

  @Override
  public KubernetesClient client() {
    return cluster.client();
  }

  @Override
  public List<String> nodes() {
    return cluster.nodes().stream().map(RealNode::name).toList();
  }

  private RealNode node(String name) {
    return cluster.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
  }

  @Override
  public String nodeAddress(String node) {
    return node(node).address();
  }

  @Override
  public String testImage() {
    return cluster.runtime().testapp().name();
  }

  @Override
  public String clientAddress() {
    return outside.address();
  }

  @Override
  public String fetch(String url) {
    try {
      return NodeNetwork.run("ip", "netns", "exec", outside.namespace(), "curl", "-sS", "--max-time", "5", url);
    } catch (IllegalStateException e) {
      return "";
    }
  }

  @Override
  public EchoSession connect(String address, int port) throws IOException {
    return EchoSession.start(List.of("ip", "netns", "exec", outside.namespace(), "socat", "-",
        "TCP:" + address + ":" + port + ",connect-timeout=5"));
  }

  @Override
  public String onNode(String node, String... command) throws Exception {
    return node(node).exec(command);
  }

  @Override
  public String releaseName() {
    return release.name();
  }

  @Override
  public String releaseNamespace() {
    return release.namespace();
  }

  @Override
  public void helmUpgrade(String... values) throws Exception {
    List<String> all = new ArrayList<>(List.of("crds.enabled=false", "operator.replicas=1"));
    all.addAll(List.of(values));
    release.upgrade(all.toArray(String[]::new));
  }

  @Override
  public void helmUninstall() throws Exception {
    installed = false;
    release.uninstall();
  }

  @Override
  public void stopKubelet(String node) throws Exception {
    node(node).stopKubelet();
  }

  @Override
  public void killKubelet(String node) throws Exception {
    node(node).killKubelet();
  }

  @Override
  public void startKubelet(String node) throws Exception {
    node(node).restartKubelet();
  }

  @Override
  public void restartContainerd(String node) throws Exception {
    node(node).restartContainerd();
  }
}
