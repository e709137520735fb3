package dev.portforward.operator.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import io.k8s.networking.gateway.v1.gatewaystatus.Conditions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** lastTransitionTime moves only when a condition's status does. */
class StatusConditionsTest {

  private static final Instant EARLIER = Instant.parse("2026-01-01T00:00:00Z");
  private static final Instant NOW = Instant.parse("2026-02-02T10:11:12.345Z");

  @Test
  void keepsTheTimeOfAnUnchangedStatusAndStampsAChangedOne() {
    List<Conditions> before = StatusConditions.render(List.of(
            new Cond("Accepted", true, "Accepted", "ok", 1), new Cond("Programmed", false, "Pending", "wait", 1)),
        null, EARLIER).stream().map(m -> StatusConditions.as(m, Conditions.class)).toList();

    List<Map<String, Object>> next = StatusConditions.render(List.of(
        new Cond("Accepted", true, "Accepted", "still ok", 2), new Cond("Programmed", true, "Programmed", "done", 2)),
        before, NOW);

    assertThat(next.get(0)).containsEntry("lastTransitionTime", "2026-01-01T00:00:00Z")
        .containsEntry("observedGeneration", 2L).containsEntry("message", "still ok");
    assertThat(next.get(1)).containsEntry("lastTransitionTime", "2026-02-02T10:11:12Z")
        .containsEntry("status", "True");
  }
}
