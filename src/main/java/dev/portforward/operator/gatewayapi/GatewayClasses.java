package dev.portforward.operator.gatewayapi;

import dev.portforward.operator.gatewayapi.GatewayApi.Reason;
import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import io.k8s.networking.gateway.v1.GatewayClass;
import java.util.Optional;

/** Which GatewayClasses are this controller's, and whether it accepts one. */
public final class GatewayClasses {

  private GatewayClasses() {}

  public static boolean ours(GatewayClass gatewayClass) {
    return gatewayClass != null && gatewayClass.getSpec() != null
        && GatewayApi.CONTROLLER_NAME.equals(gatewayClass.getSpec().getControllerName());
  }

  /** Accepted, unless it asks for parameters: the controller has none to read yet. */
  public static Cond accepted(GatewayClass gatewayClass) {
    long generation = Optional.ofNullable(gatewayClass.getMetadata().getGeneration()).orElse(0L);
    if (gatewayClass.getSpec().getParametersRef() != null) {
      return new Cond(GatewayApi.ACCEPTED, false, Reason.INVALID_PARAMETERS,
          "parametersRef is not supported: every listener is carried by node DNAT", generation);
    }
    return new Cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED,
        "Gateways of this class become PortForwards (TCP and UDP listeners, node DNAT)", generation);
  }
}
