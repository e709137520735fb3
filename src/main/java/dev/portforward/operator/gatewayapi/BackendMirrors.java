package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.ForwardSlices;
import dev.portforward.common.TargetEndpoints;
import dev.portforward.operator.gatewayapi.RouteView.BackendRef;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.gatewayspec.Listeners;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A backend outside the Gateway's namespace, carried into it: a selectorless Service in the
 * Gateway's namespace (the mirror) with the backend's port, and EndpointSlices holding the
 * backend's ready endpoints for that port, so that a derived PortForward names only Services of
 * its own namespace. A mirror of a backend that is not permitted (or not found) holds no
 * endpoints: its listener stays programmed and its connections go nowhere. Pure.
 */
final class BackendMirrors {

  /** On a mirror Service and its slices: the backend's namespace (its presence marks a mirror). */
  static final String BACKEND_NAMESPACE_LABEL = "gateway.portforward.dev/backend-namespace";
  /** On a mirror Service and its slices: the backend Service's name. */
  static final String BACKEND_LABEL = "gateway.portforward.dev/backend";
  /** The label the operator's admission policy requires on every Service and slice it writes. */
  static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  static final String MANAGED_BY = "portforward-operator";
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  /** Longest mirror name: room left for a slice's "-ipv6-NN" within a DNS label. */
  static final int MAX_NAME = 47;
  private static final int HASH = 10;

  /** One mirror: its Service and its slices (none while the backend is not carried). */
  record Mirror(Service service, List<EndpointSlice> slices) {}

  /** What carries a listener's route: the derived forward's target, if any, and the mirrors it names. */
  record Carried(Optional<Target> target, List<Mirror> mirrors) {}

  private BackendMirrors() {}

  /**
   * {@code <gateway>-<listener>-<backend>} cut short, then a hash of gateway, listener, and the
   * backend's namespace, name and port: one mirror per listener and backend port, whatever the
   * lengths of their names.
   */
  static String name(String gateway, String listener, String namespace, String backend, int port) {
    String readable = (gateway + "-" + listener + "-" + backend).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    readable = readable.substring(0, Math.min(readable.length(), MAX_NAME - HASH - 1)).replaceAll("-+$", "");
    String name = readable + "-" + hash(gateway + "/" + listener + "/" + namespace + "/" + backend + ":" + port);
    // A Service name is a DNS-1035 label: it starts with a letter.
    return Character.isLetter(name.charAt(0)) ? name : "b" + name.substring(1);
  }

  /**
   * How a listener carries its route: refs in the Gateway's namespace by their own name, refs
   * elsewhere by their mirrors. A route whose refs are not all resolved is refused whole (the
   * spec forbids giving an invalid backend's share to the others): its forward names one mirror
   * without endpoints, so the listener is still programmed and holds the Gateway's address, and
   * its connections go nowhere.
   */
  static Carried carry(Gateway gateway, Listeners listener, List<BackendRef> refs, boolean resolved,
      GatewayInput input) {
    String namespace = gateway.getMetadata().getNamespace();
    String protocol = listener.getProtocol();
    if (!resolved) {
      Optional<BackendRef> first = refs.stream().filter(r -> r.port() != null && (r.weight() == null || r.weight() > 0))
          .findFirst();
      return first.map(ref -> new Carried(
              Backends.target(List.of(ref), r -> name(gateway, listener.getName(), r)),
              List.of(of(gateway, listener.getName(), protocol, ref, Optional.empty(), List.of()))))
          .orElse(new Carried(Optional.empty(), List.of()));
    }
    Optional<Target> target = Backends.target(refs,
        ref -> ref.namespace().equals(namespace) ? ref.name() : name(gateway, listener.getName(), ref));
    if (target.isEmpty()) {
      return new Carried(Optional.empty(), List.of());
    }
    Map<String, Mirror> mirrors = new LinkedHashMap<>();
    refs.stream()
        .filter(ref -> !ref.namespace().equals(namespace) && ref.port() != null
            && (ref.weight() == null || ref.weight() > 0))
        .forEach(ref -> mirrors.computeIfAbsent(name(gateway, listener.getName(), ref),
            n -> of(gateway, listener.getName(), protocol, ref, input.service(ref.namespace(), ref.name()),
                input.slices(ref.namespace(), ref.name()))));
    return new Carried(target, List.copyOf(mirrors.values()));
  }

  /**
   * The first of {@code othersObjects} ({@code "Service name"}, {@code "EndpointSlice name"}) that
   * one of {@code mirrors} would be written over: the controller never takes over an object it did
   * not create.
   */
  static Optional<String> blocking(List<Mirror> mirrors, Set<String> othersObjects) {
    return mirrors.stream()
        .flatMap(m -> Stream.concat(Stream.of(m.service()), m.slices().stream()))
        .map(o -> o.getKind() + " " + o.getMetadata().getName())
        .filter(othersObjects::contains)
        .findFirst();
  }

