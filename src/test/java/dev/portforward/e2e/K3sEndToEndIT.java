package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The quickstart on a real K3s cluster (kubelet, kube-proxy, pods): install the CRD, run the
 * packaged operator against it, apply a PortForward and see its status. Needs a Docker engine;
 * without one it is skipped, saying so.
 */
class K3sEndToEndIT {

  @Test
  void quickstartOnK3s() throws Exception {
    assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
        "skipped: no Docker engine on this machine, and the K3s end-to-end test needs one");
    try (K3sContainer k3s = new K3sContainer(DockerImageName.parse("rancher/k3s:v1.33.4-k3s1"))) {
      k3s.start();
      Path dir = Files.createTempDirectory("portforward-k3s-");
      Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), k3s.getKubeConfigYaml());
      try (KubernetesClient client = new KubernetesClientBuilder()
          .withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build()) {
        RealCluster.installCrds(client);
        ProcessBuilder launch = new ProcessBuilder(List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "-Dquarkus.http.port=0", "-Dportforward.leader-election.lease-namespace=default",
                "-jar", ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar").toString(),
                "operator"))
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("operator.log").toFile());
        launch.environment().put("KUBECONFIG", kubeconfig.toString());
        Process operator = launch.start();
        try {
          client.load(Files.newInputStream(ControlPlane.projectRoot().resolve("docs/examples/quickstart.yaml")))
              .serverSideApply();
          var pf = PortForwards.awaitAccepted(client, "default", "web");
          assertThat(PortForwards.condition(pf, Conditions.RESOLVED_REFS).orElseThrow().getStatus()).isEqualTo("True");
        } finally {
          operator.destroy();
          operator.waitFor(20, TimeUnit.SECONDS);
        }
      }
    }
  }
}
