package dev.portforward.operator.sidecar;

import dev.portforward.api.v1alpha1.PortForward;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Which relay.mode Sidecar PortForward relays a pod port that several select. Two forwards on one
 * pod port would give the pod's sidecar two listeners on podIP:port, a config the relay refuses,
 * and the pod would never start. The earlier forward (creationTimestamp, then name) keeps the
 * port; a later one loses it to the first kept forward it meets, so a forward refused for a
 * conflict refuses nobody else. The operator refuses the loser (Accepted=False, PortConflict);
 * the webhook injects only the keepers, also in the moment before the operator has seen both.
 * Pure.
 */
public final class SidecarConflicts {

  /** {@code pf} loses {@code port} of {@code pod} to the earlier forward {@code earlier}. */
  public record Conflict(PortForward earlier, String pod, int port) {
    public String message() {
      return "pod port " + port + " of pod " + pod + " is already relayed by Sidecar PortForward "
          + earlier.getMetadata().getName() + " (created " + earlier.getMetadata().getCreationTimestamp()
          + "); one sidecar cannot listen twice on a pod port, and the earlier forward keeps it; relay another"
          + " port or select other pods";
    }
  }

  static final Comparator<PortForward> PRECEDENCE =
      Comparator.comparing((PortForward pf) -> pf.getMetadata().getCreationTimestamp(),
              Comparator.nullsLast(Comparator.<String>naturalOrder()))
          .thenComparing(pf -> pf.getMetadata().getName());

  private SidecarConflicts() {}

  /**
   * Why {@code pf} may not relay its ports: an earlier forward keeps one of them in a pod both select.
   *
   * @param forwards the PortForwards of {@code pf}'s namespace (a copy of pf among them is ignored:
   *     the cache may lag behind pf)
   * @param pods the pods of that namespace
   */
  public static Optional<Conflict> of(PortForward pf, List<PortForward> forwards, List<Pod> pods,
      Function<String, Optional<Service>> services) {
    if (pf.getMetadata().getDeletionTimestamp() != null) {
      return Optional.empty();
    }
    List<PortForward> contenders = Stream.concat(Stream.of(pf),
            forwards.stream().filter(f -> !f.getMetadata().getName().equals(pf.getMetadata().getName())))
        .filter(SidecarSelection::isSidecar)
        .filter(f -> f.getMetadata().getDeletionTimestamp() == null)
        .toList();
    return decide(contenders, pods, services).getOrDefault(pf.getMetadata().getName(), Optional.empty());
  }

  /**
   * Each forward by name, in precedence order, with the conflict that takes its ports away (empty:
   * it keeps them). Deleted pods and pods no sidecar can join do not count.
   */
  static Map<String, Optional<Conflict>> decide(List<PortForward> forwards, List<Pod> pods,
      Function<String, Optional<Service>> services) {
    List<Pod> live = pods.stream()
        .filter(pod -> pod.getMetadata().getDeletionTimestamp() == null)
        .filter(SidecarSelection::injectable)
        // A pod being created may have only a generateName yet.
        .sorted(Comparator.comparing(pod -> pod.getMetadata().getName(), Comparator.nullsFirst(Comparator.naturalOrder())))
        .toList();
    Map<String, Optional<Conflict>> decided = new LinkedHashMap<>();
    List<Relayed> kept = new ArrayList<>();
    for (PortForward pf : forwards.stream().sorted(PRECEDENCE).toList()) {
      Relayed relayed = new Relayed(pf, live.stream().map(pod -> SidecarSelection.ports(pf, pod, services)).toList());
      Optional<Conflict> conflict = kept.stream()
          .map(k -> k.sharedWith(relayed, live)).flatMap(Optional::stream).findFirst();
      decided.put(pf.getMetadata().getName(), conflict);
      if (conflict.isEmpty()) {
        kept.add(relayed);
      }
    }
    return decided;
  }

  /** A forward and the ports it relays in each pod (by the pod's index). */
  private record Relayed(PortForward pf, List<List<Integer>> ports) {
    /** The first pod port this (earlier, kept) forward relays that {@code later} wants too. */
    Optional<Conflict> sharedWith(Relayed later, List<Pod> pods) {
      for (int i = 0; i < pods.size(); i++) {
        List<Integer> theirs = later.ports.get(i);
        Optional<Integer> port = ports.get(i).stream().filter(theirs::contains).findFirst();
        if (port.isPresent()) {
          return Optional.of(new Conflict(pf, pods.get(i).getMetadata().getName(), port.get()));
        }
      }
      return Optional.empty();
    }
  }
}
