package dev.portforward.operator.dataplane;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Whether a deleted PortForward's finalizer may go. It is held until no node report lists the
 * forward any more (every agent that programmed it has removed its rules and gateway mapping and
 * said so), but at most {@code bound} after the deletion: a node that is gone takes its report
 * along (the Node owns it), while a stopped or unreachable agent would otherwise hold it forever.
 * Pure: the caller passes the reports it sees.
 */
public final class DeletionHold {

  /** The longest the operator waits before looking again, in case an event went missing. */
  private static final Duration RECHECK = Duration.ofSeconds(10);

  private DeletionHold() {}

  /**
   * @param holdingNodes the nodes whose report still lists the forward
   * @param release whether the finalizer may go now (no node holds it, or the bound has passed)
   * @param recheckIn when to look again while held
   */
  public record Decision(boolean release, List<String> holdingNodes, Duration recheckIn) {}

  public static Decision decide(PortForward pf, List<PortForwardNodeReport> reports, Instant now, Duration bound) {
    String namespace = pf.getMetadata().getNamespace();
    String name = pf.getMetadata().getName();
    List<String> holding = reports.stream()
        .filter(report -> report.getStatus() != null && report.getStatus().getForwards().stream()
            .anyMatch(f -> namespace.equals(f.getNamespace()) && name.equals(f.getName())))
        .map(report -> report.getMetadata().getName())
        .sorted()
        .toList();
    String deleted = pf.getMetadata().getDeletionTimestamp();
    Instant deadline = (deleted == null ? now : Instant.parse(deleted)).plus(bound);
    if (holding.isEmpty() || !now.isBefore(deadline)) {
      return new Decision(true, holding, Duration.ZERO);
    }
    Duration left = Duration.between(now, deadline);
    return new Decision(false, holding, left.compareTo(RECHECK) < 0 ? left : RECHECK);
  }
}
