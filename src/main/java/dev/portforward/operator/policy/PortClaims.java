package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Who owns a node port. The oldest claimant keeps it (creationTimestamp, then namespace/name),
 * decided over all claimants at once, so the answer does not depend on the order of events and
 * never flaps. Only PortForwards that the policy allows and that are not being deleted claim.
 */
public final class PortClaims {

  static final Comparator<PortForward> OLDEST_FIRST =
      Comparator.comparing((PortForward pf) -> pf.getMetadata().getCreationTimestamp())
          .thenComparing(pf -> pf.getMetadata().getNamespace())
          .thenComparing(pf -> pf.getMetadata().getName());

  private PortClaims() {}

  /** The index key of a claim: PortForwards with different keys never conflict. */
  public static String key(PortForward pf) {
    return pf.getSpec().getProtocol() + "/" + pf.getSpec().getListen().getPort();
  }

  /**
   * The claimant that keeps the port instead of {@code pf}, if any.
   *
   * @param sameKey every PortForward with the same {@link #key}, {@code pf} included
   */
  public static Optional<PortForward> blocker(
      PortForward pf, Collection<PortForward> sameKey, ForwardPolicy policy) {
    List<PortForward> claimants =
        sameKey.stream()
            .filter(c -> c.getMetadata().getDeletionTimestamp() == null)
            .filter(c -> key(c).equals(key(pf)))
            .filter(c -> policy.check(c.getSpec()).isEmpty())
            .sorted(OLDEST_FIRST)
            .toList();
    List<PortForward> owners = new ArrayList<>();
    for (PortForward claimant : claimants) {
      Optional<PortForward> owner = owners.stream().filter(o -> overlap(o.getSpec(), claimant.getSpec())).findFirst();
      if (sameObject(claimant, pf)) {
        return owner;
      }
      if (owner.isEmpty()) {
        owners.add(claimant);
      }
    }
    return Optional.empty();
  }

  /** Whether two forwards on the same protocol and port could listen on the same node address. */
  static boolean overlap(PortForwardSpec a, PortForwardSpec b) {
    return addressesOverlap(a.getListen().getAddresses(), b.getListen().getAddresses())
        && nodesOverlap(a.getListen().getNodeSelector(), b.getListen().getNodeSelector());
  }

  private static boolean addressesOverlap(List<String> a, List<String> b) {
    return a == null || a.isEmpty() || b == null || b.isEmpty() || a.stream().anyMatch(b::contains);
  }

  /** Two equality selectors select disjoint nodes only when they demand different values of a key. */
  private static boolean nodesOverlap(Map<String, String> a, Map<String, String> b) {
    if (a == null || b == null) {
      return true;
    }
    return a.entrySet().stream()
        .noneMatch(e -> b.containsKey(e.getKey()) && !Objects.equals(b.get(e.getKey()), e.getValue()));
  }

  private static boolean sameObject(PortForward a, PortForward b) {
    return a.getMetadata().getNamespace().equals(b.getMetadata().getNamespace())
        && a.getMetadata().getName().equals(b.getMetadata().getName());
  }
}
