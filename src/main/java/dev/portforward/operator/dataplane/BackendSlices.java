package dev.portforward.operator.dataplane;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Route;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.ForwardSlices;
import dev.portforward.common.Sidecars;
import dev.portforward.common.TargetEndpoints;
import dev.portforward.operator.relays.RelayWorkload;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The EndpointSlices an accepted PortForward should have (see {@link ForwardSlices}): for each pods
 * target (the default one and each route's) the matching pods, ready or not, and with relay.mode
 * Sidecar the pods that carry its sidecar. One slice per target, address family and 1,000
 * endpoints (the API's bound), in address order so that a change moves as few endpoints between
 * slices as it can. Forwards to a Service, an external host or a relay Deployment get none: the
 * agents read those from the Service's own slices. Pure.
 */
public final class BackendSlices {

  private static final String OPERATOR = "portforward-operator";

  private BackendSlices() {}

  /** {@code pods}: the pods of the forward's namespace. */
  public static List<EndpointSlice> desired(PortForward pf, List<Pod> pods) {
    PortForwardSpec spec = pf.getSpec();
    RelayMode mode = spec.getRelay() == null ? RelayMode.None : spec.getRelay().getMode();
    if (mode != RelayMode.None && mode != RelayMode.Sidecar) {
      return List.of();
    }
    List<EndpointSlice> slices = new ArrayList<>();
    if (spec.getTarget() != null) {
      podsTarget(spec.getTarget(), pods).ifPresent(endpoints ->
          slices.addAll(slices(pf, ForwardSlices.TARGET, endpoints, spec.getProtocol().name())));
    }
    List<Route> routes = Optional.ofNullable(spec.getRoutes()).orElse(List.of());
    for (int i = 0; i < routes.size(); i++) {
      int index = i;
      podsTarget(routes.get(i).getTarget(), pods).ifPresent(endpoints ->
          slices.addAll(slices(pf, ForwardSlices.route(index), endpoints, spec.getProtocol().name())));
    }
    if (mode == RelayMode.Sidecar) {
      List<Pod> carrying = pods.stream().filter(pod -> Sidecars.carries(pod, pf.getMetadata().getName())).toList();
      slices.addAll(slices(pf, ForwardSlices.SIDECARS, TargetEndpoints.ofPods(carrying, Map.of(), 0),
          spec.getProtocol().name()));
    }
    return slices;
  }

  /** The name of a slice: the forward, what it resolves, the family and a running number. */
  public static String name(PortForward pf, String resolves, String family, int index) {
    return ForwardSlices.forwardLabel(pf.getMetadata().getName()).toLowerCase().replace('_', '-')
        + "-" + resolves + "-" + family.toLowerCase() + "-" + index;
  }

  private static Optional<List<TargetEndpoints.Endpoint>> podsTarget(Target target, List<Pod> pods) {
    return Optional.ofNullable(target).map(Target::getPods)
        .map(p -> TargetEndpoints.ofPods(pods, p.getSelector(), p.getPort()));
  }

  private static List<EndpointSlice> slices(PortForward pf, String resolves, List<TargetEndpoints.Endpoint> endpoints,
      String protocol) {
    Map<String, List<TargetEndpoints.Endpoint>> byFamily = new LinkedHashMap<>();
    byFamily.put("IPv4", new ArrayList<>());
    byFamily.put("IPv6", new ArrayList<>());
    endpoints.stream()
        .distinct()
        .sorted(Comparator.comparing((TargetEndpoints.Endpoint e) -> NetUtil.toAddressString(e.address())))
        .forEach(e -> byFamily.get(e.address() instanceof Inet4Address ? "IPv4" : "IPv6").add(e));
    List<EndpointSlice> slices = new ArrayList<>();
    byFamily.forEach((family, all) -> {
      for (int from = 0, index = 0; from < all.size(); from += ForwardSlices.MAX_ENDPOINTS, index++) {
        List<TargetEndpoints.Endpoint> part = all.subList(from, Math.min(all.size(), from + ForwardSlices.MAX_ENDPOINTS));
        slices.add(slice(pf, resolves, family, index, part, protocol));
      }
    });
    return slices;
  }

  private static EndpointSlice slice(PortForward pf, String resolves, String family, int index,
      List<TargetEndpoints.Endpoint> endpoints, String protocol) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("app.kubernetes.io/managed-by", OPERATOR);
    labels.put(ForwardSlices.MANAGED_BY_LABEL, ForwardSlices.MANAGED_BY);
    labels.put(ForwardSlices.FORWARD_LABEL, ForwardSlices.forwardLabel(pf.getMetadata().getName()));
    labels.put(ForwardSlices.RESOLVES_LABEL, resolves);
    int port = endpoints.get(0).port();
    EndpointSliceBuilder slice = new EndpointSliceBuilder()
        .withMetadata(RelayWorkload.ownedBy(pf, name(pf, resolves, family, index), labels))
        .withAddressType(family)
        .withEndpoints(endpoints.stream().map(BackendSlices::endpoint).toList());
    if (port > 0) {
      // Spelled out whole, as the API server defaults it, so that a slice read back compares equal.
      slice.addNewPort().withName("").withPort(port).withProtocol(protocol).endPort();
    }
    return slice.build();
  }

  private static Endpoint endpoint(TargetEndpoints.Endpoint e) {
    return new EndpointBuilder()
        .withAddresses(NetUtil.toAddressString(e.address()))
        .withNewConditions().withReady(e.ready()).endConditions()
        .withNodeName(e.nodeName())
        .build();
  }
}
