package dev.portforward.operator.target;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.PodsTarget;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.common.TargetEndpoints;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** Resolves a target to backends from the operator's view of the cluster. */
public final class TargetResolver {

  /** Looks up a host name; a seam so that tests never depend on a name server. */
  @FunctionalInterface
  public interface HostLookup {
    InetAddress[] lookup(String host) throws UnknownHostException;
  }

  private final ClusterView cluster;
  private final HostLookup hosts;

  public TargetResolver(ClusterView cluster, HostLookup hosts) {
    this.cluster = cluster;
    this.hosts = hosts;
  }

  public Resolution resolve(String namespace, Target target, Protocol protocol) {
    if (target.getService() != null) {
      return service(namespace, target.getService().getName(), target.getService().getPort(), protocol);
    }
    if (target.getServices() != null) {
      return services(namespace, target.getServices(), protocol);
    }
    if (target.getPods() != null) {
      return pods(namespace, target.getPods());
    }
    return external(target.getExternal());
  }

  /** The target in short, as shown by kubectl get: service/web:8080, pods/app=web:8080, ... */
  public static String describe(Target target) {
    if (target.getService() != null) {
      return "service/" + target.getService().getName() + ":" + target.getService().getPort();
    }
    if (target.getServices() != null) {
      return "services/" + target.getServices().stream()
          .map(s -> s.getName() + ":" + s.getPort() + "=" + s.getWeight())
          .collect(Collectors.joining(","));
    }
    if (target.getPods() != null) {
      return "pods/" + selector(target.getPods().getSelector()) + ":" + target.getPods().getPort();
    }
    return "external/" + target.getExternal().getHost() + ":" + target.getExternal().getPort();
  }

  /**
   * target.services: resolved while any of them is; one that is missing (or lacks the port, or is
   * of type ExternalName) takes no share and is named in the message. Every endpoint of every
   * resolved Service is a backend, checked against the policy like a service target's; only those
   * of Services with a weight above 0 count as ready backends, since only they get traffic.
   */
  private Resolution services(String namespace, List<WeightedService> services, Protocol protocol) {
    List<Backend> backends = new ArrayList<>();
    Set<Backend> carrying = new HashSet<>();
    List<String> shares = new ArrayList<>();
    List<Resolution> unresolved = new ArrayList<>();
    for (WeightedService weighted : services) {
      Resolution one = service(namespace, weighted.getName(), weighted.getPort(), protocol);
      if (!one.resolved()) {
        unresolved.add(one);
        continue;
      }
      backends.addAll(one.backends());
      if (weighted.getWeight() > 0) {
        one.backends().stream().filter(Backend::ready).forEach(carrying::add);
      }
      shares.add(weighted.getName() + " (weight " + weighted.getWeight() + ", " + one.readyBackends() + " ready)");
    }
    String problems = unresolved.stream().map(Resolution::message).collect(Collectors.joining("; "));
    if (shares.isEmpty()) {
      return Resolution.unresolved(unresolved.get(0).reason(), problems);
    }
    return Resolution.resolved("Services " + String.join(", ", shares)
        + (unresolved.isEmpty() ? "" : "; " + problems + ": taking no share, the others get all the traffic"),
        backends, carrying.size());
  }

  private Resolution service(String namespace, String name, int servicePort, Protocol protocol) {
    ServiceTarget target = new ServiceTarget();
    target.setName(name);
    target.setPort(servicePort);
    Optional<Service> found = cluster.service(namespace, target.getName());
    if (found.isEmpty()) {
      return Resolution.unresolved(
          Reason.SERVICE_NOT_FOUND,
          "Service " + target.getName() + " not found in namespace " + namespace);
    }
    Service service = found.get();
    if ("ExternalName".equals(service.getSpec().getType())) {
      return Resolution.unresolved(
          Reason.UNSUPPORTED_SERVICE,
          "Service " + target.getName() + " is of type ExternalName, which has no endpoints;"
              + " use target.external instead");
    }
    List<ServicePort> ports = service.getSpec().getPorts();
    Optional<ServicePort> port =
        ports.stream()
            .filter(p -> p.getPort() == target.getPort())
            .filter(p -> protocol.name().equals(Objects.requireNonNullElse(p.getProtocol(), "TCP")))
            .findFirst();
    if (port.isEmpty()) {
      return Resolution.unresolved(
          Reason.SERVICE_PORT_NOT_FOUND,
          "Service " + target.getName() + " has no " + protocol + " port " + target.getPort()
              + "; its ports are "
              + ports.stream()
                  .map(p -> p.getPort() + "/" + Objects.requireNonNullElse(p.getProtocol(), "TCP"))
                  .collect(Collectors.joining(", ")));
    }
    List<Backend> backends = TargetEndpoints.ofServicePort(port.get(), cluster.endpointSlices(namespace, target.getName()))
        .stream().map(e -> new Backend(e.address(), e.port(), e.ready())).toList();
    return Resolution.resolved(
        "Service " + target.getName() + " has " + count(backends) + " ready endpoint(s)", backends);
  }

  private Resolution pods(String namespace, PodsTarget target) {
    Map<String, String> selector = target.getSelector();
    List<Pod> pods = cluster.pods(namespace);
    long matching = TargetEndpoints.matching(pods, selector).size();
    if (matching == 0) {
      return Resolution.unresolved(
          Reason.NO_MATCHING_PODS,
          "no Pod in namespace " + namespace + " matches " + selector(selector));
    }
    List<Backend> backends = TargetEndpoints.ofPods(pods, selector, target.getPort()).stream()
        .map(e -> new Backend(e.address(), e.port(), e.ready())).toList();
    return Resolution.resolved(
        matching + " Pod(s) match " + selector(selector) + ", " + count(backends)
            + " ready address(es)",
        backends);
  }

  private Resolution external(ExternalTarget target) {
    String host = target.getHost();
    try {
      // Resolved once here for the policy check; the relay resolves and checks again when dialling.
      List<Backend> backends =
          Arrays.stream(hosts.lookup(host))
              .map(a -> new Backend(a, target.getPort(), true))
              .toList();
      return Resolution.resolved("external host " + host + " resolves to " + backends.size() + " address(es)", backends);
    } catch (UnknownHostException e) {
      return Resolution.unresolved(Reason.HOST_NOT_FOUND, "external host " + host + " does not resolve");
    }
  }

  private static long count(List<Backend> backends) {
    return backends.stream().filter(Backend::ready).count();
  }

  private static String selector(Map<String, String> selector) {
    return selector.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(","));
  }
}
