package dev.portforward.agent;

import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.SourceRoute;
import dev.portforward.api.v1alpha1.ApplicationProtocol;
import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.Gateway;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Route;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.common.Cidr;
import dev.portforward.common.DeniedRange;
import dev.portforward.common.MappingHolder;
import dev.portforward.common.ForwardSlices;
import dev.portforward.common.Durations;
import dev.portforward.common.NodeSelection;
import dev.portforward.common.RelayNames;
import dev.portforward.common.TargetEndpoints;
import dev.portforward.common.WeightedShares;
import dev.portforward.gateway.MappingRequest;
import dev.portforward.gateway.Method;
import dev.portforward.gateway.Transport;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Decides what one node must program: the PortForwards the operator accepted (for their current
 * generation) whose listen.nodeSelector selects this node (control-plane nodes only where the
 * admin allows them), each on this node's own addresses and resolved to ready backends, none of
 * them denied. Two forwards never share a dispatch key (protocol, address, port): the one that
 * takes precedence keeps it, the other is reported with the holder's name, so one forward can
 * never make the node's transaction fail for the others. Pure: it reads only what it is given.
 */
public final class NodePlanner {

  /** The cluster as the agent's caches see it. */
  public interface View {
    List<PortForward> portForwards();

    Optional<Service> service(String namespace, String name);

    List<EndpointSlice> endpointSlices(String namespace, String service);

    /**
     * The slices the operator published for a PortForward ({@link ForwardSlices}): the backends
     * of its pods targets and its sidecar evidence, so that the agent never watches Pods.
     */
    List<EndpointSlice> forwardSlices(String namespace, String portForward);
  }

  /**
   * What the cluster admin allows on this node (the agent's settings).
   *
   * @param controlPlaneNodes whether a control-plane node carries forwards at all
   * @param targetDenylist ranges no backend may be in, on top of the built-in ones, the API
   *     server's addresses and (unless {@code nodeAddressTargets}) this node's own addresses
   * @param nodeAddressTargets whether a backend may be one of this node's own addresses
   */
  public record Policy(boolean controlPlaneNodes, List<DeniedRange> targetDenylist, boolean nodeAddressTargets) {
    /** Nothing opened: the defaults of the agent's settings. */
    public static final Policy DEFAULT = new Policy(false, List.of(), false);
  }

  /**
   * What this node's kernel can do beyond plain DNAT, found out by the agent at start.
   *
   * @param ftpHelper whether it has the FTP connection-tracking and NAT helpers (nf_conntrack_ftp,
   *     nf_nat_ftp), which applicationProtocol FTP needs
   */
  public record Kernel(boolean ftpHelper) {
    /** A kernel with every helper: Debian's and every major distribution's. */
    public static final Kernel COMPLETE = new Kernel(true);
  }

  /**
   * What to program, and the report of every forward this node should carry: programmed when it
   * is among {@code forwards} (and the transaction succeeds), otherwise with the reason it is not;
   * and the gateway mappings this node holds.
   */
  public record Plan(List<NodeForward> forwards, List<ForwardReport> report, List<GatewayWish> gateway) {}

  /** A lease shorter than this is asked for as this long: renewing every few seconds only loads the gateway. */
  static final Duration MIN_LEASE = Duration.ofSeconds(10);
  private static final int MAX_DESCRIPTION = 64;

  /** Who keeps a dispatch key that several forwards want, as operator/policy/PortClaims orders claims. */
  private static final Comparator<PortForward> PRECEDENCE =
      Comparator.comparing((PortForward pf) -> Objects.requireNonNullElse(pf.getMetadata().getCreationTimestamp(), ""))
          .thenComparing(pf -> pf.getMetadata().getNamespace())
          .thenComparing(pf -> pf.getMetadata().getName());

  /** What selects a forward in the node's dispatch maps; addresses compare as addresses, never as text. */
  private record DispatchKey(Protocol protocol, InetAddress address, int port) {}

  private NodePlanner() {}

  /** The first plan for a node whose kernel has every helper. */
  public static Plan plan(Node node, View view, Policy policy) {
    return plan(node, view, policy, Kernel.COMPLETE, List.of());
  }

