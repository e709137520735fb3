package dev.portforward.operator.gatewayapi;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.operator.gatewayapi.GatewayApi.Reason;
import dev.portforward.operator.gatewayapi.GatewayPlan.Cond;
import dev.portforward.operator.gatewayapi.GatewayPlan.GatewayState;
import dev.portforward.operator.gatewayapi.GatewayPlan.ListenerState;
import dev.portforward.operator.gatewayapi.GatewayPlan.ParentStatus;
import dev.portforward.operator.gatewayapi.RouteView.BackendRef;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.k8s.networking.gateway.v1.Gateway;
import io.k8s.networking.gateway.v1.gatewayspec.Listeners;
import io.k8s.networking.gateway.v1.gatewayspec.listeners.AllowedRoutes;
import io.k8s.networking.gateway.v1.gatewayspec.listeners.allowedroutes.Kinds;
import io.k8s.networking.gateway.v1.gatewayspec.listeners.allowedroutes.Namespaces;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides what a Gateway of this controller's class becomes: one derived PortForward per TCP or
 * UDP listener that has an accepted route (in the Gateway's namespace; node DNAT or a relay
 * Deployment, as the class's {@link GatewayParameters} say), the mirrors that carry backends of
 * other namespaces into it ({@link BackendMirrors}), the Gateway's status (from the listeners and
 * the derived forwards' statuses) and each route's status for this Gateway. Pure: everything
 * comes in a {@link GatewayInput}, so every case the Gateway API
 * spec describes is a unit test.
 */
public final class GatewayPlanner {

  /** Longest name a derived PortForward gets (a DNS label: relay objects are named after it). */
  static final int MAX_NAME = 63;

  /** The protocols the Gateway API defines for listeners (of which this controller serves TCP and UDP). */
  private static final Set<String> KNOWN_PROTOCOLS = Set.of("HTTP", "HTTPS", "TLS", "TCP", "UDP");

  private GatewayPlanner() {}

  /** A listener as judged on its own: its route kinds, and why it can carry nothing, if it cannot. */
  private record Judged(Listeners spec, List<String> supportedKinds, Optional<Cond> invalid, Optional<String> conflict,
      boolean invalidKinds) {

    boolean usable() {
      return invalid.isEmpty() && conflict.isEmpty();
    }
  }

  public static GatewayPlan plan(GatewayInput input) {
    Gateway gateway = input.gateway();
    String namespace = gateway.getMetadata().getNamespace();
    long generation = Optional.ofNullable(gateway.getMetadata().getGeneration()).orElse(0L);
    List<Listeners> listeners = Optional.ofNullable(gateway.getSpec().getListeners()).orElse(List.of());
    List<Judged> judged = listeners.stream().map(l -> judge(l, listeners, generation)).toList();

    List<RouteView> routes = input.routes().stream()
        .filter(r -> r.names(namespace, gateway.getMetadata().getName()))
        .sorted(Comparator.comparing(RouteView::created).thenComparing(RouteView::namespace)
            .thenComparing(RouteView::name))
        .toList();
    Map<String, List<RouteView>> attached = new LinkedHashMap<>();
    Map<String, Cond> resolved = new LinkedHashMap<>();
    Map<String, List<ParentStatus>> routeStatuses = new LinkedHashMap<>();
    for (RouteView route : routes) {
      Cond refs = resolvedRefs(route, input);
      resolved.put(route.key(), refs);
      List<ParentStatus> parents = new ArrayList<>();
      for (RouteView.ParentRef ref : route.parentRefs()) {
        if (!ref.names(namespace, gateway.getMetadata().getName())) {
          continue;
        }
        Cond accepted = attach(route, ref, judged, input, namespace, attached);
        parents.add(new ParentStatus(ref, List.of(accepted, refs)));
      }
      routeStatuses.put(route.key(), parents);
    }

    List<PortForward> forwards = new ArrayList<>();
    List<BackendMirrors.Mirror> mirrors = new ArrayList<>();
    List<ListenerState> listenerStates = new ArrayList<>();
    Set<String> addresses = new TreeSet<>();
    List<String> waiting = new ArrayList<>();
    int programmedListeners = 0;
    int acceptedListeners = 0;
    Optional<String> gatewayRefused = GatewayParameters.gatewayRefusal(gateway);
    for (Judged listener : judged) {
      String name = listener.spec().getName();
      List<RouteView> carried = attached.getOrDefault(name, List.of());
      Optional<Cond> invalidKinds = listener.invalidKinds()
          ? Optional.of(cond(GatewayApi.RESOLVED_REFS, false, Reason.INVALID_ROUTE_KINDS,
              "allowedRoutes.kinds names a kind other than " + routeKind(listener.spec().getProtocol())
                  + " (gateway.networking.k8s.io); supported kinds: " + listener.supportedKinds(), generation))
          : Optional.empty();
      Cond resolvedRefs = invalidKinds.orElse(cond(GatewayApi.RESOLVED_REFS, true, Reason.RESOLVED_REFS,
          "every route kind is supported", generation));
      Cond conflicted = listener.conflict()
          .map(message -> cond(GatewayApi.CONFLICTED, true, Reason.PROTOCOL_CONFLICT, message, generation))
          .orElse(cond(GatewayApi.CONFLICTED, false, Reason.NO_CONFLICTS, "no other listener on this port and protocol",
              generation));
      Cond accepted;
      Cond programmed;
      if (!input.classAccepted()) {
        accepted = cond(GatewayApi.ACCEPTED, false, Reason.INVALID, "the GatewayClass is not accepted", generation);
        programmed = cond(GatewayApi.PROGRAMMED, false, Reason.INVALID, "the GatewayClass is not accepted", generation);
      } else if (gatewayRefused.isPresent()) {
        accepted = cond(GatewayApi.ACCEPTED, false, Reason.INVALID, gatewayRefused.get(), generation);
        programmed = cond(GatewayApi.PROGRAMMED, false, Reason.INVALID, gatewayRefused.get(), generation);
      } else if (listener.invalid().isPresent()) {
        accepted = listener.invalid().get();
        programmed = cond(GatewayApi.PROGRAMMED, false, Reason.INVALID, accepted.message(), generation);
      } else if (listener.conflict().isPresent()) {
        accepted = cond(GatewayApi.ACCEPTED, false, Reason.PORT_UNAVAILABLE, listener.conflict().get(), generation);
        programmed = cond(GatewayApi.PROGRAMMED, false, Reason.INVALID, listener.conflict().get(), generation);
      } else if (carried.isEmpty()) {
        accepted = cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED, "the listener is valid", generation);
        programmed = cond(GatewayApi.PROGRAMMED, false, Reason.PENDING,
            "no route is attached: nothing listens on port " + listener.spec().getPort(), generation);
      } else {
        // Only the oldest route carries traffic (the spec's rule for several routes on one L4 listener).
        RouteView oldest = carried.get(0);
        Cond refs = resolved.get(oldest.key());
        BackendMirrors.Carried backends =
            BackendMirrors.carry(gateway, listener.spec(), oldest.backendRefs(), refs.status(), input);
        Optional<String> blocking = BackendMirrors.blocking(backends.mirrors(), input.othersObjects());
        Optional<Target> target = backends.target();
        if (blocking.isPresent()) {
          // The forward would reach whatever that object says: the listener is not carried.
          accepted = cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED, "the listener is valid", generation);
          programmed = cond(GatewayApi.PROGRAMMED, false, Reason.INVALID, "a mirror of a backend of " + oldest.key()
              + " needs the name of " + blocking.get() + " in this namespace, which is not this Gateway's;"
              + " connections to port " + listener.spec().getPort() + " are refused", generation);
        } else if (target.isEmpty()) {
          String why = refs.status() ? Backends.unsupported(oldest.backendRefs())
              : "the backends of " + oldest.key() + " are not resolved (" + refs.message() + ")";
          accepted = cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED, "the listener is valid", generation);
          programmed = cond(GatewayApi.PROGRAMMED, false, Reason.PENDING,
              why + "; connections to port " + listener.spec().getPort() + " are refused", generation);
        } else {
          mirrors.addAll(backends.mirrors());
          PortForward forward = derived(gateway, listener.spec(), target.get(), input.parameters());
          forwards.add(forward);
          Optional<PortForward> observed = input.derived().stream()
              .filter(pf -> pf.getMetadata().getName().equals(forward.getMetadata().getName()))
              .findFirst();
          Optional<Condition> forwardAccepted = observed.flatMap(pf -> condition(pf, Conditions.ACCEPTED));
          Optional<Condition> forwardProgrammed = observed.flatMap(pf -> condition(pf, Conditions.PROGRAMMED));
          String which = "PortForward " + namespace + "/" + forward.getMetadata().getName();
          if (forwardAccepted.filter(c -> "False".equals(c.getStatus())).isPresent()) {
            String message = which + " is refused: " + forwardAccepted.get().getMessage();
            accepted = cond(GatewayApi.ACCEPTED, false, Reason.PORT_UNAVAILABLE, message, generation);
            programmed = cond(GatewayApi.PROGRAMMED, false, Reason.INVALID, message, generation);
          } else {
            accepted = cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED, "the listener is valid, carried by " + which,
                generation);
            if (forwardProgrammed.filter(c -> "True".equals(c.getStatus())).isPresent()) {
              programmed = cond(GatewayApi.PROGRAMMED, true, Reason.PROGRAMMED,
                  which + ": " + forwardProgrammed.get().getMessage(), generation);
              observed.get().getStatus().getEndpoints().stream().map(Endpoint::getAddress).forEach(addresses::add);
            } else {
              programmed = cond(GatewayApi.PROGRAMMED, false, Reason.PENDING, forwardProgrammed
                  .map(c -> which + ": " + c.getMessage())
                  .orElse("waiting for " + which), generation);
            }
          }
          if (!programmed.status()) {
            waiting.add(name);
          }
        }
      }
      if (accepted.status()) {
        acceptedListeners++;
      }
      if (programmed.status()) {
        programmedListeners++;
      }
      listenerStates.add(new ListenerState(name, listener.supportedKinds(),
          (int) carried.stream().map(RouteView::key).distinct().count(),
          List.of(accepted, programmed, resolvedRefs, conflicted)));
    }

    return new GatewayPlan(forwards, mirrors,
        new GatewayState(List.copyOf(addresses),
            gatewayConditions(input, gateway, generation, listeners.size(), acceptedListeners, programmedListeners,
                addresses, waiting),
            listenerStates),
        routeStatuses);
  }

  private static List<Cond> gatewayConditions(GatewayInput input, Gateway gateway, long generation, int listeners,
      int accepted, int programmed, Set<String> addresses, List<String> waiting) {
    Cond acceptedCond;
    if (!input.classAccepted()) {
      acceptedCond = cond(GatewayApi.ACCEPTED, false, Reason.INVALID, "the GatewayClass "
          + gateway.getSpec().getGatewayClassName() + " is not accepted", generation);
    } else if (GatewayParameters.gatewayRefusal(gateway).isPresent()) {
      acceptedCond = cond(GatewayApi.ACCEPTED, false, Reason.INVALID_PARAMETERS,
          GatewayParameters.gatewayRefusal(gateway).get(), generation);
    } else if (gateway.getSpec().getAddresses() != null && !gateway.getSpec().getAddresses().isEmpty()) {
      acceptedCond = cond(GatewayApi.ACCEPTED, false, "UnsupportedAddress",
          "spec.addresses is not supported: a Gateway's addresses are its nodes' addresses", generation);
    } else if (accepted == listeners) {
      acceptedCond = cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED, "every listener is valid", generation);
    } else {
      // A Gateway is refused only when none of its listeners even names a Gateway API protocol; one
      // with HTTP listeners, which this controller does not serve, is valid and stays accepted.
      boolean anyKnown = Optional.ofNullable(gateway.getSpec().getListeners()).orElse(List.of()).stream()
          .anyMatch(l -> KNOWN_PROTOCOLS.contains(l.getProtocol()));
      acceptedCond = cond(GatewayApi.ACCEPTED, accepted > 0 || anyKnown, Reason.LISTENERS_NOT_VALID,
          (listeners - accepted) + " of " + listeners + " listener(s) are not accepted (see status.listeners)",
          generation);
    }
    Cond programmedCond;
    if (!acceptedCond.status()) {
      programmedCond = cond(GatewayApi.PROGRAMMED, false, Reason.INVALID, "the Gateway is not accepted", generation);
    } else if (!waiting.isEmpty()) {
      programmedCond = cond(GatewayApi.PROGRAMMED, false, Reason.PENDING,
          "listener(s) " + waiting + " not programmed yet (see status.listeners)", generation);
    } else if (programmed == 0) {
      // Everything this Gateway asks of the data plane is there: nothing (as for a Gateway whose
      // listeners are all HTTP, or have no route yet). Addresses come with the first programmed listener.
      programmedCond = cond(GatewayApi.PROGRAMMED, true, Reason.PROGRAMMED,
          "no listener carries a route: nothing to program", generation);
    } else if (addresses.isEmpty()) {
      programmedCond = cond(GatewayApi.PROGRAMMED, false, Reason.ADDRESS_NOT_ASSIGNED,
          "no node carries the listeners yet", generation);
    } else {
      programmedCond = cond(GatewayApi.PROGRAMMED, true, Reason.PROGRAMMED,
          programmed + " listener(s) programmed on the selected nodes", generation);
    }
    return List.of(acceptedCond, programmedCond);
  }

  /** A listener by itself: its protocol, its route kinds, and whether another listener shares its port. */
  private static Judged judge(Listeners listener, List<Listeners> all, long generation) {
    String protocol = listener.getProtocol();
    if (!isL4(protocol)) {
      return new Judged(listener, List.of(), Optional.of(cond(GatewayApi.ACCEPTED, false, Reason.UNSUPPORTED_PROTOCOL,
          "protocol " + protocol + " is not supported: this controller serves TCP and UDP listeners", generation)),
          Optional.empty(), false);
    }
    String kind = routeKind(protocol);
    List<Kinds> kinds = Optional.ofNullable(listener.getAllowedRoutes()).map(AllowedRoutes::getKinds).orElse(null);
    List<String> supported;
    boolean invalidKinds = false;
    if (kinds == null || kinds.isEmpty()) {
      supported = List.of(kind);
    } else {
      supported = kinds.stream()
          .filter(k -> GatewayApi.GROUP.equals(Optional.ofNullable(k.getGroup()).orElse(GatewayApi.GROUP))
              && kind.equals(k.getKind()))
          .map(k -> kind).distinct().toList();
      invalidKinds = supported.size() != kinds.size();
    }
    List<String> sharing = all.stream()
        .filter(other -> other != listener && Objects.equals(other.getPort(), listener.getPort())
            && protocol.equals(other.getProtocol()))
        .map(Listeners::getName).toList();
    Optional<String> conflict = sharing.isEmpty() ? Optional.empty()
        : Optional.of("port " + listener.getPort() + "/" + protocol + " is also listener(s) " + sharing
            + "'s: two listeners of one Gateway cannot share a port and protocol");
    return new Judged(listener, supported, Optional.empty(), conflict, invalidKinds);
  }

  /**
   * Accepted for one parentRef: the listeners it names (by sectionName and port) that take this
   * route (protocol, kinds, namespaces); the route is attached to each of them.
   */
  private static Cond attach(RouteView route, RouteView.ParentRef ref, List<Judged> listeners, GatewayInput input,
      String gatewayNamespace, Map<String, List<RouteView>> attached) {
    long generation = route.generation();
    List<Judged> named = listeners.stream()
        .filter(l -> ref.sectionName() == null || ref.sectionName().equals(l.spec().getName()))
        .filter(l -> ref.port() == null || ref.port().equals(l.spec().getPort()))
        .toList();
    if (named.isEmpty()) {
      return cond(GatewayApi.ACCEPTED, false, Reason.NO_MATCHING_PARENT, "the Gateway has no listener"
          + (ref.sectionName() == null ? "" : " named " + ref.sectionName())
          + (ref.port() == null ? "" : " on port " + ref.port()), generation);
    }
    List<String> taking = new ArrayList<>();
    for (Judged listener : named) {
      if (input.classAccepted() && GatewayParameters.gatewayRefusal(input.gateway()).isEmpty() && listener.usable()
          && listener.supportedKinds().contains(route.kind())
          && namespaceAllowed(listener.spec(), route.namespace(), gatewayNamespace, input)) {
        taking.add(listener.spec().getName());
        attached.computeIfAbsent(listener.spec().getName(), k -> new ArrayList<>()).add(route);
      }
    }
    if (taking.isEmpty()) {
      return cond(GatewayApi.ACCEPTED, false, Reason.NOT_ALLOWED_BY_LISTENERS,
          "no listener of " + named.stream().map(l -> l.spec().getName()).toList() + " allows a " + route.kind()
              + " from namespace " + route.namespace() + " (protocol, allowedRoutes.kinds and allowedRoutes.namespaces)",
          generation);
    }
    return cond(GatewayApi.ACCEPTED, true, Reason.ACCEPTED, "attached to listener(s) " + taking, generation);
  }

  private static boolean namespaceAllowed(Listeners listener, String routeNamespace, String gatewayNamespace,
      GatewayInput input) {
    Namespaces namespaces = Optional.ofNullable(listener.getAllowedRoutes()).map(AllowedRoutes::getNamespaces)
        .orElse(null);
    String from = namespaces == null || namespaces.getFrom() == null ? "Same" : namespaces.getFrom().getValue();
    return switch (from) {
      case "All" -> true;
      case "Selector" -> namespaces.getSelector() != null
          && LabelSelectors.matches(namespaces.getSelector(), input.labels(routeNamespace));
      case "Same" -> routeNamespace.equals(gatewayNamespace);
      default -> false;
    };
  }

  /**
   * ResolvedRefs of a route: every backendRef a Service, permitted (same namespace or a
   * ReferenceGrant) and existing.
   */
  private static Cond resolvedRefs(RouteView route, GatewayInput input) {
    long generation = route.generation();
    for (BackendRef ref : route.backendRefs()) {
      String what = "backendRef " + ref.namespace() + "/" + ref.name();
      if (!ref.group().isEmpty() || !"Service".equals(ref.kind())) {
        return cond(GatewayApi.RESOLVED_REFS, false, Reason.INVALID_KIND, what + " is a " + ref.kind()
            + (ref.group().isEmpty() ? "" : "." + ref.group()) + ": only Services are supported", generation);
      }
      if (!ref.namespace().equals(route.namespace())
          && !ReferenceGrants.permit(input.grants(), route.kind(), route.namespace(), ref.namespace(), ref.name())) {
        return cond(GatewayApi.RESOLVED_REFS, false, Reason.REF_NOT_PERMITTED, what
            + " is in another namespace and no ReferenceGrant there permits it", generation);
      }
      if (input.service(ref.namespace(), ref.name()).isEmpty()) {
        return cond(GatewayApi.RESOLVED_REFS, false, Reason.BACKEND_NOT_FOUND, what + ": no such Service", generation);
      }
    }
    return cond(GatewayApi.RESOLVED_REFS, true, Reason.RESOLVED_REFS, "every backendRef is resolved", generation);
  }

  /**
   * The PortForward that carries one listener: the listener's port to the route's backend, by node
   * DNAT or through a relay Deployment, as the class's parameters say.
   */
  static PortForward derived(Gateway gateway, Listeners listener, Target target, GatewayParameters parameters) {
    PortForward pf = new PortForward();
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(GatewayApi.GATEWAY_LABEL, labelValue(gateway.getMetadata().getName()));
    labels.put(GatewayApi.LISTENER_LABEL, labelValue(listener.getName()));
    pf.setMetadata(new ObjectMetaBuilder()
        .withName(forwardName(gateway.getMetadata().getName(), listener.getName()))
        .withNamespace(gateway.getMetadata().getNamespace())
        .withLabels(labels)
        .withOwnerReferences(controllerReference(gateway))
        .build());
    PortForwardSpec spec = new PortForwardSpec();
    spec.setProtocol(Protocol.valueOf(listener.getProtocol()));
    Listen listen = new Listen();
    listen.setPort(listener.getPort());
    spec.setListen(listen);
    Relay relay = new Relay();
    relay.setMode(parameters.relayMode());
    spec.setRelay(relay);
    spec.setTarget(target);
    pf.setSpec(spec);
    return pf;
  }

  /** What makes an object the Gateway's own: the garbage collector deletes it with the Gateway. */
  static OwnerReference controllerReference(Gateway gateway) {
    return new OwnerReferenceBuilder()
        .withApiVersion(GatewayApi.GROUP + "/v1")
        .withKind(GatewayApi.GATEWAY)
        .withName(gateway.getMetadata().getName())
        .withUid(gateway.getMetadata().getUid())
        .withController(true)
        .build();
  }

  /** {@code <gateway>-<listener>}, or, when longer than a DNS label, its start and a hash of the whole. */
  static String forwardName(String gateway, String listener) {
    String name = (gateway + "-" + listener).replace('.', '-');
    if (name.length() <= MAX_NAME) {
      return name;
    }
    String hash = hash(gateway + "/" + listener);
    String head = name.substring(0, MAX_NAME - hash.length() - 1).replaceAll("-+$", "");
    return head + "-" + hash;
  }

  static String labelValue(String value) {
    return value.length() <= MAX_NAME ? value : value.substring(0, MAX_NAME - 11) + "-" + hash(value);
  }

  private static String hash(String text) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest).substring(0, 10);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Optional<Condition> condition(PortForward pf, String type) {
    return pf.getStatus() == null ? Optional.empty()
        : pf.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  static boolean isL4(String protocol) {
    return "TCP".equals(protocol) || "UDP".equals(protocol);
  }

  static String routeKind(String protocol) {
    return "UDP".equals(protocol) ? GatewayApi.UDP_ROUTE : GatewayApi.TCP_ROUTE;
  }

  private static Cond cond(String type, boolean status, String reason, String message, long generation) {
    return new Cond(type, status, reason, message, generation);
  }
}
