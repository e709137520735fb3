package dev.portforward.operator.gatewayapi;

import com.fasterxml.jackson.databind.JsonNode;
import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Planned conditions as the API writes them: lastTransitionTime kept from the previous condition
 * of the same type unless its status changed (the Gateway API models have one condition class per
 * place, so conditions travel as maps and are converted into each).
 */
final class StatusConditions {

  private StatusConditions() {}

  /** {@code previous}: the current conditions, of any generated condition class (or null). */
  static List<Map<String, Object>> render(List<Cond> next, List<?> previous, Instant now) {
    JsonNode before = Serialization.jsonMapper().valueToTree(previous == null ? List.of() : previous);
    return next.stream().map(c -> {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("type", c.type());
      map.put("status", c.statusText());
      map.put("reason", c.reason());
      map.put("message", c.message().length() > 32768 ? c.message().substring(0, 32768) : c.message());
      map.put("observedGeneration", c.observedGeneration());
      map.put("lastTransitionTime", lastTransition(before, c).orElse(now.truncatedTo(ChronoUnit.SECONDS).toString()));
      return map;
    }).toList();
  }

  private static Optional<String> lastTransition(JsonNode before, Cond next) {
    for (JsonNode c : before) {
      if (next.type().equals(c.path("type").asText()) && next.statusText().equals(c.path("status").asText())
          && c.hasNonNull("lastTransitionTime")) {
        return Optional.of(Serialization.jsonMapper().convertValue(c.get("lastTransitionTime"), ZonedDateTime.class)
            .toInstant().toString());
      }
    }
    return Optional.empty();
  }

  /** Whether two status objects (of any model class) say the same, as JSON. */
  static boolean same(Object a, Object b) {
    return Serialization.jsonMapper().valueToTree(a).equals(Serialization.jsonMapper().valueToTree(b));
  }

  static <T> T as(Object value, Class<T> type) {
    return Serialization.jsonMapper().convertValue(value, type);
  }
}
