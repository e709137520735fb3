package dev.portforward.operator.relays;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.operator.policy.Refusal;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Whether an object under one of a PortForward's relay names is that PortForward's own. The
 * operator adopts nothing: applying over an object it did not create would take it over, and the
 * garbage collector would then delete it with the PortForward. Its own objects carry both marks
 * it sets (RelayWorkload): a controller reference to the PortForward's uid, and the managed-by
 * label, which the chart's admission policy also requires of every relay object the operator
 * writes. Anything else is left alone, and the forward is refused naming it. Pure.
 */
public final class RelayOwnership {

  private RelayOwnership() {}

  /** Whether {@code object} carries both marks of one the operator made for {@code owner}. */
  public static boolean ownedBy(HasMetadata object, HasMetadata owner) {
    Map<String, String> labels = Optional.ofNullable(object.getMetadata().getLabels()).orElse(Map.of());
    List<OwnerReference> owners = Optional.ofNullable(object.getMetadata().getOwnerReferences()).orElse(List.of());
    return RelayWorkload.MANAGED_BY.equals(labels.get(RelayWorkload.MANAGED_BY_LABEL))
        && owners.stream().anyMatch(o -> Boolean.TRUE.equals(o.getController())
            && o.getUid() != null && o.getUid().equals(owner.getMetadata().getUid()));
  }

  /** The first of {@code existing} (objects under the names pf's relay needs) that is not pf's own. */
  public static Optional<Refusal> conflict(PortForward pf, List<? extends HasMetadata> existing) {
    return existing.stream()
        .filter(object -> !ownedBy(object, pf))
        .findFirst()
        .map(object -> new Refusal(Reason.RELAY_OBJECT_CONFLICT, object.getKind() + " "
            + object.getMetadata().getNamespace() + "/" + object.getMetadata().getName()
            + " exists and is not managed by this PortForward; rename or delete it (the operator never takes over"
            + " an object it did not create)"));
  }
}
