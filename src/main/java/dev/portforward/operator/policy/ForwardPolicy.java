package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.Conditions.Reason;
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
import java.util.stream.Stream;

/**
 * The rules a PortForward must follow: allowed ports, modes and targets, and the denylist of
 * addresses no target may resolve to. Pure: built from the settings, extended with the cluster's
 * own facts (API server, node addresses) by the caller, then asked about specs and addresses; it
 * never looks anything up itself.
 */
public final class ForwardPolicy {

  static final int FIRST_UNPRIVILEGED_PORT = 1024;

  private final OperatorConfig.Policy settings;
  private final List<Cidr> externalTargetCidrs;
  private final List<DeniedRange> denylist;

  private ForwardPolicy(
      OperatorConfig.Policy settings, List<Cidr> externalTargetCidrs, List<DeniedRange> denylist) {
    this.settings = settings;
    this.externalTargetCidrs = externalTargetCidrs;
    this.denylist = denylist;
  }

  /**
   * Checks the settings and builds the policy.
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
    return new ForwardPolicy(settings, external, List.copyOf(denylist));
  }

  /** The same policy, also denying the API server's own addresses. */
  public ForwardPolicy denyingApiServer(List<InetAddress> apiServerAddresses) {
    List<DeniedRange> more = new ArrayList<>(denylist);
    apiServerAddresses.forEach(
        a -> more.add(new DeniedRange(new Cidr(a, a.getAddress().length * 8), "the API server")));
    return new ForwardPolicy(settings, externalTargetCidrs, List.copyOf(more));
  }

  /**
   * The same policy, also denying every node's addresses (InternalIP, ExternalIP, and any other
   * address given as an IP), unless the settings allow node addresses as targets: a Service or
   * EndpointSlice a tenant writes could otherwise lead to a service only the node should reach.
   */
  public ForwardPolicy denyingNodes(List<Node> nodes) {
    if (settings.nodeAddressTargets()) {
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
    return new ForwardPolicy(settings, externalTargetCidrs, List.copyOf(more));
  }

  /** Checks what the spec alone tells: ports, modes, and external targets given as addresses. */
  public Optional<Refusal> check(PortForwardSpec spec) {
    int port = spec.getListen().getPort();
    int listenPortMin = settings.listenPortMin();
    int listenPortMax = settings.listenPortMax();
    if (port < listenPortMin || port > listenPortMax) {
      return refuse(
          Reason.PORT_NOT_ALLOWED,
          "listen.port " + port + " is outside the range this operator allows ("
              + listenPortMin + "-" + listenPortMax + ")");
    }
    if (port < FIRST_UNPRIVILEGED_PORT && !settings.privilegedPorts()) {
      return refuse(
          Reason.PRIVILEGED_PORT_NOT_ALLOWED,
          "listen.port " + port + " is privileged (below 1024) and this operator does not allow"
              + " privileged ports; use a port from 1024 up or ask an administrator to set"
              + " portforward.policy.privileged-ports=true");
    }
    if (spec.getRelay() != null && spec.getRelay().getMode() == RelayMode.Socks5 && !settings.socks5()) {
      return refuse(
          Reason.MODE_NOT_ALLOWED,
          "relay.mode Socks5 is disabled in this operator (portforward.policy.socks5=false)");
    }
    if (spec.getGateway() != null && !settings.gatewayMapping()) {
      return refuse(
          Reason.MODE_NOT_ALLOWED,
          "spec.gateway is disabled in this operator (portforward.policy.gateway-mapping=false)");
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

  /** Checks an external host's resolved address against the allowed CIDRs and the denylist. */
  public Optional<Refusal> checkExternalAddress(InetAddress address, String what) {
    Optional<Refusal> denied = checkAddress(address, what);
    if (denied.isPresent()) {
      return denied;
    }
    if (externalTargetCidrs.stream().noneMatch(c -> c.contains(address))) {
      return refuse(
          Reason.TARGET_DENIED,
          what + " resolves to " + NetUtil.toAddressString(address)
              + ", outside the CIDRs allowed for external targets " + externalTargetCidrs);
    }
    return Optional.empty();
  }

  private Optional<Refusal> checkExternal(Target target) {
    if (target.getExternal() == null) {
      return Optional.empty();
    }
    String host = target.getExternal().getHost();
    if (!settings.externalTargets()) {
      return refuse(
          Reason.EXTERNAL_TARGET_NOT_ALLOWED,
          "external target " + host + " is not allowed: this operator does not allow external"
              + " targets (portforward.policy.external-targets=false)");
    }
    if (NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)) {
      return checkExternalAddress(Cidr.parseAddress(host), "external target " + host);
    }
    return Optional.empty();
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
