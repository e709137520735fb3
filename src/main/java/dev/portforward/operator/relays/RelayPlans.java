package dev.portforward.operator.relays;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.OperatorConfig;
import dev.portforward.operator.status.Check;
import dev.portforward.operator.target.Backend;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.netty.util.NetUtil;
import java.util.List;
import java.util.Optional;

/**
 * Which relay objects an accepted, resolved PortForward needs. Pure: the caller passes the target
 * Service (for a service target) and the backends it resolved and checked against the policy.
 */
public final class RelayPlans {

  /** The objects to have, or why none can be written (a ResolvedRefs failure). */
  public record RelayPlan(List<HasMetadata> objects, Optional<Check> problem) {
    static RelayPlan of(HasMetadata... objects) {
      return new RelayPlan(List.of(objects), Optional.empty());
    }

    static RelayPlan refused(String reason, String message) {
      return new RelayPlan(List.of(), Optional.of(Check.fail(reason, message)));
    }
  }

  /**
   * One Service of target.services as the operator sees it: whether it exists, and how many ready
   * endpoints it has (a relay Deployment dials its cluster IP only while it has one).
   */
  public record ServiceShare(WeightedService service, Optional<Service> found, long readyEndpoints) {}

  private RelayPlans() {}

  /** A plan for a target without weighted Services. */
  public static RelayPlan plan(PortForward pf, Optional<Service> service, List<Backend> backends,
      OperatorConfig.Relays settings, List<String> deniedDestinations, List<String> nodeAddresses) {
    return plan(pf, service, List.of(), backends, settings, deniedDestinations, nodeAddresses);
  }

  /**
   * {@code deniedDestinations}: the operator's denylist, which SOCKS5 relays check every CONNECT
   * against; {@code nodeAddresses}: the addresses of the nodes that carry the forward, which
   * reach a relay on another node with their own address (masqueraded), and which the relay
   * therefore admits besides sourceRanges.
   */
  public static RelayPlan plan(PortForward pf, Optional<Service> service, List<ServiceShare> shares,
      List<Backend> backends, OperatorConfig.Relays settings, List<String> deniedDestinations,
      List<String> nodeAddresses) {
    RelayMode mode = pf.getSpec().getRelay() == null ? RelayMode.None : pf.getSpec().getRelay().getMode();
    Target target = pf.getSpec().getTarget();
    return switch (mode) {
      case Deployment -> target.getServices() != null ? weighted(pf, shares, settings, nodeAddresses)
          : deployment(pf, target, service, backends, settings, nodeAddresses);
      case Sidecar -> sidecar(pf, target, service, nodeAddresses);
      case Socks5 -> RelayPlan.of(
          RelayWorkload.configMap(pf, RelayConfigs.socks5(pf, deniedDestinations, nodeAddresses)),
          RelayWorkload.deployment(pf, settings),
          RelayWorkload.service(pf));
      case None -> RelayPlan.of();
    };
  }

  /** Programmed needs a relay pod that is ready: the Deployment's readyReplicas say so. */
  public static Check deploymentReady(PortForward pf, Optional<Deployment> deployment, int replicas) {
    String name = RelayNames.deployment(pf);
    int ready = deployment
        .map(d -> d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0 : d.getStatus().getReadyReplicas())
        .orElse(0);
    String message = "relay Deployment " + name + ": " + ready + "/" + replicas + " replicas ready";
    return ready > 0 ? Check.ok(Reason.PROGRAMMED, message) : Check.fail(Reason.RELAY_NOT_READY, message);
  }

