package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.operator.gatewayapi.RouteView.BackendRef;
import java.util.List;
import java.util.Optional;

/**
 * A route's resolved backendRefs as a PortForward target. A PortForward targets one Service, so
 * a route whose traffic goes to exactly one Service (weight above 0) is carried; weighted
 * routing over several waits for weighted Service targets on PortForward.
 */
final class Backends {

  private Backends() {}

  static Optional<Target> target(List<BackendRef> refs) {
    List<BackendRef> carrying = carrying(refs);
    if (carrying.size() != 1 || carrying.get(0).port() == null) {
      return Optional.empty();
    }
    ServiceTarget service = new ServiceTarget();
    service.setName(carrying.get(0).name());
    service.setPort(carrying.get(0).port());
    Target target = new Target();
    target.setService(service);
    return Optional.of(target);
  }

  /** Why {@link #target} found none, for refs that resolved. */
  static String unsupported(List<BackendRef> refs) {
    List<BackendRef> carrying = carrying(refs);
    if (carrying.isEmpty()) {
      return "the route has no backendRef with a weight above 0";
    }
    if (carrying.size() > 1) {
      return "the route splits traffic over " + carrying.size()
          + " backendRefs, which needs weighted Service targets (not supported yet)";
    }
    return "the backendRef has no port";
  }

  private static List<BackendRef> carrying(List<BackendRef> refs) {
    return refs.stream().filter(r -> r.weight() == null || r.weight() > 0).toList();
  }
}
