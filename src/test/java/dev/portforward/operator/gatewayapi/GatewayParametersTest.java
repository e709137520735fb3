package dev.portforward.operator.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.operator.gatewayapi.GatewayParameters.Parsed;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.k8s.networking.gateway.v1.gatewayclassspec.ParametersRef;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A GatewayClass's parametersRef read strictly: the ConfigMap's relay mode, or why the class is refused. */
class GatewayParametersTest {

  private final Map<String, ConfigMap> configMaps = new HashMap<>();

  @Test
  void noParametersRefIsNodeDnat() {
    assertThat(GatewayParameters.of(null, this::find).parameters()).contains(GatewayParameters.NODE_DNAT);
  }

  @Test
  void relayModeDeploymentFromTheConfigMap() {
    configMap("infra", "relayed", Map.of("relay.mode", "Deployment"));

    Parsed parsed = GatewayParameters.of(ref("{group: '', kind: ConfigMap, namespace: infra, name: relayed}"),
        this::find);

    assertThat(parsed.problem()).isEmpty();
    assertThat(parsed.parameters()).contains(new GatewayParameters(RelayMode.Deployment));
  }

  @Test
  void anEmptyConfigMapOrModeNoneIsNodeDnat() {
    configMap("infra", "empty", Map.of());
    configMap("infra", "none", Map.of("relay.mode", "None"));

    assertThat(GatewayParameters.of(ref("{group: '', kind: ConfigMap, namespace: infra, name: empty}"), this::find)
        .parameters()).contains(GatewayParameters.NODE_DNAT);
    assertThat(GatewayParameters.of(ref("{group: '', kind: ConfigMap, namespace: infra, name: none}"), this::find)
        .parameters()).contains(GatewayParameters.NODE_DNAT);
  }

  @Test
  void aMissingConfigMapSaysWhereItLookedAndWhichLabelItNeeds() {
    assertThat(problem("{group: '', kind: ConfigMap, namespace: infra, name: absent}")).isEqualTo(
        "ConfigMap infra/absent not found (a parameters ConfigMap needs the label gateway.portforward.dev/parameters)");
  }

  @Test
  void aReferenceToAnythingButANamespacedConfigMapIsRefused() {
    assertThat(problem("{group: example.com, kind: Params, name: p}")).isEqualTo("parametersRef names \"Params\""
        + " of group \"example.com\": it must name a ConfigMap (group \"\", kind ConfigMap)");
    assertThat(problem("{group: '', kind: Secret, namespace: infra, name: p}"))
        .startsWith("parametersRef names \"Secret\":");
    assertThat(problem("{group: '', kind: ConfigMap, name: p}"))
        .isEqualTo("parametersRef.namespace is required: a ConfigMap is namespaced");
  }

  @Test
  void unknownKeysAndValuesAreRefusedNotIgnored() {
    configMap("infra", "typo", Map.of("relay.mode", "Deployment", "relay.replicas", "2", "rely.mode", "x"));
    configMap("infra", "socks", Map.of("relay.mode", "Socks5"));
    configMap("infra", "lower", Map.of("relay.mode", "deployment"));
    configMap("infra", "long", Map.of("relay.mode", "D".repeat(500) + "\n"));

    assertThat(problem("{group: '', kind: ConfigMap, namespace: infra, name: typo}")).isEqualTo(
        "ConfigMap infra/typo has unknown key(s) [\"relay.replicas\", \"rely.mode\"]: the keys are [relay.mode]");
    assertThat(problem("{group: '', kind: ConfigMap, namespace: infra, name: socks}")).isEqualTo(
        "ConfigMap infra/socks: relay.mode \"Socks5\" is not supported: None (node DNAT) or Deployment"
            + " (a relay Deployment per listener)");
    assertThat(problem("{group: '', kind: ConfigMap, namespace: infra, name: lower}"))
        .startsWith("ConfigMap infra/lower: relay.mode \"deployment\" is not supported");
    // A long value is cut, and carries no control characters into the status.
    assertThat(problem("{group: '', kind: ConfigMap, namespace: infra, name: long}"))
        .contains("\"" + "D".repeat(64) + "...\"").doesNotContain("\n").hasSizeLessThan(200);
  }

  @Test
  void binaryDataIsRefused() {
    configMaps.put("infra/bin", new ConfigMapBuilder().withNewMetadata().withNamespace("infra").withName("bin")
        .endMetadata().addToBinaryData("relay.mode", "RGVwbG95bWVudA==").build());

    assertThat(problem("{group: '', kind: ConfigMap, namespace: infra, name: bin}"))
        .startsWith("ConfigMap infra/bin has binaryData, which is not read");
  }

  private String problem(String ref) {
    Parsed parsed = GatewayParameters.of(ref(ref), this::find);
    assertThat(parsed.parameters()).isEmpty();
    return parsed.problem().orElseThrow();
  }

  private Optional<ConfigMap> find(String namespace, String name) {
    return Optional.ofNullable(configMaps.get(namespace + "/" + name));
  }

  private void configMap(String namespace, String name, Map<String, String> data) {
    configMaps.put(namespace + "/" + name, new ConfigMapBuilder().withNewMetadata().withNamespace(namespace)
        .withName(name).addToLabels(GatewayParameters.LABEL, "true").endMetadata().withData(data).build());
  }

  private static ParametersRef ref(String yaml) {
    // A YAML flow mapping (a document marker first, or it would be read as JSON).
    return Serialization.unmarshal("--- " + yaml, ParametersRef.class);
  }
}
