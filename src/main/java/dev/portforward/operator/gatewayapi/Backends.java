package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.Target;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.operator.gatewayapi.RouteView.BackendRef;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * A route's resolved backendRefs as a PortForward target: {@code target.services}, each Service
 * (by the name the forward knows it under: its own, or its mirror's) with its weight (weighted
 * DNAT on the nodes). Refs to one Service and port are one entry with their weights added; refs
 * with weight 0 are left out.
 */
final class Backends {

  /** As PortForward's target.services allows. */
  static final int MAX_SERVICES = 16;

  private Backends() {}

  static Optional<Target> target(List<BackendRef> refs, Function<BackendRef, String> serviceName) {
    List<WeightedService> services = services(refs, serviceName);
    if (services.isEmpty() || services.size() > MAX_SERVICES) {
      return Optional.empty();
    }
    Target target = new Target();
    target.setServices(services);
    return Optional.of(target);
  }

  /** Why {@link #target} found none, for refs that resolved. */
  static String unsupported(List<BackendRef> refs) {
    List<WeightedService> services = services(refs, BackendRef::name);
    if (services.isEmpty()) {
      return "the route has no backendRef with a port and a weight above 0";
    }
    return "the route splits traffic over " + services.size() + " Services; a listener carries at most "
        + MAX_SERVICES;
  }

  private static List<WeightedService> services(List<BackendRef> refs, Function<BackendRef, String> serviceName) {
    Map<String, WeightedService> byServicePort = new LinkedHashMap<>();
    for (BackendRef ref : refs) {
      int weight = ref.weight() == null ? 1 : ref.weight();
      if (weight <= 0 || ref.port() == null) {
        continue;
      }
      String name = serviceName.apply(ref);
      WeightedService service = byServicePort.computeIfAbsent(name + ":" + ref.port(), k -> {
        WeightedService s = new WeightedService();
        s.setName(name);
        s.setPort(ref.port());
        s.setWeight(0);
        return s;
      });
      service.setWeight((int) Math.min(WeightedService.MAX_WEIGHT, (long) service.getWeight() + weight));
    }
    return new ArrayList<>(byServicePort.values());
  }
}
