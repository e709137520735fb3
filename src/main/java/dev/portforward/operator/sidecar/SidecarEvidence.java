package dev.portforward.operator.sidecar;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.Sidecars;
import dev.portforward.operator.status.Check;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The sidecar half of Programmed for relay.mode Sidecar: every pod the forward selects carries a
 * ready sidecar injected for it. Injection happens at pod creation only, so a pod created before
 * the forward (or while the webhook was away) is named, for someone to restart. A pod on the
 * node's network (hostNetwork) never gets a sidecar; it is named as such, since no restart helps.
 * Pure.
 */
public final class SidecarEvidence {

  /** Pod names listed in a message, at most; the rest are counted. */
  static final int LISTED = 10;

  private SidecarEvidence() {}

  /** {@code pods}: the pods of the forward's namespace. */
  public static Check check(PortForward pf, List<Pod> pods, Function<String, Optional<Service>> services) {
    String name = pf.getMetadata().getName();
    List<Pod> selected = pods.stream()
        .filter(pod -> pod.getMetadata().getDeletionTimestamp() == null)
        .filter(pod -> !SidecarSelection.ports(pf, pod, services).isEmpty())
        .sorted(Comparator.comparing(pod -> pod.getMetadata().getName()))
        .toList();
    List<String> hostNetwork = selected.stream().filter(pod -> !SidecarSelection.injectable(pod))
        .map(pod -> pod.getMetadata().getName()).toList();
    List<String> without = selected.stream()
        .filter(pod -> SidecarSelection.injectable(pod) && !Sidecars.carries(pod, name))
        .map(pod -> pod.getMetadata().getName()).toList();
    List<String> unready = selected.stream().filter(pod -> Sidecars.carries(pod, name) && !Sidecars.isReady(pod))
        .map(pod -> pod.getMetadata().getName()).toList();
    if (hostNetwork.isEmpty() && without.isEmpty() && unready.isEmpty()) {
      return Check.ok(Reason.PROGRAMMED, "relay sidecars ready in " + selected.size() + " pod(s)");
    }
    List<String> parts = new ArrayList<>();
    if (!without.isEmpty()) {
      parts.add(without.size() + " selected pod(s) without the relay sidecar: " + bounded(without)
          + "; restart them to get the relay sidecar; injection happens at pod creation in namespaces labelled "
          + SidecarSelection.INJECTION_LABEL + "=enabled");
    }
    if (!unready.isEmpty()) {
      parts.add(unready.size() + " pod(s) whose relay sidecar is not ready: " + bounded(unready));
    }
    if (!hostNetwork.isEmpty()) {
      parts.add(hostNetwork.size() + " selected pod(s) use hostNetwork and never get the relay sidecar (its"
          + " 127.0.0.1 would be the node's): " + bounded(hostNetwork) + "; select pods without hostNetwork");
    }
    return Check.fail(without.isEmpty() && unready.isEmpty() ? Reason.HOST_NETWORK_PODS : Reason.SIDECARS_MISSING,
        String.join("; ", parts));
  }

  private static String bounded(List<String> names) {
    return names.size() <= LISTED ? String.join(", ", names)
        : String.join(", ", names.subList(0, LISTED)) + " and " + (names.size() - LISTED) + " more";
  }
}
