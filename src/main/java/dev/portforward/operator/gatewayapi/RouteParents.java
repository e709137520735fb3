package dev.portforward.operator.gatewayapi;

import com.fasterxml.jackson.databind.JsonNode;
import dev.portforward.operator.gatewayapi.GatewayPlan.ParentStatus;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.stream.Collectors;

/**
 * A route's status.parents after one Gateway's reconcile: this controller's entries for that
 * Gateway replaced by {@code ours} (none once it is deleted), this controller's entries for a
 * Gateway that no longer exists dropped (one deleted while the operator was not running sends no
 * event), and every other entry (other controllers', other existing Gateways') kept as it is. Pure.
 */
final class RouteParents {

  private RouteParents() {}

  /**
   * {@code current}: the route's status.parents (entries of any model class, or null);
   * {@code gatewayExists}: whether a Gateway (namespace, name) exists. Empty when nothing changes.
   */
  static Optional<List<Map<String, Object>>> merge(List<?> current, String routeNamespace, String gatewayNamespace,
      String gatewayName, List<ParentStatus> ours, BiPredicate<String, String> gatewayExists, Instant now) {
    List<Map<String, Object>> existing = current == null ? List.of()
        : current.stream().map(p -> StatusConditions.as(p, Map.class)).map(m -> (Map<String, Object>) m).toList();
    List<Map<String, Object>> kept = new ArrayList<>();
    Map<RouteView.ParentRef, Map<String, Object>> previous = new HashMap<>();
    boolean stale = false;
    for (Map<String, Object> entry : existing) {
      RouteView.ParentRef ref = StatusConditions.as(entry.get("parentRef"), RouteView.ParentRef.class)
          .withDefaults(routeNamespace);
      boolean mine = GatewayApi.CONTROLLER_NAME.equals(entry.get("controllerName"));
      if (mine && ref.names(gatewayNamespace, gatewayName)) {
        previous.put(ref, entry);
      } else if (mine && GatewayApi.GROUP.equals(ref.group()) && GatewayApi.GATEWAY.equals(ref.kind())
          && !gatewayExists.test(ref.namespace(), ref.name())) {
        stale = true;
      } else {
        kept.add(entry);
      }
    }
    if (ours.isEmpty() && previous.isEmpty() && !stale) {
      return Optional.empty();
    }
    List<Map<String, Object>> parents = new ArrayList<>(kept);
    for (ParentStatus parent : ours) {
      Map<String, Object> entry = new LinkedHashMap<>();
      Map<String, Object> ref = new LinkedHashMap<>();
      ref.put("group", parent.parentRef().group());
      ref.put("kind", parent.parentRef().kind());
      ref.put("namespace", parent.parentRef().namespace());
      ref.put("name", parent.parentRef().name());
      Optional.ofNullable(parent.parentRef().sectionName()).ifPresent(s -> ref.put("sectionName", s));
      Optional.ofNullable(parent.parentRef().port()).ifPresent(p -> ref.put("port", p));
      entry.put("parentRef", ref);
      entry.put("controllerName", GatewayApi.CONTROLLER_NAME);
      Object before = Optional.ofNullable(previous.get(parent.parentRef())).map(e -> e.get("conditions")).orElse(null);
      entry.put("conditions", StatusConditions.render(parent.conditions(), (List<?>) before, now));
      parents.add(entry);
    }
    return sameEntries(existing, parents) ? Optional.empty() : Optional.of(parents);
  }

  /** The same entries in any order: a write only to reorder them would race other writers for nothing. */
  private static boolean sameEntries(List<Map<String, Object>> a, List<Map<String, Object>> b) {
    return a.size() == b.size() && trees(a).equals(trees(b));
  }

  private static Set<JsonNode> trees(List<Map<String, Object>> entries) {
    return entries.stream().map(e -> (JsonNode) Serialization.jsonMapper().valueToTree(e)).collect(Collectors.toSet());
  }
}
