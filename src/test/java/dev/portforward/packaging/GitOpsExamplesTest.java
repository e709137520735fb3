package dev.portforward.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The example repository layout of docs/gitops orders the operator (and its CRDs) before the
 * PortForwards: Argo CD by sync waves, Flux by dependsOn on a Kustomization that waits for the
 * HelmRelease. (SidecarWebhookIT checks its caBundle ignore rules against a real configuration.)
 */
class GitOpsExamplesTest {

  private static final Path GITOPS = Path.of("docs/gitops");
  private static final YAMLMapper YAML = new YAMLMapper();

  @Test
  void argoCdSyncsTheOperatorInAnEarlierWaveThanThePortForwards() throws IOException {
    JsonNode operator = documents("argocd/operator.yaml").get(0);
    JsonNode forwards = documents("argocd/forwards.yaml").get(0);
    assertThat(operator.at("/spec/source/path").asText()).isEqualTo("helm/portforward-operator");
    assertThat(wave(operator)).isLessThan(wave(forwards));
    assertThat(forwards.at("/spec/syncPolicy/syncOptions").toString()).contains("SkipDryRunOnMissingResource=true");
    assertThat(operator.at("/spec/syncPolicy/syncOptions").toString()).contains("RespectIgnoreDifferences=true");
  }

  @Test
  void fluxAppliesThePortForwardsOnlyOnceTheOperatorsKustomizationIsReady() throws IOException {
    List<JsonNode> kustomizations = documents("flux/forwards.yaml");
    JsonNode infrastructure = named(kustomizations, "infrastructure");
    JsonNode portforwards = named(kustomizations, "portforwards");
    assertThat(infrastructure.at("/spec/wait").asBoolean()).as("Ready only once the HelmRelease is").isTrue();
    assertThat(portforwards.at("/spec/dependsOn").findValuesAsText("name")).containsExactly("infrastructure");
    JsonNode release = named(documents("flux/operator.yaml"), "portforward-operator", "HelmRelease");
    assertThat(release.at("/spec/chart/spec/chart").asText()).isEqualTo("helm/portforward-operator");
    assertThat(release.at("/spec/driftDetection/mode").asText()).isEqualTo("enabled");
  }

  private static int wave(JsonNode application) {
    return Integer.parseInt(application.at("/metadata/annotations/argocd.argoproj.io~1sync-wave").asText());
  }

  private static JsonNode named(List<JsonNode> documents, String name) {
    return named(documents, name, "Kustomization");
  }

  private static JsonNode named(List<JsonNode> documents, String name, String kind) {
    return documents.stream()
        .filter(d -> kind.equals(d.path("kind").asText()) && name.equals(d.at("/metadata/name").asText()))
        .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  private static List<JsonNode> documents(String file) throws IOException {
    List<JsonNode> documents = new ArrayList<>();
    for (String document : Files.readString(GITOPS.resolve(file)).split("(?m)^---$")) {
      if (!document.isBlank()) {
        documents.add(YAML.readTree(document));
      }
    }
    return documents;
  }
}
