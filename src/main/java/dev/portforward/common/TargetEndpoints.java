package dev.portforward.common;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The addresses behind a Service port or a set of Pods, read the way kube-proxy reads them. Shared
 * by the operator (which counts them) and the node agent (which forwards to the ready ones), so the
 * two never disagree about what a target is.
 */
public final class TargetEndpoints {

  /**
   * One address and port of a target, whether it takes traffic now, and the node it runs on
   * (null when unknown: an EndpointSlice endpoint without nodeName, a pod not scheduled yet).
   */
  public record Endpoint(InetAddress address, int port, boolean ready, String nodeName) {
    public Endpoint(InetAddress address, int port, boolean ready) {
      this(address, port, ready, null);
    }
  }

  private TargetEndpoints() {}

  /**
   * The endpoints of one Service port: from the EndpointSlices of the Service, the slice port with
   * the same name as the Service port (slices carry the target port).
   */
  public static List<Endpoint> ofServicePort(ServicePort servicePort, List<EndpointSlice> slices) {
    String portName = Objects.requireNonNullElse(servicePort.getName(), "");
    List<Endpoint> endpoints = new ArrayList<>();
    for (EndpointSlice slice : slices) {
      Optional<Integer> port = Optional.ofNullable(slice.getPorts()).orElse(List.of()).stream()
          .filter(p -> portName.equals(Objects.requireNonNullElse(p.getName(), "")))
          .map(p -> p.getPort())
          .filter(Objects::nonNull)
          .findFirst();
      if (port.isEmpty() || slice.getEndpoints() == null) {
        continue;
      }
      slice.getEndpoints().forEach(endpoint -> {
        // An unset ready condition means ready (EndpointSlice API).
        boolean ready = endpoint.getConditions() == null || !Boolean.FALSE.equals(endpoint.getConditions().getReady());
        endpoint.getAddresses().stream()
            .map(NetUtil::createInetAddressFromIpAddressString)
            .filter(Objects::nonNull)
            .forEach(address -> endpoints.add(new Endpoint(address, port.get(), ready, endpoint.getNodeName())));
      });
    }
    return endpoints;
  }

  /** The addresses of the Pods that match {@code selector} and are not being deleted. */
  public static List<Endpoint> ofPods(List<Pod> pods, Map<String, String> selector, int port) {
    List<Endpoint> endpoints = new ArrayList<>();
    for (Pod pod : matching(pods, selector)) {
      boolean ready = isReady(pod);
      String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
      podIps(pod).stream()
          .map(NetUtil::createInetAddressFromIpAddressString)
          .filter(Objects::nonNull)
          .forEach(address -> endpoints.add(new Endpoint(address, port, ready, nodeName)));
    }
    return endpoints;
  }

  public static List<Pod> matching(List<Pod> pods, Map<String, String> selector) {
    return pods.stream()
        .filter(pod -> pod.getMetadata().getDeletionTimestamp() == null)
        .filter(pod -> Optional.ofNullable(pod.getMetadata().getLabels()).orElse(Map.of()).entrySet()
            .containsAll(selector.entrySet()))
        .toList();
  }

  private static boolean isReady(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static List<String> podIps(Pod pod) {
    if (pod.getStatus() == null) {
      return List.of();
    }
    if (pod.getStatus().getPodIPs() != null && !pod.getStatus().getPodIPs().isEmpty()) {
      return pod.getStatus().getPodIPs().stream().map(PodIP::getIp).filter(Objects::nonNull).toList();
    }
    return Optional.ofNullable(pod.getStatus().getPodIP()).map(List::of).orElse(List.of());
  }
}
