package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.operator.status.StatusAggregator;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Who owns a node port. A claimant that already holds it keeps it; otherwise the oldest wins
 * (creationTimestamp, then namespace/name). Decided over all claimants at once, so the answer does
 * not depend on the order of events, and a newcomer never unseats an owner (timestamps have
 * one-second resolution, so age alone could). Only PortForwards that the policy allows and that
 * are not being deleted claim.
 */
public final class PortClaims {

  static final Comparator<PortForward> PRECEDENCE =
      Comparator.comparing((PortForward pf) -> !holdsItsPort(pf))
          .thenComparing(pf -> pf.getMetadata().getCreationTimestamp())
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
   * @param allowed whether a claimant's policy allows it: one it refuses claims nothing
   */
  public static Optional<PortForward> blocker(
      PortForward pf, Collection<PortForward> sameKey, Predicate<PortForward> allowed) {
    if (pf.getMetadata().getDeletionTimestamp() != null) {
      return Optional.empty();
    }
    // pf itself, as given, stands in for any copy in sameKey: that cache may lag behind it.
    List<PortForward> claimants =
        Stream.concat(Stream.of(pf), sameKey.stream().filter(c -> !sameObject(c, pf)))
            .filter(c -> c.getMetadata().getDeletionTimestamp() == null)
            .filter(c -> key(c).equals(key(pf)))
            .filter(allowed)
            .sorted(PRECEDENCE)
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

  /** Accepted for its current spec: the port in its spec is the one it was granted. */
  private static boolean holdsItsPort(PortForward pf) {
    return pf.getStatus() != null
        && Objects.equals(pf.getStatus().getObservedGeneration(), pf.getMetadata().getGeneration())
        && StatusAggregator.find(pf.getStatus().getConditions(), Conditions.ACCEPTED)
            .filter(c -> "True".equals(c.getStatus()))
            .isPresent();
  }

  /** Whether two forwards on the same protocol and port could listen on the same node address. */
  static boolean overlap(PortForwardSpec a, PortForwardSpec b) {
    return addressesOverlap(a.getListen().getAddresses(), b.getListen().getAddresses())
        && nodesOverlap(a.getListen().getNodeSelector(), b.getListen().getNodeSelector());
  }

  /** Compared as addresses, not text: fd77:1::1 and FD77:0001:0:0:0:0:0:1 are one address. */
  private static boolean addressesOverlap(List<String> a, List<String> b) {
    if (a == null || a.isEmpty() || b == null || b.isEmpty()) {
      return true;
    }
    Set<Object> first = a.stream().map(PortClaims::address).collect(Collectors.toSet());
    return b.stream().map(PortClaims::address).anyMatch(first::contains);
  }

  /** The address a listen.addresses entry names; the entry itself if it is no IP literal. */
  private static Object address(String text) {
    InetAddress parsed = NetUtil.createInetAddressFromIpAddressString(text.trim());
    return parsed == null ? text.trim() : parsed;
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
