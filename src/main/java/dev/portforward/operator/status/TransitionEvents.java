package dev.portforward.operator.status;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Records a Kubernetes Event on the PortForward for each condition whose status or reason
 * changes, so `kubectl describe` tells the story; an unchanged condition records nothing, so a
 * resync never repeats one. When the status first appears, Programmed, Ready and a Pending
 * GatewayMapped that start out False only echo Accepted and ResolvedRefs and record nothing.
 * Events are best effort: failing to record one never fails a reconcile.
 */
public final class TransitionEvents {

  private final ObjectEvents events;

  public TransitionEvents(KubernetesClient client) {
    this.events = new ObjectEvents(client);
  }

  public void record(PortForward pf, PortForwardStatus before, PortForwardStatus after, Instant now) {
    worthRecording(before, after).forEach(condition -> emit(pf, condition, now));
  }

  /** The conditions of {@code after} that changed status or reason since {@code before}. */
  static List<Condition> worthRecording(PortForwardStatus before, PortForwardStatus after) {
    List<Condition> previous = before == null ? List.of() : before.getConditions();
    return after.getConditions().stream()
        // Stalled repeats Accepted=False for kstatus readers: its event is Accepted's.
        .filter(condition -> !Conditions.STALLED.equals(condition.getType()))
        .filter(condition -> StatusAggregator.find(previous, condition.getType())
            .map(last -> !last.getStatus().equals(condition.getStatus())
                || !Objects.equals(last.getReason(), condition.getReason()))
            .orElseGet(() -> "True".equals(condition.getStatus()) || !isDerived(condition)))
        .toList();
  }

  /** Warning when a person must act; a condition merely waiting on the others is Normal. */
  static String type(Condition condition) {
    return isProblem(condition) ? "Warning" : "Normal";
  }

  /** Programmed, Ready and a Pending GatewayMapped follow from the other conditions. */
  private static boolean isDerived(Condition condition) {
    return !Conditions.ACCEPTED.equals(condition.getType())
        && !Conditions.RESOLVED_REFS.equals(condition.getType()) && !isGatewayProblem(condition);
  }

  /** A refused spec, a missing target or a gateway that refuses needs a person; waiting does not. */
  private static boolean isProblem(Condition condition) {
    return "False".equals(condition.getStatus())
        && (Conditions.ACCEPTED.equals(condition.getType()) || Conditions.RESOLVED_REFS.equals(condition.getType()))
        || isGatewayProblem(condition);
  }

  /** The gateway refused or did not answer (not merely Pending behind the other conditions). */
  private static boolean isGatewayProblem(Condition condition) {
    return Conditions.GATEWAY_MAPPED.equals(condition.getType()) && "False".equals(condition.getStatus())
        && !Conditions.Reason.PENDING.equals(condition.getReason());
  }

  private void emit(PortForward pf, Condition condition, Instant now) {
    events.record(pf, type(condition), condition.getReason(),
        condition.getType() + "=" + condition.getStatus() + ": " + condition.getMessage(), now);
  }
}
