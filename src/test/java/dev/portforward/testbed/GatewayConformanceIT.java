package dev.portforward.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the conformance runner ({@link GatewayConformance}) gives the suite before it starts: a
 * GatewayClass the upstream CRD admits, owned by the operator's controller, and the images of
 * images.sh's list.
 */
@ExtendWith(RealCluster.class)
class GatewayConformanceIT {

  @Test
  void theSuitesGatewayClassIsAdmittedAndNamesTheOperatorsController(KubernetesClient client) throws Exception {
    GatewayApiCrds.install(client);
    var classes = client.genericKubernetesResources("gateway.networking.k8s.io/v1", "GatewayClass");
    try {
      GatewayConformance.applyGatewayClass(client);

      GenericKubernetesResource applied = classes.withName(GatewayConformance.GATEWAY_CLASS).get();
      assertThat(applied).isNotNull();
      assertThat((String) applied.get("spec", "controllerName")).isEqualTo("portforward.dev/gateway-controller");
    } finally {
      classes.withName(GatewayConformance.GATEWAY_CLASS).delete();
    }
  }

  @Test
  void theImageListGivesEachImageItsTarball(@TempDir Path dir) throws Exception {
    Path list = dir.resolve("images.list");
    Files.writeString(list, """
        registry.k8s.io/gateway-api/echo-basic:v1.5.1 /cache/echo-basic/1.tar

        registry.k8s.io/coredns/coredns:v1.12.2 /cache/coredns/1.tar
        """);

    assertThat(GatewayConformance.readImageList(list)).containsExactly(
        java.util.Map.entry("registry.k8s.io/gateway-api/echo-basic:v1.5.1", Path.of("/cache/echo-basic/1.tar")),
        java.util.Map.entry("registry.k8s.io/coredns/coredns:v1.12.2", Path.of("/cache/coredns/1.tar")));

    Files.writeString(list, "registry.k8s.io/coredns/coredns:v1.12.2\n");
    assertThatThrownBy(() -> GatewayConformance.readImageList(list))
        .hasMessageContaining("expected \"<image name> <tarball>\"");
  }
}
