package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Route;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import dev.portforward.common.DeniedRange;
import dev.portforward.operator.OperatorConfig;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The rules a PortForward must follow: what its namespace's policy grants (the operator's default
 * policy from its settings, or the PortForwardPolicy that selects the namespace), within the
 * operator-wide target denylist, which the caller extends with the cluster's own facts (API server,
 * node addresses). Pure: built from settings and policies, then asked about specs and addresses; it
 * never looks anything up itself. Every refusal of a grant names the policy.
 */
public final class ForwardPolicy {

  /** {@link #name()} of the operator's default policy; no PortForwardPolicy may take this name. */
  public static final String DEFAULT_NAME = "default";

  private final Grants grants;
  private final List<DeniedRange> denylist;
  private final boolean nodeAddressTargets;

  private ForwardPolicy(Grants grants, List<DeniedRange> denylist, boolean nodeAddressTargets) {
    this.grants = grants;
    this.denylist = denylist;
    this.nodeAddressTargets = nodeAddressTargets;
  }

  /**
   * Checks the settings and builds the default policy.
   *
   * @throws IllegalArgumentException naming the setting that is wrong
   */
  public static ForwardPolicy from(OperatorConfig.Policy settings) {
    int min = settings.listenPortMin();
    int max = settings.listenPortMax();
    if (min < 1 || max > 65535 || min > max) {
      throw new IllegalArgumentException(
          "portforward.policy.listen-port-min/max must satisfy 1 <= min <= max <= 65535, got "
              + min + "-" + max);
    }
    List<Cidr> external =
        parseAll("portforward.policy.external-target-cidrs", settings.externalTargetCidrs());
    if (settings.externalTargets() && external.isEmpty()) {
      throw new IllegalArgumentException(
          "portforward.policy.external-target-cidrs must list at least one CIDR when"
              + " portforward.policy.external-targets=true");
    }
    List<DeniedRange> denylist = new ArrayList<>(DeniedRange.ALWAYS);
    parseAll("portforward.policy.target-denylist", settings.targetDenylist())
        .forEach(cidr -> denylist.add(new DeniedRange(cidr, "in the operator's target denylist")));
    return new ForwardPolicy(
        Grants.fromSettings(settings, external), List.copyOf(denylist), settings.nodeAddressTargets());
  }

  /** What {@code policy} grants, within this policy's denylist (the operator's). */
  public ForwardPolicy grantedBy(PortForwardPolicy policy) {
    return new ForwardPolicy(Grants.of(policy), denylist, nodeAddressTargets);
  }

  /** The same policy, also denying the API server's own addresses. */
  public ForwardPolicy denyingApiServer(List<InetAddress> apiServerAddresses) {
    List<DeniedRange> more = new ArrayList<>(denylist);
    apiServerAddresses.forEach(
        a -> more.add(new DeniedRange(new Cidr(a, a.getAddress().length * 8), "the API server")));
    return new ForwardPolicy(grants, List.copyOf(more), nodeAddressTargets);
  }

  /**
   * The same policy, also denying every node's addresses (InternalIP, ExternalIP, and any other
   * address given as an IP), unless the settings allow node addresses as targets: a Service or
   * EndpointSlice a tenant writes could otherwise lead to a service only the node should reach.
   */
  public ForwardPolicy denyingNodes(List<Node> nodes) {
    if (nodeAddressTargets) {
      return this;
    }
    List<DeniedRange> more = new ArrayList<>(denylist);
    nodes.stream()
        .sorted(Comparator.comparing(n -> n.getMetadata().getName()))
        .forEach(node -> Optional.ofNullable(node.getStatus()).map(NodeStatus::getAddresses).orElse(List.of()).stream()
            .map(a -> NetUtil.createInetAddressFromIpAddressString(a.getAddress()))
            .filter(Objects::nonNull)
            .distinct()
            .forEach(a -> more.add(new DeniedRange(new Cidr(a, a.getAddress().length * 8),
                "the address of node " + node.getMetadata().getName()))));
    return new ForwardPolicy(grants, List.copyOf(more), nodeAddressTargets);
  }

  /** The PortForwardPolicy's name, or {@link #DEFAULT_NAME}: what status.policy shows. */
  public String name() {
    return grants.policyName().orElse(DEFAULT_NAME);
  }

  /** Who grants, for messages: "PortForwardPolicy team-a" or "the operator's default policy". */
  public String describe() {
    return grants.describe();
  }

  /** The most PortForwards a namespace under this policy may have; empty for no limit. */
  public OptionalInt maxForwards() {
    return grants.maxForwards();
  }

  /** Checks what the spec alone tells: ports, modes, gateway, and external targets given as addresses. */
  public Optional<Refusal> check(PortForwardSpec spec) {
    int port = spec.getListen().getPort();
    if (!grants.listenPortGranted(port)) {
      if (port < Grants.FIRST_UNPRIVILEGED_PORT && !grants.anyPrivilegedPortGranted()) {
        return refuse(
            Reason.PRIVILEGED_PORT_NOT_ALLOWED,
            "listen.port " + port + " is privileged (below 1024) and " + describe()
                + " does not allow privileged ports; use a port from 1024 up or ask an administrator to"
                + " grant it (" + where("privileged-ports=true", "listenPorts") + ")");
      }
      return refuse(
          Reason.PORT_NOT_ALLOWED,
          "listen.port " + port + " is outside the ports " + describe() + " allows ("
              + Grants.ranges(grants.listenPorts()) + "; " + where("listen-port-min/max", "listenPorts") + ")");
    }
    RelayMode mode = spec.getRelay() == null ? RelayMode.None : spec.getRelay().getMode();
    if (!grants.relayModes().contains(mode)) {
      return refuse(
          Reason.MODE_NOT_ALLOWED,
          "relay.mode " + mode + " is not allowed by " + describe() + " (" + where("socks5=false", "relayModes")
              + (grants.policyName().isPresent() ? ": " + grants.relayModes().stream().sorted().map(Enum::name)
                  .collect(Collectors.joining(", ")) : "") + ")");
    }
    if (spec.getGateway() != null) {
      Optional<Refusal> gateway = checkGateway(spec);
      if (gateway.isPresent()) {
        return gateway;
      }
    }
    return targets(spec).map(this::checkExternal).flatMap(Optional::stream).findFirst();
  }

