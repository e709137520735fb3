package dev.portforward.operator.tunnels;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelStatus;
import dev.portforward.operator.policy.Refusal;
import dev.portforward.operator.relays.RelayOwnership;
import dev.portforward.operator.status.StatusAggregator;
import dev.portforward.tunnel.TunnelServer.Report;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The operator's decisions about an SSHTunnel, from what the reconciler found: whether it may be
 * served (its spec's problems, and objects under its names that it did not create: the operator
 * adopts nothing, as for relays), and the status that says so. Pure.
 */
public final class TunnelJudge {

  private TunnelJudge() {}

  /**
   * Why the tunnel is not served, if it is not: the spec's problems first, then the first of
   * {@code existing} (objects found under the tunnel's names, host key included) not its own.
   */
  public static Optional<Refusal> refusal(SshTunnel tunnel, List<? extends HasMetadata> existing) {
    List<String> problems = TunnelConfigs.problems(tunnel);
    if (!problems.isEmpty()) {
      return Optional.of(new Refusal(Reason.UNSUPPORTED_VALUE, String.join("; ", problems)));
    }
    return existing.stream()
        .filter(object -> !RelayOwnership.ownedBy(object, tunnel))
        .findFirst()
        .map(object -> new Refusal(Reason.TUNNEL_OBJECT_CONFLICT, object.getKind() + " "
            + object.getMetadata().getNamespace() + "/" + object.getMetadata().getName()
            + " exists and is not managed by this SSHTunnel; rename or delete it (the operator never takes over"
            + " an object it did not create)"));
  }

  /** The refusal of every SSHTunnel while the operator's config does not serve them. */
  public static Refusal disabled() {
    return new Refusal(Reason.TUNNELS_DISABLED, "this cluster does not serve SSHTunnels: its admin enables them with"
        + " the chart's tunnels.enabled (portforward.tunnels.enabled)");
  }

  /** Whether the Deployment has a ready pod of its current template. */
  public static boolean ready(Optional<Deployment> deployment) {
    return deployment
        .filter(d -> d.getStatus() != null && d.getMetadata().getGeneration() != null)
        .filter(d -> Objects.equals(d.getStatus().getObservedGeneration(), d.getMetadata().getGeneration()))
        .map(d -> Optional.ofNullable(d.getStatus().getReadyReplicas()).orElse(0) > 0)
        .orElse(false);
  }

  /**
   * The status for what was decided: Accepted (or the refusal), Ready from the Deployment, the
   * host key's fingerprint and the SSH Service. A condition keeps its lastTransitionTime while
   * its status and reason stay the same. Clients, forwards and refusals come from the server's
   * {@code report}; a tunnel without a ready server has no clients and no bound forwards; a ready
   * one whose report could not be read keeps the last ones.
   */
  public static SshTunnelStatus status(SshTunnel tunnel, Optional<Refusal> refusal, boolean ready,
      Optional<String> hostKeyFingerprint, Optional<Report> report, Instant now) {
    List<Condition> previous = Optional.ofNullable(tunnel.getStatus()).map(SshTunnelStatus::getConditions).orElse(List.of());
    Long generation = tunnel.getMetadata().getGeneration();
    SshTunnelStatus status = new SshTunnelStatus();
    status.setObservedGeneration(generation);
    Condition accepted = refusal
        .map(r -> condition(Conditions.ACCEPTED, false, r.reason(), r.message(), generation, previous, now))
        .orElseGet(() -> condition(Conditions.ACCEPTED, true, Reason.ACCEPTED, "the tunnel server is deployed",
            generation, previous, now));
    Condition readiness = refusal.isPresent()
        ? condition(Conditions.READY, false, Reason.NOT_ACCEPTED, "not accepted: " + refusal.get().message(),
            generation, previous, now)
        : ready
            ? condition(Conditions.READY, true, Reason.READY, "the tunnel server accepts clients", generation, previous, now)
            : condition(Conditions.READY, false, Reason.TUNNEL_NOT_READY,
                "Deployment " + TunnelNames.workload(tunnel) + " has no ready pod yet", generation, previous, now);
    status.setConditions(List.of(accepted, readiness));
    hostKeyFingerprint.ifPresent(status::setHostKeyFingerprint);
    if (refusal.isEmpty()) {
      status.setSshService(TunnelNames.sshService(tunnel) + ":" + TunnelNames.SSH_SERVICE_PORT);
    }
    if (refusal.isPresent()) {
      return status;
    }
    if (report.isPresent() && ready) {
      TunnelStatuses.fill(status, tunnel, report.get());
    } else if (!ready) {
      TunnelStatuses.nobody(status, tunnel);
    } else {
      Optional.ofNullable(tunnel.getStatus()).ifPresent(old -> {
        status.setClientCount(old.getClientCount());
        status.setClients(old.getClients());
        status.setForwards(old.getForwards());
        status.setRefusedRequests(old.getRefusedRequests());
      });
    }
    return status;
  }

  /** Whether writing {@code next} would change nothing. */
  public static boolean unchanged(SshTunnel tunnel, SshTunnelStatus next) {
    return tunnel.getStatus() != null && StatusAggregator.sameJson(tunnel.getStatus(), next);
  }

  private static Condition condition(String type, boolean ok, String reason, String message, Long generation,
      List<Condition> previous, Instant now) {
    String status = ok ? "True" : "False";
    String since = StatusAggregator.find(previous, type)
        .filter(c -> status.equals(c.getStatus()) && reason.equals(c.getReason()))
        .map(Condition::getLastTransitionTime)
        .orElse(now.truncatedTo(ChronoUnit.SECONDS).toString());
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(reason)
        .withMessage(message)
        .withObservedGeneration(generation)
        .withLastTransitionTime(since)
        .build();
  }
}
