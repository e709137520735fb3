package dev.portforward.operator.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import dev.portforward.operator.gatewayapi.GatewayPlan.ParentStatus;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.Test;

/** A route's status.parents as one Gateway's reconcile leaves it: its entries replaced, others' kept, stale ones gone. */
class RouteParentsTest {

  private static final Instant NOW = Instant.parse("2026-12-01T00:00:00Z");
  private static final String OURS = GatewayApi.CONTROLLER_NAME;

  private final Set<String> gateways = new java.util.HashSet<>(Set.of("infra/gw", "infra/other-gw"));
  private final BiPredicate<String, String> exists = (ns, name) -> gateways.contains(ns + "/" + name);

  @Test
  void aDeletedGatewaysEntriesGoAndEveryOtherEntryStays() {
    gateways.remove("infra/gw");
    List<Map<String, Object>> current = List.of(
        entry(OURS, "gw", "tcp"), entry(OURS, "gw", "udp"), entry(OURS, "other-gw", null),
        entry("example.com/other-controller", "gw", null));

    List<Map<String, Object>> parents = RouteParents.merge(current, "infra", "infra", "gw", List.of(), exists, NOW)
        .orElseThrow();

    assertThat(parents).extracting(p -> p.get("controllerName") + " " + ((Map<?, ?>) p.get("parentRef")).get("name"))
        .containsExactly(OURS + " other-gw", "example.com/other-controller gw");
  }

  @Test
  void entriesOfThisControllerForAGatewayThatNoLongerExistsGoWithAnotherGatewaysWrite() {
    List<Map<String, Object>> current = List.of(entry(OURS, "vanished", null), entry("example.com/x", "vanished", null));

    List<Map<String, Object>> parents = RouteParents.merge(current, "infra", "infra", "gw", List.of(), exists, NOW)
        .orElseThrow();

    assertThat(parents).extracting(p -> p.get("controllerName")).containsExactly("example.com/x");
  }

  @Test
  void thisGatewaysEntriesAreReplacedKeepingTheirTransitionTimesAndNothingChangedIsNoWrite() {
    List<Map<String, Object>> current = List.of(entry(OURS, "gw", "tcp"), entry(OURS, "other-gw", null));
    ParentStatus tcp = new ParentStatus(new RouteView.ParentRef(GatewayApi.GROUP, "Gateway", "infra", "gw", "tcp", null),
        List.of(new Cond("Accepted", true, "Accepted", "attached", 1)));

    List<Map<String, Object>> parents = RouteParents.merge(current, "infra", "infra", "gw", List.of(tcp), exists, NOW)
        .orElseThrow();

    assertThat(parents).hasSize(2);
    Map<?, ?> condition = (Map<?, ?>) ((List<?>) parents.get(1).get("conditions")).get(0);
    assertThat(condition.get("lastTransitionTime")).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(RouteParents.merge(parents, "infra", "infra", "gw", List.of(tcp), exists, NOW)).isEmpty();
    // The same entries in another order are no write either.
    assertThat(RouteParents.merge(List.of(parents.get(1), parents.get(0)), "infra", "infra", "gw", List.of(tcp), exists,
        NOW)).isEmpty();
    // A route with nothing of this Gateway's and nothing stale is not written.
    assertThat(RouteParents.merge(List.of(entry(OURS, "other-gw", null)), "infra", "infra", "gw", List.of(), exists,
        NOW)).isEmpty();
  }

  private static Map<String, Object> entry(String controller, String gateway, String sectionName) {
    return Serialization.unmarshal("""
        parentRef: {name: %s%s}
        controllerName: %s
        conditions: [{type: Accepted, status: "True", reason: Accepted, message: attached, observedGeneration: 1,
          lastTransitionTime: "2026-01-01T00:00:00Z"}]
        """.formatted(gateway, sectionName == null ? "" : ", sectionName: " + sectionName, controller), Map.class);
  }
}
