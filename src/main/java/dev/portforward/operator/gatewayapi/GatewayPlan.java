package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.PortForward;
import java.util.List;
import java.util.Map;

/**
 * What the {@link GatewayPlanner} decided for one Gateway: the derived PortForwards it should
 * have (every other one it owns goes), the mirrors of backends outside its namespace that they
 * name (likewise), its status, and, per route that names it (by {@link
 * RouteView#key()}), this controller's entries in that route's status.parents.
 */
public record GatewayPlan(List<PortForward> forwards, List<BackendMirrors.Mirror> mirrors, GatewayState gateway, Map<String, List<ParentStatus>> routes) {

  /** One status condition, before its lastTransitionTime is known. */
  public record Cond(String type, boolean status, String reason, String message, long observedGeneration) {

    public String statusText() {
      return status ? "True" : "False";
    }
  }

  public record ListenerState(String name, List<String> supportedKinds, int attachedRoutes, List<Cond> conditions) {}

  public record GatewayState(List<String> addresses, List<Cond> conditions, List<ListenerState> listeners) {}

  /** This controller's status entry for one parentRef of a route. */
  public record ParentStatus(RouteView.ParentRef parentRef, List<Cond> conditions) {}
}
