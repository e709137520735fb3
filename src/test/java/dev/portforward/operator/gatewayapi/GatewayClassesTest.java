package dev.portforward.operator.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.k8s.networking.gateway.v1.GatewayClass;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A GatewayClass's Accepted and SupportedVersion. */
class GatewayClassesTest {

  @Test
  void onlyClassesWithOurControllerNameAreOurs() {
    assertThat(GatewayClasses.ours(gatewayClass("portforward.dev/gateway-controller", ""))).isTrue();
    assertThat(GatewayClasses.ours(gatewayClass("example.com/other", ""))).isFalse();
  }

  @Test
  void aClassIsAcceptedUnlessItsParametersAreWrong() {
    GatewayClass gc = gatewayClass("portforward.dev/gateway-controller", "");
    assertThat(GatewayClasses.accepted(gc, GatewayParameters.Parsed.of(GatewayParameters.NODE_DNAT)))
        .extracting(Cond::status, Cond::reason, Cond::observedGeneration).containsExactly(true, "Accepted", 3L);
    assertThat(GatewayClasses.accepted(gc, GatewayParameters.Parsed.of(new GatewayParameters(RelayMode.Deployment)))
        .message()).contains("relay Deployment");
    assertThat(GatewayClasses.accepted(gc, GatewayParameters.Parsed.invalid("ConfigMap infra/p not found")))
        .extracting(Cond::status, Cond::reason, Cond::message, Cond::observedGeneration)
        .containsExactly(false, "InvalidParameters", "ConfigMap infra/p not found", 3L);
  }

  @Test
  void theInstalledCrdsMustBeOurReleaseForSupportedVersion() {
    GatewayClass gc = gatewayClass("portforward.dev/gateway-controller", "");
    assertThat(GatewayClasses.supportedVersion(gc, Map.of("gateways.gateway.networking.k8s.io", Optional.of("v1.6.3"),
        "tcproutes.gateway.networking.k8s.io", Optional.of("v1.6.0"))))
        .extracting(Cond::status, Cond::reason).containsExactly(true, "SupportedVersion");
    Cond older = GatewayClasses.supportedVersion(gc, Map.of("gateways.gateway.networking.k8s.io", Optional.of("v1.5.1"),
        "tcproutes.gateway.networking.k8s.io", Optional.empty()));
    assertThat(older).extracting(Cond::status, Cond::reason).containsExactly(false, "UnsupportedVersion");
    assertThat(older.message()).contains("gateways.gateway.networking.k8s.io=v1.5.1",
        "tcproutes.gateway.networking.k8s.io=none");
    // v1.60 is not v1.6.
    assertThat(GatewayClasses.supportedVersion(gc, Map.of("gateways.gateway.networking.k8s.io",
        Optional.of("v1.60.0"))).status()).isFalse();
  }

  private static GatewayClass gatewayClass(String controller, String more) {
    return Serialization.unmarshal("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: c, generation: 3}
        spec: {controllerName: %s%s}
        """.formatted(controller, more), GatewayClass.class);
  }
}