  /**
   * The relay dials one address: an external host's address as resolved and checked (never the
   * name again, so the checked address is the dialled one), or a Service's cluster IP, where
   * kube-proxy balances over the endpoints. Pods targets are refused by the policy.
   */
  private static RelayPlan deployment(PortForward pf, Target target, Optional<Service> service,
      List<Backend> backends, OperatorConfig.Relays settings, List<String> nodeAddresses) {
    String host;
    int port;
    if (target.getExternal() != null) {
      host = NetUtil.toAddressString(backends.get(0).address());
      port = target.getExternal().getPort();
    } else {
      String clusterIp = service.map(s -> s.getSpec().getClusterIP()).orElse("None");
      if (clusterIp == null || clusterIp.isEmpty() || "None".equals(clusterIp)) {
        return RelayPlan.refused(Reason.UNSUPPORTED_SERVICE, "Service " + target.getService().getName()
            + " is headless (no cluster IP); relay.mode Deployment dials the Service's cluster IP");
      }
      host = clusterIp;
      port = target.getService().getPort();
    }
    return RelayPlan.of(
        RelayWorkload.configMap(pf, RelayConfigs.deployment(pf, host, port, nodeAddresses)),
        RelayWorkload.deployment(pf, settings),
        RelayWorkload.service(pf));
  }

  /**
   * target.services through a relay Deployment: the relay picks one Service per connection by
   * weight and dials its cluster IP (kube-proxy balances over its endpoints). A Service without
   * a ready endpoint takes no share, as in the kernel; while none with a weight has one, the relay
   * dials them all as a service target without endpoints is dialled, and nothing answers.
   */
  private static RelayPlan weighted(PortForward pf, List<ServiceShare> shares, OperatorConfig.Relays settings,
      List<String> nodeAddresses) {
    List<ServiceShare> existing = shares.stream()
        .filter(s -> s.service().getWeight() > 0 && s.found().isPresent())
        .toList();
    for (ServiceShare share : existing) {
      String clusterIp = share.found().get().getSpec().getClusterIP();
      if (clusterIp == null || clusterIp.isEmpty() || "None".equals(clusterIp)) {
        return RelayPlan.refused(Reason.UNSUPPORTED_SERVICE, "Service " + share.service().getName()
            + " is headless (no cluster IP); relay.mode Deployment dials each Service's cluster IP");
      }
    }
    List<ServiceShare> ready = existing.stream().filter(s -> s.readyEndpoints() > 0).toList();
    List<ServiceShare> dialled = ready.isEmpty() ? existing : ready;
    if (dialled.isEmpty()) {
      return RelayPlan.refused(Reason.SERVICE_NOT_FOUND,
          "no Service of target.services with a weight above 0 exists in namespace " + pf.getMetadata().getNamespace());
    }
    List<RelayConfigs.WeightedDial> dials = dialled.stream()
        .map(s -> new RelayConfigs.WeightedDial(s.found().get().getSpec().getClusterIP(), s.service().getPort(),
            s.service().getWeight()))
        .toList();
    return RelayPlan.of(
        RelayWorkload.configMap(pf, RelayConfigs.weightedDeployment(pf, dials, nodeAddresses)),
        RelayWorkload.deployment(pf, settings),
        RelayWorkload.service(pf));
  }

  /** The sidecar listens on the port the app listens on: a Service port's numeric targetPort. */
  private static RelayPlan sidecar(PortForward pf, Target target, Optional<Service> service,
      List<String> nodeAddresses) {
    int port;
    if (target.getPods() != null) {
      port = target.getPods().getPort();
    } else if (target.getService() != null) {
      String name = target.getService().getName();
      Optional<IntOrString> targetPort = service.flatMap(s -> s.getSpec().getPorts().stream()
          .filter(p -> p.getPort() == target.getService().getPort()).findFirst())
          .map(p -> p.getTargetPort() == null ? new IntOrString(p.getPort()) : p.getTargetPort());
      if (targetPort.isEmpty() || targetPort.get().getIntVal() == null) {
        return RelayPlan.refused(Reason.UNSUPPORTED_SERVICE, "Service " + name + " port "
            + target.getService().getPort() + " has a named targetPort " + targetPort.map(IntOrString::getStrVal).orElse("")
            + "; relay.mode Sidecar needs a numeric targetPort, the port the sidecar listens on next to the app");
      }
      port = targetPort.get().getIntVal();
    } else {
      return RelayPlan.refused(Reason.UNSUPPORTED_VALUE,
          "relay.mode Sidecar needs a service or pods target: the sidecar runs next to the target pods");
    }
    return RelayPlan.of(RelayWorkload.configMap(pf, RelayConfigs.sidecar(pf, port, nodeAddresses)));
  }
}
