package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import java.util.Collection;
import java.util.Comparator;
import java.util.OptionalInt;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The most PortForwards a namespace may have (a policy's maxForwards). The slots go to the
 * forwards the policy allows, those that hold a slot first (accepted for their current spec), then
 * the oldest (creationTimestamp, then name): a newcomer never unseats an accepted forward, and when
 * one is deleted the next oldest gets in. Forwards being deleted or refused for their spec (by the
 * policy, or a reserved port) take none.
 */
public final class ForwardLimit {

  private static final Comparator<PortForward> PRECEDENCE =
      Comparator.comparing((PortForward pf) -> !Conditions.isAccepted(pf))
          .thenComparing(pf -> pf.getMetadata().getCreationTimestamp())
          .thenComparing(pf -> pf.getMetadata().getName());

  private ForwardLimit() {}

  /**
   * Why {@code pf} gets no slot, if it gets none.
   *
   * @param sameNamespace every PortForward of pf's namespace, pf included or not; listed only when
   *     the policy sets a limit, as a namespace's list is as long as the namespace is big
   * @param policy the namespace's policy, which sets the limit
   * @param allowed whether a forward's spec passes the policy and the reserved ports: one that does
   *     not takes no slot
   */
  public static Optional<Refusal> check(PortForward pf, Supplier<? extends Collection<PortForward>> sameNamespace,
      ForwardPolicy policy, Predicate<PortForward> allowed) {
    OptionalInt limit = policy.maxForwards();
    if (limit.isEmpty() || pf.getMetadata().getDeletionTimestamp() != null) {
      return Optional.empty();
    }
    String namespace = pf.getMetadata().getNamespace();
    int max = limit.getAsInt();
    // Counting the forwards ahead of pf up to the limit, not ranking the namespace: a tenant's
    // thousands of refused forwards cost one pass of cheap comparisons each, and the policy runs
    // only on forwards ahead of pf, until max of them pass.
    // pf as given stands in for any copy in sameNamespace: that cache may lag behind it.
    long ahead = sameNamespace.get().stream()
        .filter(c -> !sameName(c, pf) && namespace.equals(c.getMetadata().getNamespace()))
        .filter(c -> c.getMetadata().getDeletionTimestamp() == null)
        .filter(c -> PRECEDENCE.compare(c, pf) < 0)
        .filter(allowed)
        .limit(max)
        .count();
    if (ahead < max) {
      return Optional.empty();
    }
    return Optional.of(new Refusal(Reason.FORWARD_LIMIT_REACHED, max == 0
        ? policy.describe() + " allows no PortForwards in namespace " + namespace + " (spec.maxForwards: 0)"
        : "namespace " + namespace + " is at the limit of " + max + " PortForward(s) that " + policy.describe()
            + " allows (spec.maxForwards), and this one is newer than those holding the slots; delete one,"
            + " or ask an administrator to raise the limit"));
  }

  private static boolean sameName(PortForward a, PortForward b) {
    return a.getMetadata().getName().equals(b.getMetadata().getName());
  }
}
