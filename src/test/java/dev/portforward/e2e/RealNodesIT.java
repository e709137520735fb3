package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.DemoBackend;
import dev.portforward.testbed.NodeCluster;
import dev.portforward.testbed.RealNode;
import dev.portforward.testbed.RealNodes;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The test bed's real nodes themselves: kubelets registered and Ready, running pods of the test
 * image that answer through a Service (kube-proxy's nftables rules in the node), and the API
 * server reaching the kubelet (logs) as a client the kubelet authenticates.
 */
@ExtendWith(RealNodes.class)
class RealNodesIT {

  @Test
  void podsBehindAServiceAnswerThroughKubeProxy(NodeCluster cluster, KubernetesClient client, TestNamespace ns)
      throws Exception {
    assertThat(client.nodes().list().getItems()).allMatch(n -> n.getSpec().getTaints() == null
        || n.getSpec().getTaints().stream().noneMatch(t -> t.getKey().startsWith("node.kubernetes.io/not-ready")));
    client.load(new ByteArrayInputStream(DemoBackend.manifest(ns.name(), cluster.runtime().testapp().name(), 2)
        .getBytes(StandardCharsets.UTF_8))).serverSideApply();
    List<Pod> pods = DemoBackend.awaitReady(client, ns.name(), 2);
    String clusterIp =
        client.services().inNamespace(ns.name()).withName(DemoBackend.NAME).get().getSpec().getClusterIP();

    RealNode node = cluster.nodes().get(0);
    await("both pods answer through the Service's ClusterIP").atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(() -> assertThat(pods).allSatisfy(pod -> assertThat(
            // New connections spread over the endpoints: ask until each pod has answered.
            askUntil(node, "http://" + clusterIp + "/", "hostname=" + pod.getMetadata().getName()))
            .isTrue()));

    // The API server reaches the kubelet (webhook authentication and authorization of its client certificate).
    String log = client.pods().inNamespace(ns.name()).withName(pods.get(0).getMetadata().getName()).getLog();
    assertThat(log).isNotNull();
  }

  private static boolean askUntil(RealNode node, String url, String expected) {
    for (int i = 0; i < 40; i++) {
      try {
        if (node.exec("curl", "-sS", "--max-time", "5", url).contains(expected)) {
          return true;
        }
      } catch (Exception e) {
        return false;
      }
    }
    return false;
  }
}
