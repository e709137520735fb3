package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.operator.gatewayapi.GatewayApi.Reason;
import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import io.k8s.networking.gateway.v1.GatewayClass;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Which GatewayClasses are this controller's, whether it accepts one, and whether the installed CRDs are its version. */
public final class GatewayClasses {

  /** The Gateway API release whose models this operator is built from. */
  static final String BUILT_FOR = "v1.6";
  static final String BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version";

  private GatewayClasses() {}

  public static boolean ours(GatewayClass gatewayClass) {
    return gatewayClass != null && gatewayClass.getSpec() != null
        && GatewayApi.CONTROLLER_NAME.equals(gatewayClass.getSpec().getControllerName());
  }

  /** Accepted, unless its parameters are wrong ({@link GatewayParameters#of}). */
  public static Cond accepted(GatewayClass gatewayClass, GatewayParameters.Parsed parameters) {
    long generation = Optional.ofNullable(gatewayClass.getMetadata().getGeneration()).orElse(0L);
    if (parameters.problem().isPresent()) {
      return new Cond(GatewayApi.ACCEPTED, false, Reason.INVALID_PARAMETERS, parameters.problem().get(), generation);
    }
    boolean relays = parameters.parameters().orElseThrow().relayMode() == RelayMode.Deployment;
    return new Cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED, "Gateways of this class become PortForwards (TCP and"
        + " UDP listeners, " + (relays ? "each carried by a relay Deployment" : "node DNAT") + ")", generation);
  }

  /**
   * SupportedVersion from the installed CRDs' bundle-version annotations (by CRD name; empty when
   * a CRD has none or could not be read): True when each is a {@value #BUILT_FOR} release; False
   * otherwise, and the class stays accepted (best effort, as the spec allows).
   */
  public static Cond supportedVersion(GatewayClass gatewayClass, Map<String, Optional<String>> bundleVersions) {
    long generation = Optional.ofNullable(gatewayClass.getMetadata().getGeneration()).orElse(0L);
    Map<String, String> found = new TreeMap<>();
    bundleVersions.forEach((crd, version) -> found.put(crd, version.orElse("none")));
    boolean supported = !found.isEmpty()
        && found.values().stream().allMatch(v -> v.equals(BUILT_FOR) || v.startsWith(BUILT_FOR + "."));
    return supported
        ? new Cond("SupportedVersion", true, "SupportedVersion", "the Gateway API CRDs are " + BUILT_FOR + ".x",
            generation)
        : new Cond("SupportedVersion", false, "UnsupportedVersion", "this controller supports Gateway API "
            + BUILT_FOR + ".x; installed CRD bundle versions: " + found, generation);
  }
}
