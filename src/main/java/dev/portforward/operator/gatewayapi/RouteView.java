package dev.portforward.operator.gatewayapi;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.k8s.networking.gateway.v1.TCPRoute;
import io.k8s.networking.gateway.v1.UDPRoute;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A TCPRoute or UDPRoute as the planner reads it: the two kinds differ only in name (their
 * generated models are distinct classes), so both are read into this one shape.
 */
public record RouteView(String kind, String namespace, String name, long generation, String created,
    List<ParentRef> parentRefs, List<BackendRef> backendRefs) {

  /** A parentRef, with the spec's defaults filled in (group, kind, the route's namespace). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record ParentRef(String group, String kind, String namespace, String name, String sectionName, Integer port) {

    ParentRef withDefaults(String routeNamespace) {
      return new ParentRef(group == null ? GatewayApi.GROUP : group, kind == null ? GatewayApi.GATEWAY : kind,
          namespace == null ? routeNamespace : namespace, name, sectionName, port);
    }

    boolean names(String gatewayNamespace, String gatewayName) {
      return GatewayApi.GROUP.equals(group) && GatewayApi.GATEWAY.equals(kind)
          && gatewayNamespace.equals(namespace) && gatewayName.equals(name);
    }
  }

  /** A backendRef, with the spec's defaults filled in (core group, Service, the route's namespace, weight 1). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record BackendRef(String group, String kind, String namespace, String name, Integer port, Integer weight) {

    BackendRef withDefaults(String routeNamespace) {
      return new BackendRef(group == null ? "" : group, kind == null ? "Service" : kind,
          namespace == null ? routeNamespace : namespace, name, port, weight == null ? 1 : weight);
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  private record Rule(List<BackendRef> backendRefs) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  private record Spec(List<ParentRef> parentRefs, List<Rule> rules) {}

  public static RouteView of(TCPRoute route) {
    return of(GatewayApi.TCP_ROUTE, route, route.getSpec());
  }

  public static RouteView of(UDPRoute route) {
    return of(GatewayApi.UDP_ROUTE, route, route.getSpec());
  }

  private static RouteView of(String kind, HasMetadata route, Object modelSpec) {
    Spec spec = modelSpec == null ? new Spec(List.of(), List.of())
        : Serialization.jsonMapper().convertValue(modelSpec, Spec.class);
    String namespace = route.getMetadata().getNamespace();
    List<ParentRef> parents = Optional.ofNullable(spec.parentRefs()).orElse(List.of()).stream()
        .map(p -> p.withDefaults(namespace)).toList();
    List<BackendRef> backends = Optional.ofNullable(spec.rules()).orElse(List.of()).stream()
        .filter(Objects::nonNull)
        .flatMap(r -> Optional.ofNullable(r.backendRefs()).orElse(List.of()).stream())
        .map(b -> b.withDefaults(namespace)).toList();
    return new RouteView(kind, namespace, route.getMetadata().getName(),
        Optional.ofNullable(route.getMetadata().getGeneration()).orElse(0L),
        Optional.ofNullable(route.getMetadata().getCreationTimestamp()).orElse(""), parents, backends);
  }

  /** Whether any parentRef names this Gateway. */
  public boolean names(String gatewayNamespace, String gatewayName) {
    return parentRefs.stream().anyMatch(p -> p.names(gatewayNamespace, gatewayName));
  }

  public String key() {
    return kind + " " + namespace + "/" + name;
  }
}
