package dev.portforward.common;

import io.fabric8.kubernetes.api.model.Pod;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * How a pod shows that it carries the relay sidecar of a PortForward (relay.mode Sidecar): the
 * injected container, and an annotation naming the PortForwards it was injected for. Read by the
 * operator (status) and the node agent (which DNATs only to pods that carry the sidecar).
 */
public final class Sidecars {

  /** Name of the injected container (a native sidecar: an init container that keeps running). */
  public static final String CONTAINER = "portforward-relay";

  /** Comma-separated names of the PortForwards (in the pod's namespace) the sidecar serves. */
  public static final String ANNOTATION = "portforward.dev/sidecar-for";

  private Sidecars() {}

  /** Whether the pod has the sidecar and it was injected for {@code portForward}. */
  public static boolean carries(Pod pod, String portForward) {
    return hasContainer(pod) && servedBy(pod).contains(portForward);
  }

  public static boolean hasContainer(Pod pod) {
    return pod.getSpec() != null && pod.getSpec().getInitContainers() != null
        && pod.getSpec().getInitContainers().stream().anyMatch(c -> CONTAINER.equals(c.getName()));
  }

  /** The PortForwards named in the pod's annotation. */
  public static List<String> servedBy(Pod pod) {
    return Optional.ofNullable(pod.getMetadata().getAnnotations()).map(a -> a.get(ANNOTATION))
        .map(v -> Arrays.stream(v.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList())
        .orElse(List.of());
  }

  /** Whether the kubelet reports the sidecar container ready. */
  public static boolean isReady(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getInitContainerStatuses() != null
        && pod.getStatus().getInitContainerStatuses().stream()
            .anyMatch(s -> CONTAINER.equals(s.getName()) && Boolean.TRUE.equals(s.getReady()));
  }
}
