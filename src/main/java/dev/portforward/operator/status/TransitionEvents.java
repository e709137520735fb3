package dev.portforward.operator.status;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Records a Kubernetes Event on the PortForward when a condition changes in a way a person cares
 * about, so `kubectl describe` tells the story: any change of Accepted or ResolvedRefs, and
 * Programmed or Ready becoming True or ceasing to be True (their other False reasons only echo
 * the first two), and GatewayMapped becoming True, ceasing to be, or the gateway refusing or not
 * answering. Events are best effort: failing to record one never fails a reconcile.
 */
public final class TransitionEvents {

  private static final Logger LOG = Logger.getLogger(TransitionEvents.class);
  static final String COMPONENT = "portforward-operator";

  private final KubernetesClient client;

  public TransitionEvents(KubernetesClient client) {
    this.client = client;
  }

  public void record(PortForward pf, PortForwardStatus before, PortForwardStatus after, Instant now) {
    List<Condition> previous = before == null ? List.of() : before.getConditions();
    for (Condition condition : after.getConditions()) {
      Optional<Condition> last = StatusAggregator.find(previous, condition.getType());
      boolean changed = last
          .map(p -> !p.getStatus().equals(condition.getStatus()) || !Objects.equals(p.getReason(), condition.getReason()))
          .orElse(true);
      boolean wasTrue = last.filter(p -> "True".equals(p.getStatus())).isPresent();
      boolean derived = !Conditions.ACCEPTED.equals(condition.getType())
          && !Conditions.RESOLVED_REFS.equals(condition.getType()) && !isGatewayProblem(condition);
      if (changed && (!derived || wasTrue || "True".equals(condition.getStatus()))) {
        emit(pf, condition, now);
      }
    }
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
    String time = now.toString();
    var event =
        new EventBuilder()
            .withNewMetadata()
            .withGenerateName(pf.getMetadata().getName() + ".")
            .withNamespace(pf.getMetadata().getNamespace())
            .endMetadata()
            .withInvolvedObject(
                new ObjectReferenceBuilder()
                    .withApiVersion(pf.getApiVersion())
                    .withKind(pf.getKind())
                    .withNamespace(pf.getMetadata().getNamespace())
                    .withName(pf.getMetadata().getName())
                    .withUid(pf.getMetadata().getUid())
                    .withResourceVersion(pf.getMetadata().getResourceVersion())
                    .build())
            .withType(isProblem(condition) ? "Warning" : "Normal")
            .withReason(condition.getReason())
            .withMessage(condition.getType() + "=" + condition.getStatus() + ": " + condition.getMessage())
            .withNewSource(COMPONENT, null)
            .withFirstTimestamp(time)
            .withLastTimestamp(time)
            .withCount(1)
            .build();
    try {
      client.v1().events().inNamespace(pf.getMetadata().getNamespace()).resource(event).create();
    } catch (KubernetesClientException e) {
      LOG.warnf("could not record event for %s/%s: %s",
          pf.getMetadata().getNamespace(), pf.getMetadata().getName(), e.getMessage());
    }
  }
}
