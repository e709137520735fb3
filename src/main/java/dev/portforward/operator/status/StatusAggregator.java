package dev.portforward.operator.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The one place where status is built. Conditions carry observedGeneration; a condition keeps its
 * lastTransitionTime while its status and reason stay the same, so rebuilding the status from an
 * unchanged world yields an identical object and nothing is written.
 */
public final class StatusAggregator {

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  private StatusAggregator() {}

  public static PortForwardStatus next(PortForward pf, Verdict verdict, Instant now) {
    Long generation = pf.getMetadata().getGeneration();
    List<Condition> previous =
        pf.getStatus() == null ? List.of() : pf.getStatus().getConditions();
    String time = now.truncatedTo(ChronoUnit.SECONDS).toString();
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(generation);
    status.setTarget(verdict.target());
    status.setConditions(
        List.of(
            condition(Conditions.ACCEPTED, verdict.accepted(), generation, previous, time),
            condition(Conditions.RESOLVED_REFS, verdict.resolvedRefs(), generation, previous, time),
            condition(Conditions.PROGRAMMED, verdict.programmed(), generation, previous, time),
            condition(Conditions.READY, verdict.ready(), generation, previous, time)));
    return status;
  }

  /** Whether writing {@code next} would change anything. */
  public static boolean unchanged(PortForwardStatus current, PortForwardStatus next) {
    return current != null && JSON.valueToTree(current).equals(JSON.valueToTree(next));
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