  /**
   * The mirror of {@code ref} for one listener, holding the ready endpoints of the backend's port
   * (by number and the listener's protocol) as the backend's own slices give them; {@code backend}
   * empty (not permitted, not found) gives a mirror without endpoints.
   */
  static Mirror of(Gateway gateway, String listener, String protocol, BackendRef ref, Optional<Service> backend,
      List<EndpointSlice> backendSlices) {
    String name = name(gateway, listener, ref);
    Map<String, String> labels = labels(gateway, listener, ref);
    Service service = new ServiceBuilder()
        .withMetadata(meta(gateway, name, labels))
        .withNewSpec()
        .addNewPort().withPort(ref.port()).withProtocol(protocol).endPort()
        .endSpec()
        .build();
    Optional<ServicePort> port = backend.map(Service::getSpec)
        .flatMap(spec -> Optional.ofNullable(spec.getPorts()).orElse(List.of()).stream()
            .filter(p -> Objects.equals(p.getPort(), ref.port())
                && protocol.equals(Objects.requireNonNullElse(p.getProtocol(), "TCP")))
            .findFirst());
    List<TargetEndpoints.Endpoint> ready = port
        .map(p -> TargetEndpoints.ofServicePort(p, backendSlices).stream().filter(TargetEndpoints.Endpoint::ready)
            .distinct()
            .sorted(Comparator.comparing((TargetEndpoints.Endpoint e) -> NetUtil.toAddressString(e.address()))
                .thenComparing(TargetEndpoints.Endpoint::port))
            .toList())
        .orElse(List.of());
    return new Mirror(service, slices(gateway, name, labels, protocol, ready));
  }

  static String name(Gateway gateway, String listener, BackendRef ref) {
    return name(gateway.getMetadata().getName(), listener, ref.namespace(), ref.name(), ref.port());
  }

  private static List<EndpointSlice> slices(Gateway gateway, String name, Map<String, String> labels, String protocol,
      List<TargetEndpoints.Endpoint> ready) {
    Map<String, String> sliceLabels = new LinkedHashMap<>(labels);
    sliceLabels.put(SERVICE_NAME_LABEL, name);
    sliceLabels.put(ForwardSlices.MANAGED_BY_LABEL, ForwardSlices.MANAGED_BY);
    List<EndpointSlice> slices = new ArrayList<>();
    for (String family : List.of("IPv4", "IPv6")) {
      // A slice has one port: endpoints on different target ports (pods of one Service with
      // different named ports) go to slices of their own.
      Map<Integer, List<TargetEndpoints.Endpoint>> byPort = new LinkedHashMap<>();
      ready.stream().filter(e -> (e.address() instanceof Inet4Address) == "IPv4".equals(family))
          .forEach(e -> byPort.computeIfAbsent(e.port(), p -> new ArrayList<>()).add(e));
      int index = 0;
      for (Map.Entry<Integer, List<TargetEndpoints.Endpoint>> entry : byPort.entrySet()) {
        List<TargetEndpoints.Endpoint> all = entry.getValue();
        for (int from = 0; from < all.size(); from += ForwardSlices.MAX_ENDPOINTS, index++) {
          int to = Math.min(all.size(), from + ForwardSlices.MAX_ENDPOINTS);
          List<TargetEndpoints.Endpoint> part = all.subList(from, to);
          slices.add(new EndpointSliceBuilder()
              .withMetadata(meta(gateway, name + "-" + family.toLowerCase(Locale.ROOT) + "-" + index, sliceLabels))
              .withAddressType(family)
              // Spelled out whole, as the API server defaults it, so that a slice read back compares equal.
              .addNewPort().withName("").withPort(entry.getKey()).withProtocol(protocol).endPort()
              .withEndpoints(part.stream().map(e -> new EndpointBuilder()
                  .withAddresses(NetUtil.toAddressString(e.address()))
                  .withNewConditions().withReady(true).endConditions()
                  .withNodeName(e.nodeName())
                  .build()).toList())
              .build());
        }
      }
    }
    return slices;
  }

  private static Map<String, String> labels(Gateway gateway, String listener, BackendRef ref) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(MANAGED_BY_LABEL, MANAGED_BY);
    labels.put(GatewayApi.GATEWAY_LABEL, GatewayPlanner.labelValue(gateway.getMetadata().getName()));
    labels.put(GatewayApi.LISTENER_LABEL, GatewayPlanner.labelValue(listener));
    labels.put(BACKEND_NAMESPACE_LABEL, ref.namespace());
    labels.put(BACKEND_LABEL, GatewayPlanner.labelValue(ref.name()));
    return labels;
  }

  private static ObjectMeta meta(Gateway gateway, String name, Map<String, String> labels) {
    return new ObjectMetaBuilder()
        .withName(name)
        .withNamespace(gateway.getMetadata().getNamespace())
        .withLabels(labels)
        .withOwnerReferences(GatewayPlanner.controllerReference(gateway))
        .build();
  }

  private static String hash(String text) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest).substring(0, HASH);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
