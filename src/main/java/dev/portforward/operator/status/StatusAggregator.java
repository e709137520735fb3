package dev.portforward.operator.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The one place where status is built. Conditions carry observedGeneration; a condition keeps its
 * lastTransitionTime while its status and reason stay the same, so rebuilding the status from an
 * unchanged world yields an identical object and nothing is written.
 */
public final class StatusAggregator {

  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final int SUMMARY_ENDPOINTS = 3;

  private StatusAggregator() {}

  public static PortForwardStatus next(PortForward pf, Verdict verdict, Instant now) {
    Long generation = pf.getMetadata().getGeneration();
    List<Condition> previous =
        pf.getStatus() == null ? List.of() : pf.getStatus().getConditions();
    String time = now.truncatedTo(ChronoUnit.SECONDS).toString();
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(generation);
    status.setTarget(verdict.target());
    status.setPolicy(verdict.policy());
    status.setNodes(verdict.nodes());
    status.setEndpoints(verdict.endpoints());
    status.setEndpointsSummary(summary(verdict.endpoints()));
    status.setExternalEndpoints(verdict.externalEndpoints());
    List<Condition> conditions = new ArrayList<>(List.of(
        condition(Conditions.ACCEPTED, verdict.accepted(), generation, previous, time),
        condition(Conditions.RESOLVED_REFS, verdict.resolvedRefs(), generation, previous, time),
        condition(Conditions.PROGRAMMED, verdict.programmed(), generation, previous, time),
        condition(Conditions.READY, verdict.ready(), generation, previous, time)));
    verdict.gatewayMapped().ifPresent(check ->
        conditions.add(condition(Conditions.GATEWAY_MAPPED, check, generation, previous, time)));
    if (!verdict.accepted().ok()) {
      // Stalled is True where it appears (kstatus' abnormal-true convention), hence the negation.
      Check refused = verdict.accepted();
      conditions.add(condition(Conditions.STALLED, Check.ok(refused.reason(), refused.message()), generation,
          previous, time));
    }
    status.setConditions(List.copyOf(conditions));
    return status;
  }

  /** Up to three endpoints, for kubectl get; null when there are none. */
  static String summary(List<Endpoint> endpoints) {
    if (endpoints.isEmpty()) {
      return null;
    }
    String shown = endpoints.stream()
        .limit(SUMMARY_ENDPOINTS)
        .map(e -> (e.getAddress().contains(":") ? "[" + e.getAddress() + "]" : e.getAddress()) + ":" + e.getPort())
        .collect(Collectors.joining(","));
    int more = endpoints.size() - SUMMARY_ENDPOINTS;
    return more > 0 ? shown + " +" + more + " more" : shown;
  }

  /** Whether writing {@code next} would change anything. */
  public static boolean unchanged(PortForwardStatus current, PortForwardStatus next) {
    return current != null && sameJson(current, next);
  }

  /** Equal as the API server would store them. */
  public static boolean sameJson(Object a, Object b) {
    return JSON.valueToTree(a).equals(JSON.valueToTree(b));
  }

  /** The condition of a type, if present. */
  public static Optional<Condition> find(List<Condition> conditions, String type) {
    return conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  private static Condition condition(
      String type, Check check, Long generation, List<Condition> previous, String now) {
    String status = check.ok() ? "True" : "False";
    String since =
        find(previous, type)
            .filter(c -> status.equals(c.getStatus()) && Objects.equals(check.reason(), c.getReason()))
            .map(Condition::getLastTransitionTime)
            .orElse(now);
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(check.reason())
        .withMessage(check.message())
        .withObservedGeneration(generation)
        .withLastTransitionTime(since)
        .build();
  }
}
