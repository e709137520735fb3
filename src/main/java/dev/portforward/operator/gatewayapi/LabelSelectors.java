package dev.portforward.operator.gatewayapi;

import io.k8s.networking.gateway.v1.gatewayspec.listeners.allowedroutes.namespaces.Selector;
import io.k8s.networking.gateway.v1.gatewayspec.listeners.allowedroutes.namespaces.selector.MatchExpressions;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A listener's allowedRoutes.namespaces.selector against a namespace's labels (Kubernetes label-selector rules). */
final class LabelSelectors {

  private LabelSelectors() {}

  static boolean matches(Selector selector, Map<String, String> labels) {
    boolean labelsMatch = Optional.ofNullable(selector.getMatchLabels()).orElse(Map.of()).entrySet().stream()
        .allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    return labelsMatch && Optional.ofNullable(selector.getMatchExpressions()).orElse(List.of()).stream()
        .allMatch(e -> matches(e, labels));
  }

  private static boolean matches(MatchExpressions expression, Map<String, String> labels) {
    List<String> values = Optional.ofNullable(expression.getValues()).orElse(List.of());
    String value = labels.get(expression.getKey());
    return switch (expression.getOperator()) {
      case "In" -> value != null && values.contains(value);
      case "NotIn" -> value == null || !values.contains(value);
      case "Exists" -> value != null;
      case "DoesNotExist" -> value == null;
      // An operator the API does not define selects nothing: never more than the admin wrote.
      default -> false;
    };
  }
}
