package dev.portforward.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.testbed.GatewayApiCrds;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Gateway API CRDs the models are generated from are the five upstream v1.6.3 standard-channel
 * files, and they serve TCPRoute and UDPRoute at v1: a partial update or a file from another
 * release fails here instead of in a model that no longer matches the served schema.
 */
class GatewayApiCrdsTest {

  @Test
  void theFilesAreTheUpstreamStandardChannelOfOneRelease() throws Exception {
    List<CustomResourceDefinition> crds = new ArrayList<>();
    for (Path file : GatewayApiCrds.files()) {
      crds.add(Serialization.unmarshal(Files.readString(file), CustomResourceDefinition.class));
    }

    assertThat(crds).extracting(crd -> crd.getSpec().getNames().getKind())
        .containsExactlyInAnyOrder("GatewayClass", "Gateway", "ReferenceGrant", "TCPRoute", "UDPRoute");
    assertThat(crds).allSatisfy(crd -> assertThat(crd.getMetadata().getAnnotations())
        .containsEntry("gateway.networking.k8s.io/bundle-version", "v1.6.3")
        .containsEntry("gateway.networking.k8s.io/channel", "standard"));
    assertThat(crds).allSatisfy(crd -> assertThat(crd.getSpec().getVersions())
        .filteredOn(CustomResourceDefinitionVersion::getServed)
        .extracting(CustomResourceDefinitionVersion::getName).contains("v1"));
  }
}