  /**
   * The CIDRs a SOCKS5 relay must never connect to besides its built-in ones: the configured
   * denylist and the API server, which a relay has no way to find itself.
   */
  public List<String> deniedDestinations() {
    return denylist.stream().filter(range -> !DeniedRange.ALWAYS.contains(range))
        .map(range -> range.cidr().toString()).toList();
  }

  /** Checks one address a target resolved to (an endpoint, or an external host's address). */
  public Optional<Refusal> checkAddress(InetAddress address, String what) {
    return denylist.stream()
        .filter(range -> range.contains(address))
        .findFirst()
        .map(
            range ->
                new Refusal(
                    Reason.TARGET_DENIED,
                    what + " resolves to " + NetUtil.toAddressString(address) + ", which is "
                        + range.why() + " (" + range.cidr() + "); no forward may lead there"));
  }

  /**
   * Checks an address an external target's host resolved to (or is): never in the denylist, and
   * in a granted CIDR unless the host is granted by name.
   */
  public Optional<Refusal> checkExternalAddress(String host, InetAddress address, String what) {
    Optional<Refusal> denied = checkAddress(address, what);
    if (denied.isPresent() || grants.hostGranted(host)) {
      return denied;
    }
    if (grants.externalCidrs().stream().noneMatch(c -> c.contains(address))) {
      return refuse(
          Reason.TARGET_DENIED,
          what + " resolves to " + NetUtil.toAddressString(address)
              + ", outside the CIDRs allowed for external targets " + grants.externalCidrs() + " by "
              + describe() + (grants.externalHosts().isEmpty() ? ""
                  : ", and " + host + " is not among its hosts " + grants.externalHosts()));
    }
    return Optional.empty();
  }

  private Optional<Refusal> checkGateway(PortForwardSpec spec) {
    if (grants.gatewayPorts().isEmpty()) {
      return refuse(
          Reason.MODE_NOT_ALLOWED,
          "spec.gateway is not allowed by " + describe() + " (" + where("gateway-mapping=false", "gateway")
              + (grants.policyName().isPresent() ? " is not set)" : ")"));
    }
    Integer asked = spec.getGateway().getExternalPort();
    int external = asked == null ? spec.getListen().getPort() : asked;
    if (grants.gatewayPorts().stream().noneMatch(r -> r.contains(external))) {
      return refuse(
          Reason.PORT_NOT_ALLOWED,
          (asked == null ? "spec.gateway asks for external port " + external + " (listen.port), which"
              : "spec.gateway.externalPort " + external)
              + " is outside the external ports " + describe() + " allows ("
              + Grants.ranges(grants.gatewayPorts()) + "; " + where("", "gateway.externalPorts") + ")");
    }
    return Optional.empty();
  }

  private Optional<Refusal> checkExternal(Target target) {
    if (target.getExternal() == null) {
      return Optional.empty();
    }
    String host = target.getExternal().getHost();
    if (!grants.externalTargetsGranted()) {
      return refuse(
          Reason.EXTERNAL_TARGET_NOT_ALLOWED,
          "external target " + host + " is not allowed: " + describe() + " allows no external targets ("
              + where("external-targets=false", "externalTargets")
              + (grants.policyName().isPresent() ? " is not set)" : ")"));
    }
    if (NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)) {
      return checkExternalAddress(host, Cidr.parseAddress(host), "external target " + host);
    }
    if (grants.externalCidrs().isEmpty() && !grants.hostGranted(host)) {
      return refuse(
          Reason.EXTERNAL_TARGET_NOT_ALLOWED,
          "external target " + host + " is not allowed: it is not among the hosts " + describe() + " allows "
              + grants.externalHosts() + " (" + where("", "externalTargets.hosts") + ")");
    }
    // Otherwise the name's addresses decide, once resolved: the spec alone cannot tell.
    return Optional.empty();
  }

  /** Where an admin changes a grant: the default policy's setting, or the PortForwardPolicy's field. */
  private String where(String setting, String field) {
    return grants.policyName().isPresent() ? "spec." + field : "portforward.policy." + setting;
  }

  /** spec.target and every route's target. */
  public static Stream<Target> targets(PortForwardSpec spec) {
    Stream<Target> routes =
        spec.getRoutes() == null ? Stream.empty() : spec.getRoutes().stream().map(Route::getTarget);
    return Stream.concat(Stream.ofNullable(spec.getTarget()), routes);
  }

  private static Optional<Refusal> refuse(String reason, String message) {
    return Optional.of(new Refusal(reason, message));
  }

  private static List<Cidr> parseAll(String key, Optional<List<String>> values) {
    List<Cidr> parsed = new ArrayList<>();
    List<String> list = values.orElse(List.of());
    for (int i = 0; i < list.size(); i++) {
      try {
        parsed.add(Cidr.parse(list.get(i).trim()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(key + "[" + i + "]: " + e.getMessage(), e);
      }
    }
    return List.copyOf(parsed);
  }
}
