package dev.portforward.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
  void theStandardChannelAddsTheRouteKindsTheSuiteApplies(KubernetesClient client) throws Exception {
    GatewayApiCrds.install(client);

    GatewayConformance.installStandardChannel(client);

    var crds = client.apiextensions().v1().customResourceDefinitions();
    for (String name : List.of("httproutes", "grpcroutes", "tlsroutes", "listenersets", "backendtlspolicies")) {
      var crd = crds.withName(name + ".gateway.networking.k8s.io").get();
      assertThat(crd).as(name).isNotNull();
      assertThat(crd.getMetadata().getAnnotations())
          .as("the suite refuses CRDs of mixed bundle versions or channels")
          .containsEntry("gateway.networking.k8s.io/bundle-version", "v1.6.3")
          .containsEntry("gateway.networking.k8s.io/channel", "standard");
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
        Map.entry("registry.k8s.io/gateway-api/echo-basic:v1.5.1", Path.of("/cache/echo-basic/1.tar")),
        Map.entry("registry.k8s.io/coredns/coredns:v1.12.2", Path.of("/cache/coredns/1.tar")));

    Files.writeString(list, "registry.k8s.io/coredns/coredns:v1.12.2\n");
    assertThatThrownBy(() -> GatewayConformance.readImageList(list))
        .hasMessageContaining("expected \"<image name> <tarball>\"");
  }
}
