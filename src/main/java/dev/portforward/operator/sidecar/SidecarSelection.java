package dev.portforward.operator.sidecar;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.operator.policy.ForwardPolicy;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Which relay.mode Sidecar PortForwards select a pod, and on which ports its sidecar relays. A
 * pods target selects by label; a service target by the Service's selector, relaying the Service
 * port's targetPort. Pure: Services come from the caller.
 */
public final class SidecarSelection {

  /** A PortForward the sidecar serves, and the pod ports it relays for it (pod IP:P to 127.0.0.1:P). */
  public record SidecarFor(String portForward, List<Integer> ports) {}

  /** The namespace label that opts a namespace into injection (the webhook's namespaceSelector). */
  public static final String INJECTION_LABEL = "portforward.dev/sidecar-injection";

  /** Lowest port the sidecar may bind: it runs without root and without capabilities. */
  public static final int FIRST_UNPRIVILEGED_PORT = 1024;

  private SidecarSelection() {}

  public static boolean isSidecar(PortForward pf) {
    return pf.getSpec().getRelay() != null && pf.getSpec().getRelay().getMode() == RelayMode.Sidecar;
  }

  /**
   * The accepted Sidecar PortForwards among {@code candidates} that select the pod, by name. Of
   * two that want the same pod port only the earlier is selected ({@link SidecarConflicts}): the
   * operator refuses the later one, but a pod created before it did must still start.
   */
  public static List<SidecarFor> select(Pod pod, List<PortForward> candidates,
      Function<String, Optional<Service>> services) {
    List<PortForward> accepted = candidates.stream()
        .filter(SidecarSelection::isSidecar)
        .filter(Conditions::isAccepted)
        .toList();
    Map<String, Optional<SidecarConflicts.Conflict>> decided = SidecarConflicts.decide(accepted, List.of(pod), services);
    return accepted.stream()
        .filter(pf -> decided.get(pf.getMetadata().getName()).isEmpty())
        .map(pf -> new SidecarFor(pf.getMetadata().getName(), ports(pf, pod, services)))
        .filter(s -> !s.ports().isEmpty())
        .sorted(Comparator.comparing(SidecarFor::portForward))
        .toList();
  }

  /**
   * Whether a sidecar may join the pod. Not with hostNetwork: the pod's 127.0.0.1 is the node's,
   * so the sidecar would relay whatever the node serves on loopback.
   */
  public static boolean injectable(Pod pod) {
    return pod.getSpec() == null || !Boolean.TRUE.equals(pod.getSpec().getHostNetwork());
  }

  /** The pod ports {@code pf} relays in this pod; empty when it does not select the pod. */
  public static List<Integer> ports(PortForward pf, Pod pod, Function<String, Optional<Service>> services) {
    Map<String, String> labels = Optional.ofNullable(pod.getMetadata().getLabels()).orElse(Map.of());
    return ForwardPolicy.targets(pf.getSpec())
        .flatMap(target -> port(target, labels, services))
        .filter(p -> p >= FIRST_UNPRIVILEGED_PORT)
        .distinct()
        .sorted()
        .toList();
  }

  private static Stream<Integer> port(Target target, Map<String, String> labels,
      Function<String, Optional<Service>> services) {
    if (target.getPods() != null) {
      return labels.entrySet().containsAll(target.getPods().getSelector().entrySet())
          ? Stream.of(target.getPods().getPort()) : Stream.empty();
    }
    if (target.getService() == null) {
      return Stream.empty();
    }
    return services.apply(target.getService().getName())
        .filter(svc -> svc.getSpec().getSelector() != null && !svc.getSpec().getSelector().isEmpty()
            && labels.entrySet().containsAll(svc.getSpec().getSelector().entrySet()))
        .flatMap(svc -> svc.getSpec().getPorts().stream()
            .filter(p -> p.getPort() == target.getService().getPort()).findFirst())
        .flatMap(SidecarSelection::targetPort)
        .stream();
  }

  /**
   * Why a service target cannot be relayed by a sidecar: its numeric targetPort is below 1024,
   * which a process without capabilities cannot bind.
   */
  public static Optional<String> privilegedServicePort(PortForward pf, Function<String, Optional<Service>> services) {
    ServiceTarget target = pf.getSpec().getTarget() == null ? null : pf.getSpec().getTarget().getService();
    if (target == null) {
      return Optional.empty();
    }
    return services.apply(target.getName()).stream()
        .flatMap(svc -> svc.getSpec().getPorts().stream())
        .filter(p -> p.getPort() == target.getPort())
        .flatMap(p -> targetPort(p).stream())
        .filter(p -> p < FIRST_UNPRIVILEGED_PORT)
        .findFirst()
        .map(p -> "target.service port " + target.getPort() + " of Service " + target.getName() + " has targetPort "
            + p + ", below 1024: the relay sidecar runs without root or capabilities and cannot bind it;"
            + " have the app listen on a port from 1024 up");
  }

  /**
   * A Service port's targetPort, where the sidecar listens. Numeric only, as the relay config the
   * operator writes (RelayPlans refuses a named one): a name could mean different ports in
   * different pods.
   */
  static Optional<Integer> targetPort(ServicePort servicePort) {
    IntOrString target = servicePort.getTargetPort();
    return target == null ? Optional.of(servicePort.getPort()) : Optional.ofNullable(target.getIntVal());
  }
}