  /**
   * @param carried what this node programmed last: a forward edited while the operator has not
   *     judged the new generation yet (an operator outage, or the moments before it reconciles) is
   *     kept as it was, so an edit never takes a working forward offline before it is accepted
   */
  public static Plan plan(Node node, View view, Policy policy, Kernel kernel, List<NodeForward> carried) {
    Map<String, NodeForward> carriedById = carried.stream()
        .collect(Collectors.toMap(NodeForward::id, f -> f, (a, b) -> a));
    List<InetAddress> nodeAddresses = Optional.ofNullable(node.getStatus())
        .map(s -> s.getAddresses()).orElse(List.of()).stream()
        .filter(a -> "InternalIP".equals(a.getType()) || "ExternalIP".equals(a.getType()))
        .map(NodeAddress::getAddress)
        .map(NetUtil::createInetAddressFromIpAddressString)
        .filter(Objects::nonNull)
        .distinct()
        .toList();
    List<DeniedRange> denied = denylist(nodeAddresses, view, policy);

    List<NodeForward> forwards = new ArrayList<>();
    List<ForwardReport> report = new ArrayList<>();
    List<GatewayWish> gateway = new ArrayList<>();
    Map<DispatchKey, String> holders = new HashMap<>();
    // Only this node's forwards are ordered: a cluster's forwards are many, a node's few.
    List<PortForward> here = view.portForwards().stream()
        .filter(pf -> kept(pf, carriedById) != null || carries(pf, node, policy))
        .sorted(PRECEDENCE)
        .toList();
    for (PortForward pf : here) {
      PortForwardSpec spec = pf.getSpec();
      NodeForward kept = kept(pf, carriedById);
      if (kept != null) {
        keep(kept, holders, forwards, report);
        continue;
      }
      boolean restricted = spec.getListen().getAddresses() != null && !spec.getListen().getAddresses().isEmpty();
      List<InetAddress> restrictedTo = listenAddresses(spec, nodeAddresses);
      List<InetAddress> listen = restricted ? restrictedTo : nodeAddresses;
      String id = pf.getMetadata().getNamespace() + "/" + pf.getMetadata().getName();
      ForwardReport entry = new ForwardReport();
      entry.setNamespace(pf.getMetadata().getNamespace());
      entry.setName(pf.getMetadata().getName());
      entry.setGeneration(pf.getMetadata().getGeneration());
      entry.setAddresses(listen.stream().map(NetUtil::toAddressString).toList());
      report.add(entry);
      if (listen.isEmpty()) {
        entry.setMessage(restricted
            ? "none of listen.addresses " + spec.getListen().getAddresses() + " is an address of this node"
            : "this node's status lists no InternalIP or ExternalIP address to listen on");
        continue;
      }
      if (spec.getApplicationProtocol() == ApplicationProtocol.FTP && !kernel.ftpHelper()) {
        entry.setMessage("this node's kernel has no FTP connection-tracking helper (nf_conntrack_ftp and nf_nat_ftp),"
            + " which applicationProtocol FTP needs: load those modules, or select nodes that have them");
        continue;
      }
      List<DispatchKey> keys = listen.stream()
          .map(address -> new DispatchKey(spec.getProtocol(), address, spec.getListen().getPort())).toList();
      Optional<DispatchKey> taken = keys.stream().filter(holders::containsKey).findFirst();
      if (taken.isPresent()) {
        entry.setMessage("listen " + spec.getProtocol() + " port " + taken.get().port() + " on "
            + NetUtil.toAddressString(taken.get().address()) + " is held by PortForward " + holders.get(taken.get())
            + ", which takes precedence (older creationTimestamp, then namespace/name)");
        continue;
      }
      // Held whatever becomes of the backends: who owns a key must not flip with endpoint readiness.
      keys.forEach(key -> holders.put(key, id));
      try {
        String ns = pf.getMetadata().getNamespace();
        List<SourceRoute> routes = new ArrayList<>();
        List<TargetEndpoints.Endpoint> endpoints = new ArrayList<>();
        List<Weighted> defaults;
        if (relayMode(spec) == RelayMode.Deployment || relayMode(spec) == RelayMode.Socks5) {
          // The relay pods dial the target; this node only takes clients to the ready ones.
          defaults = evenly(serviceBackends(view, ns, RelayNames.service(pf), RelayNames.RELAY_PORT));
        } else {
          List<Route> specRoutes = Optional.ofNullable(spec.getRoutes()).orElse(List.of());
          for (int i = 0; i < specRoutes.size(); i++) {
            Route route = specRoutes.get(i);
            List<Weighted> routed = backends(view, pf, route.getTarget(), ForwardSlices.route(i));
            routed.forEach(w -> endpoints.add(w.endpoint()));
            routes.add(new SourceRoute(cidrs(route.getSourceRanges()), asBackends(routed)));
          }
          defaults = withSidecar(view, pf, backends(view, pf, spec.getTarget(), ForwardSlices.TARGET));
        }
        defaults.forEach(w -> endpoints.add(w.endpoint()));
        List<Backend> backends = asBackends(defaults);
        checkAllowed(backends, routes, denied);
        forwards.add(new NodeForward(ns, pf.getMetadata().getName(), pf.getMetadata().getGeneration(),
            spec.getProtocol(), listen, spec.getListen().getPort(), cidrs(spec.getSourceRanges()), routes, backends,
            limits(spec), spec.getApplicationProtocol(), elsewhere(endpoints, node.getMetadata().getName())));
        entry.setProgrammed(true);
        if (spec.getGateway() != null && holdsMapping(pf, node.getMetadata().getName())) {
          gateway.add(gatewayWish(pf, restrictedTo));
        }
      } catch (IllegalArgumentException unusable) {
        entry.setMessage(unusable.getMessage());
      }
    }
    return new Plan(forwards, report, gateway);
  }

