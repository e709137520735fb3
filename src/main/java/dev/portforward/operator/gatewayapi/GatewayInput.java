package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.PortForward;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.ReferenceGrant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Everything a Gateway's plan depends on, read from the caches by the reconciler, handed in as
 * plain values by a test: the Gateway, whether its class is accepted, the routes that name it,
 * the ReferenceGrants, the Services, their EndpointSlices and the namespace labels the routes
 * refer to ({@code "ns/name"} and {@code "ns"} keys), the PortForwards it owns (with their
 * statuses), its class's parameters ({@link GatewayParameters#NODE_DNAT} when the class is not
 * accepted), and the objects of the Gateway's namespace that are not its own, which a mirror must
 * not take over ({@code "Service name"}, {@code "EndpointSlice name"}).
 */
public record GatewayInput(Gateway gateway, boolean classAccepted, List<RouteView> routes,
    List<ReferenceGrant> grants, Map<String, Service> services, Map<String, List<EndpointSlice>> backendSlices,
    Map<String, Map<String, String>> namespaceLabels, List<PortForward> derived, GatewayParameters parameters,
    Set<String> othersObjects) {

  Optional<Service> service(String namespace, String name) {
    return Optional.ofNullable(services.get(namespace + "/" + name));
  }

  List<EndpointSlice> slices(String namespace, String name) {
    return backendSlices.getOrDefault(namespace + "/" + name, List.of());
  }

  Map<String, String> labels(String namespace) {
    return namespaceLabels.getOrDefault(namespace, Map.of());
  }
}
