package dev.portforward.operator.status;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.common.MappingHolder;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How soon a forward's status may be written again when only its nodes' progress changed. Every
 * status write reaches every node agent (each watches all PortForwards), and while a forward is
 * programmed on many nodes each node's report would be a write of its own. What a reader acts on
 * is written at once: a condition's status, reason or generation, the target, the policy, the
 * gateway's grant, the node that holds the gateway mapping, and every message but the node counts
 * of Programmed and Ready. That progress (which nodes, their endpoints, how many are programmed)
 * waits until {@link #PACE} after the last write, and is then written whole.
 */
public final class StatusPacing {

  public static final Duration PACE = Duration.ofSeconds(5);
  private static final Set<String> PROGRESS = Set.of(Conditions.PROGRAMMED, Conditions.READY);

  private StatusPacing() {}

  /**
   * How long to wait before writing {@code next}, if at all.
   *
   * @param lastWrite when this operator last wrote the forward's status; empty when it has not
   */
  public static Optional<Duration> delay(PortForwardStatus current, PortForwardStatus next,
      Optional<Instant> lastWrite, Instant now) {
    if (current == null || lastWrite.isEmpty() || !sameOutline(current, next)) {
      return Optional.empty();
    }
    Duration since = Duration.between(lastWrite.get(), now);
    return since.compareTo(PACE) >= 0 ? Optional.empty() : Optional.of(PACE.minus(since));
  }

  /** Equal but for progress detail: the nodes, the endpoints, Programmed's and Ready's messages. */
  static boolean sameOutline(PortForwardStatus a, PortForwardStatus b) {
    return Objects.equals(a.getObservedGeneration(), b.getObservedGeneration())
        && Objects.equals(a.getTarget(), b.getTarget())
        && Objects.equals(a.getPolicy(), b.getPolicy())
        && StatusAggregator.sameJson(a.getExternalEndpoints(), b.getExternalEndpoints())
        && outline(a.getConditions()).equals(outline(b.getConditions()))
        && (!mapped(a) || MappingHolder.of(a.getNodes()).equals(MappingHolder.of(b.getNodes())));
  }

  /** Whether the forward asks a gateway for a mapping, whose holder the agents read from the nodes. */
  private static boolean mapped(PortForwardStatus status) {
    return StatusAggregator.find(status.getConditions(), Conditions.GATEWAY_MAPPED).isPresent();
  }

  private record Outline(String type, String status, String reason, Long observedGeneration, String message) {}

  /** Programmed's and Ready's messages count the nodes: progress. Every other message is news. */
  private static List<Outline> outline(List<Condition> conditions) {
    return conditions.stream()
        .map(c -> new Outline(c.getType(), c.getStatus(), c.getReason(), c.getObservedGeneration(),
            PROGRESS.contains(c.getType()) ? null : c.getMessage()))
        .toList();
  }
}
