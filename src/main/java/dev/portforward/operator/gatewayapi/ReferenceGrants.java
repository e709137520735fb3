package dev.portforward.operator.gatewayapi;

import io.k8s.networking.gateway.v1.ReferenceGrant;
import java.util.List;
import java.util.Optional;

/** Whether a ReferenceGrant in a Service's namespace lets a route of another namespace refer to it. */
final class ReferenceGrants {

  private ReferenceGrants() {}

  static boolean permit(List<ReferenceGrant> grants, String routeKind, String routeNamespace, String serviceNamespace,
      String serviceName) {
    return grants.stream()
        .filter(g -> serviceNamespace.equals(g.getMetadata().getNamespace()) && g.getSpec() != null)
        .anyMatch(g -> Optional.ofNullable(g.getSpec().getFrom()).orElse(List.of()).stream()
                .anyMatch(f -> GatewayApi.GROUP.equals(f.getGroup()) && routeKind.equals(f.getKind())
                    && routeNamespace.equals(f.getNamespace()))
            && Optional.ofNullable(g.getSpec().getTo()).orElse(List.of()).stream()
                .anyMatch(t -> (t.getGroup() == null || t.getGroup().isEmpty()) && "Service".equals(t.getKind())
                    && (t.getName() == null || t.getName().isEmpty() || serviceName.equals(t.getName()))));
  }
}