  /** What this node carries of a forward whose new generation awaits judgement; null for any other. */
  private static NodeForward kept(PortForward pf, Map<String, NodeForward> carriedById) {
    return awaitingJudgement(pf)
        ? carriedById.get(pf.getMetadata().getNamespace() + "/" + pf.getMetadata().getName()) : null;
  }

  /** Whether the forward, accepted for its generation, is programmed on this node. */
  private static boolean carries(PortForward pf, Node node, Policy policy) {
    return Conditions.isAccepted(pf) && isProgrammedHere(pf.getSpec())
        && NodeSelection.selects(pf.getSpec().getListen().getNodeSelector(), node, policy.controlPlaneNodes());
  }

  /**
   * Whether the operator accepted an earlier generation and has not judged this one yet: the node
   * keeps what it carries for it until then.
   */
  private static boolean awaitingJudgement(PortForward pf) {
    Long observed = pf.getStatus() == null ? null : pf.getStatus().getObservedGeneration();
    return pf.getMetadata().getDeletionTimestamp() == null
        && observed != null && pf.getMetadata().getGeneration() != null
        && observed < pf.getMetadata().getGeneration()
        && pf.getStatus().getConditions().stream()
            .anyMatch(c -> Conditions.ACCEPTED.equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** Keeps a carried forward as it is, reported at the generation it was programmed for. */
  private static void keep(NodeForward kept, Map<DispatchKey, String> holders, List<NodeForward> forwards,
      List<ForwardReport> report) {
    ForwardReport entry = new ForwardReport();
    entry.setNamespace(kept.namespace());
    entry.setName(kept.name());
    entry.setGeneration(kept.generation());
    entry.setAddresses(kept.listenAddresses().stream().map(NetUtil::toAddressString).toList());
    report.add(entry);
    List<DispatchKey> keys = kept.listenAddresses().stream()
        .map(address -> new DispatchKey(kept.protocol(), address, kept.port())).toList();
    Optional<DispatchKey> taken = keys.stream().filter(holders::containsKey).findFirst();
    if (taken.isPresent()) {
      entry.setMessage("listen " + kept.protocol() + " port " + kept.port() + " on "
          + NetUtil.toAddressString(taken.get().address()) + " is held by PortForward " + holders.get(taken.get()));
      return;
    }
    keys.forEach(key -> holders.put(key, kept.id()));
    forwards.add(kept);
    entry.setProgrammed(true);
  }

  /**
   * Where no backend may lead, re-checked here whatever the operator decided: the operator judged
   * the forward when it was accepted, but EndpointSlices (which a tenant can write for a
   * selectorless Service) and pod addresses change afterwards without it judging again.
   */
  private static List<DeniedRange> denylist(List<InetAddress> nodeAddresses, View view, Policy policy) {
    List<DeniedRange> denied = new ArrayList<>(DeniedRange.ALWAYS);
    denied.addAll(policy.targetDenylist());
    // The default/kubernetes Service is the API server: its cluster IPs, and its endpoints, ready or not.
    Optional<Service> kubernetes = view.service("default", "kubernetes");
    kubernetes.map(s -> Optional.ofNullable(s.getSpec().getClusterIPs()).orElse(List.of())).orElse(List.of())
        .forEach(ip -> host(ip, "the API server (a cluster IP of Service default/kubernetes)").ifPresent(denied::add));
    view.endpointSlices("default", "kubernetes").stream()
        .flatMap(slice -> Optional.ofNullable(slice.getEndpoints()).orElse(List.of()).stream())
        .flatMap(endpoint -> Optional.ofNullable(endpoint.getAddresses()).orElse(List.of()).stream())
        .forEach(ip -> host(ip, "the API server (an endpoint of Service default/kubernetes)").ifPresent(denied::add));
    if (!policy.nodeAddressTargets()) {
      nodeAddresses.forEach(a -> denied.add(new DeniedRange(new Cidr(a, a.getAddress().length * 8),
          "an address of this node, where the node's own services listen (allowed only with the agent setting"
              + " portforward.agent.node-address-targets, chart value policy.nodeAddressTargets)")));
    }
    return denied;
  }

  private static Optional<DeniedRange> host(String ip, String why) {
    return Optional.ofNullable(NetUtil.createInetAddressFromIpAddressString(ip))
        .map(a -> new DeniedRange(new Cidr(a, a.getAddress().length * 8), why));
  }

  /**
   * Refuses the whole forward when any of its backends is denied, rather than programming the
   * others: a denied backend is a sign that someone steers the forward (a tenant-written
   * EndpointSlice), the operator refuses such a forward as a whole too, and a forward that works
   * for some connections only would hide the refusal from its owner.
   */
  private static void checkAllowed(List<Backend> backends, List<SourceRoute> routes, List<DeniedRange> denied) {
    List<Backend> all = new ArrayList<>(backends);
    routes.forEach(route -> all.addAll(route.backends()));
    for (Backend backend : all) {
      for (DeniedRange range : denied) {
        if (range.contains(backend.address())) {
          throw new IllegalArgumentException("backend " + NetUtil.toAddressString(backend.address()) + " is refused: it is "
              + range.why() + "; the forward stays unprogrammed while any backend is refused");
        }
      }
    }
  }

  /**
   * A gateway maps an external port to one host, so one node holds a forward's mapping: the first
   * by name of those the operator reports the forward programmed on. Every agent reads the same
   * status, so they agree without talking to each other; until a node is reported programmed,
   * none maps. While no node is (a new generation that no agent has reported yet), the node the
   * status says holds the mapping keeps it, so that editing a forward does not drop its mapping.
   */
  static boolean holdsMapping(PortForward pf, String node) {
    if (pf.getStatus() == null) {
      return false;
    }
    Optional<String> first = MappingHolder.of(pf.getStatus().getNodes());
    return first.isPresent() ? first.get().equals(node)
        : pf.getStatus().getExternalEndpoints().stream().anyMatch(e -> node.equals(e.getNode()));
  }

  private static GatewayWish gatewayWish(PortForward pf, List<InetAddress> listen) {
    PortForwardSpec spec = pf.getSpec();
    Gateway gateway = spec.getGateway();
    Duration lease = Durations.parse(gateway.getLease());
    String id = pf.getMetadata().getNamespace() + "/" + pf.getMetadata().getName();
    String description = "portforward " + id;
    MappingRequest request = new MappingRequest(
        Transport.valueOf(spec.getProtocol().name()),
        spec.getListen().getPort(),
        Optional.ofNullable(gateway.getExternalPort()).orElse(spec.getListen().getPort()),
        lease.compareTo(MIN_LEASE) < 0 ? MIN_LEASE : lease,
        description.length() > MAX_DESCRIPTION ? description.substring(0, MAX_DESCRIPTION) : description);
    Optional<Method> method = switch (gateway.getProtocol()) {
      case Auto -> Optional.empty();
      case PCP -> Optional.of(Method.PCP);
      case NATPMP -> Optional.of(Method.NATPMP);
      case UPnP -> Optional.of(Method.UPNP);
    };
    return new GatewayWish(id, method, request, listen);
  }

  /**
   * With relay.mode Sidecar, only pods that carry this forward's sidecar have a listener on the
   * pod address; packets sent to any other pod would reach nothing.
   */
  private static List<Weighted> withSidecar(View view, PortForward pf, List<Weighted> backends) {
    if (relayMode(pf.getSpec()) != RelayMode.Sidecar) {
      return backends;
    }
    Set<InetAddress> carrying = ForwardSlices.endpoints(forwardSlices(view, pf), ForwardSlices.SIDECARS).stream()
        .map(TargetEndpoints.Endpoint::address).collect(Collectors.toSet());
    return backends.stream().filter(b -> carrying.contains(b.endpoint().address())).toList();
  }

  /**
   * The backends known to run on another node (the nodeName of their EndpointSlice endpoint, a
   * Service's or one the operator published for a pods target, names another node). A backend
   * there would answer the client directly, past this node, whose conntrack alone can undo the
   * DNAT, and the client would drop the answer; so connections to them are masqueraded to this
   * node's address, as kube-proxy does for a NodePort with externalTrafficPolicy Cluster. A
   * backend whose node is unknown (an external target, an endpoint without nodeName) keeps the
   * client's address.
   */
  private static List<InetAddress> elsewhere(List<TargetEndpoints.Endpoint> endpoints, String node) {
    return endpoints.stream()
        .filter(e -> e.nodeName() != null && !e.nodeName().equals(node))
        .map(TargetEndpoints.Endpoint::address)
        .distinct()
        .sorted(Comparator.comparing(NetUtil::toAddressString))
        .toList();
  }

  /** A ready endpoint and its slots of the target's traffic ({@link WeightedShares}; 1 when unweighted). */
  private record Weighted(TargetEndpoints.Endpoint endpoint, int slots) {}

  /**
   * One backend per address and port: an endpoint that two Services of target.services share
   * gets the slots of both.
   */
  private static List<Backend> asBackends(List<Weighted> weighted) {
    Map<Backend, Integer> slots = new LinkedHashMap<>();
    weighted.forEach(w -> slots.merge(new Backend(w.endpoint().address(), w.endpoint().port()), w.slots(), Integer::sum));
    return slots.entrySet().stream()
        .map(e -> new Backend(e.getKey().address(), e.getKey().port(), e.getValue()))
        .toList();
  }

  /** Each endpoint once (by address and port), with one slot each: connections spread evenly. */
  private static List<Weighted> evenly(List<TargetEndpoints.Endpoint> endpoints) {
    Set<Backend> seen = new HashSet<>();
    return endpoints.stream()
        .filter(e -> seen.add(new Backend(e.address(), e.port())))
        .map(e -> new Weighted(e, 1))
        .toList();
  }

  /**
   * target.services: each Service's weight shared among its ready endpoints; a Service that is
   * missing, lacks the port or has no ready endpoint takes no share, and one with weight 0 gets no
   * slot at all, so that it is not even a backend. Every endpoint that gets a slot is checked
   * against the denylist with the rest.
   */
  private static List<Weighted> weightedServices(View view, String namespace, List<WeightedService> services) {
    List<List<Weighted>> perService = services.stream()
        .map(s -> evenly(serviceBackends(view, namespace, s.getName(), s.getPort())))
        .toList();
    List<int[]> slots = WeightedShares.slots(IntStream.range(0, services.size())
        .mapToObj(i -> new WeightedShares.Group(services.get(i).getWeight(), perService.get(i).size()))
        .toList());
    List<Weighted> weighted = new ArrayList<>();
    for (int i = 0; i < services.size(); i++) {
      List<Weighted> endpoints = perService.get(i);
      for (int e = 0; e < endpoints.size(); e++) {
        if (slots.get(i)[e] > 0) {
          weighted.add(new Weighted(endpoints.get(e).endpoint(), slots.get(i)[e]));
        }
      }
    }
    return weighted;
  }

  /**
   * Kernel forwards to the target (also for sidecars, which listen on the target pods' own
   * addresses), and forwards to relay Deployments (Deployment, Socks5).
   */
  private static boolean isProgrammedHere(PortForwardSpec spec) {
    return switch (relayMode(spec)) {
      case None, Sidecar -> spec.getTarget() != null;
      case Deployment, Socks5 -> true;
    };
  }

  /**
   * The kernel counts open connections only where no relay does (mode None); the per-source rate
   * holds here in every mode, because every client's first packet passes this node's DNAT.
   */
  private static NodeForward.Limits limits(PortForwardSpec spec) {
    if (spec.getRelay() == null) {
      return NodeForward.Limits.NONE;
    }
    int max = relayMode(spec) == RelayMode.None ? Optional.ofNullable(spec.getRelay().getMaxConnections()).orElse(0) : 0;
    return new NodeForward.Limits(max, Optional.ofNullable(spec.getRelay().getMaxConnectionsPerSecondPerSource()).orElse(0));
  }

  private static RelayMode relayMode(PortForwardSpec spec) {
    return spec.getRelay() == null ? RelayMode.None : spec.getRelay().getMode();
  }

  private static List<InetAddress> listenAddresses(PortForwardSpec spec, List<InetAddress> nodeAddresses) {
    return Optional.ofNullable(spec.getListen().getAddresses()).orElse(List.of()).stream()
        // The CRD admits addresses only (isIP); should a spelling still not parse here, it is
        // simply not one of this node's, rather than an error that stops every forward.
        .map(NetUtil::createInetAddressFromIpAddressString)
        .filter(nodeAddresses::contains)
        .distinct()
        .toList();
  }

  /** {@code resolves}: which of the forward's published slices hold the target's pods ({@link ForwardSlices}). */
  private static List<Weighted> backends(View view, PortForward pf, Target target, String resolves) {
    String namespace = pf.getMetadata().getNamespace();
    if (target.getServices() != null) {
      return weightedServices(view, namespace, target.getServices());
    }
    List<TargetEndpoints.Endpoint> backends;
    if (target.getService() != null) {
      backends = serviceBackends(view, namespace, target.getService().getName(), target.getService().getPort());
    } else if (target.getPods() != null) {
      backends = ready(ForwardSlices.endpoints(forwardSlices(view, pf), resolves));
    } else {
      String host = target.getExternal().getHost();
      if (NetUtil.createInetAddressFromIpAddressString(host) == null) {
        throw new IllegalArgumentException("external host " + host + " is a name; kernel forwards need an address");
      }
      backends = List.of(new TargetEndpoints.Endpoint(Cidr.parseAddress(host), target.getExternal().getPort(), true));
    }
    return evenly(backends);
  }

  private static List<EndpointSlice> forwardSlices(View view, PortForward pf) {
    String label = ForwardSlices.forwardLabel(pf.getMetadata().getName());
    return view.forwardSlices(pf.getMetadata().getNamespace(), label).stream()
        .filter(slice -> ForwardSlices.publishedFor(slice, label))
        .toList();
  }

  private static List<TargetEndpoints.Endpoint> serviceBackends(View view, String namespace, String name, int port) {
    return view.service(namespace, name)
        .flatMap(s -> s.getSpec().getPorts().stream().filter(p -> p.getPort() == port).findFirst())
        .map(servicePort -> ready(TargetEndpoints.ofServicePort(servicePort, view.endpointSlices(namespace, name))))
        .orElse(List.of());
  }

  /** Only ready endpoints take new connections; one address behind several slices counts once. */
  private static List<TargetEndpoints.Endpoint> ready(List<TargetEndpoints.Endpoint> endpoints) {
    return endpoints.stream()
        .filter(TargetEndpoints.Endpoint::ready)
        .distinct()
        .toList();
  }

  private static List<Cidr> cidrs(List<String> values) {
    return Optional.ofNullable(values).orElse(List.of()).stream().map(Cidr::parse).toList();
  }
}
