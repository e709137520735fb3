package dev.portforward.operator.policy;

import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.PortForwardPolicySpec;
import dev.portforward.api.v1alpha1.PortRange;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.common.Cidr;
import dev.portforward.operator.OperatorConfig;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What one policy lets a namespace's PortForwards ask for, and where it comes from: the operator's
 * settings (the default) or a PortForwardPolicy. The target denylist is not a grant: it belongs to
 * the operator and applies whichever policy grants.
 *
 * @param policyName the PortForwardPolicy's name; empty for the operator's default policy
 * @param gatewayPorts external ports gateway mapping may ask for; empty list: no gateway mapping
 */
record Grants(
    Optional<String> policyName,
    List<PortRange> listenPorts,
    Set<RelayMode> relayModes,
    List<Cidr> externalCidrs,
    List<String> externalHosts,
    List<PortRange> gatewayPorts,
    OptionalInt maxForwards) {

  static final int FIRST_UNPRIVILEGED_PORT = 1024;
  static final PortRange UNPRIVILEGED = new PortRange(FIRST_UNPRIVILEGED_PORT, 65535);
  static final Set<RelayMode> WITHOUT_SOCKS5 = EnumSet.of(RelayMode.None, RelayMode.Sidecar, RelayMode.Deployment);

  Grants {
    listenPorts = List.copyOf(listenPorts);
    relayModes = Set.copyOf(relayModes);
    externalCidrs = List.copyOf(externalCidrs);
    externalHosts = List.copyOf(externalHosts);
    gatewayPorts = List.copyOf(gatewayPorts);
  }

  /** The default policy's grants, from settings that {@link ForwardPolicy#from} checked. */
  static Grants fromSettings(OperatorConfig.Policy settings, List<Cidr> externalCidrs) {
    int min = settings.listenPortMin();
    int max = settings.listenPortMax();
    int lowest = settings.privilegedPorts() ? min : Math.max(min, FIRST_UNPRIVILEGED_PORT);
    Set<RelayMode> modes = EnumSet.copyOf(WITHOUT_SOCKS5);
    if (settings.socks5()) {
      modes.add(RelayMode.Socks5);
    }
    return new Grants(
        Optional.empty(),
        lowest <= max ? List.of(new PortRange(lowest, max)) : List.of(),
        modes,
        settings.externalTargets() ? externalCidrs : List.of(),
        List.of(),
        settings.gatewayMapping() ? List.of(new PortRange(1, 65535)) : List.of(),
        OptionalInt.empty());
  }

  /**
   * A PortForwardPolicy's grants; an unset field grants what its description says. A CIDR this
   * code cannot parse grants nothing: an odd entry narrows, never widens.
   */
  static Grants of(PortForwardPolicy policy) {
    PortForwardPolicySpec spec = policy.getSpec();
    List<Cidr> cidrs = new ArrayList<>();
    List<String> hosts = List.of();
    if (spec.getExternalTargets() != null) {
      for (String cidr : orEmpty(spec.getExternalTargets().getCidrs())) {
        try {
          cidrs.add(Cidr.parse(cidr.trim()));
        } catch (IllegalArgumentException e) {
          // The CRD admits only what isCIDR accepts, so this is not expected; skipped, see above.
        }
      }
      hosts = orEmpty(spec.getExternalTargets().getHosts());
    }
    return new Grants(
        Optional.of(policy.getMetadata().getName()),
        spec.getListenPorts() == null ? List.of(UNPRIVILEGED) : spec.getListenPorts(),
        spec.getRelayModes() == null ? WITHOUT_SOCKS5 : Set.copyOf(spec.getRelayModes()),
        cidrs,
        hosts,
        spec.getGateway() == null ? List.of() : orEmpty(spec.getGateway().getExternalPorts()),
        spec.getMaxForwards() == null ? OptionalInt.empty() : OptionalInt.of(spec.getMaxForwards()));
  }

  /** Who grants, for messages: "PortForwardPolicy team-a" or "the operator's default policy". */
  String describe() {
    return policyName.map(name -> "PortForwardPolicy " + name).orElse("the operator's default policy");
  }

  boolean listenPortGranted(int port) {
    return listenPorts.stream().anyMatch(r -> r.contains(port));
  }

  boolean anyPrivilegedPortGranted() {
    return listenPorts.stream().anyMatch(r -> r.getFrom() < FIRST_UNPRIVILEGED_PORT);
  }

  boolean externalTargetsGranted() {
    return !externalCidrs.isEmpty() || !externalHosts.isEmpty();
  }

  /** Whether a host name is granted by name: listed, or under a listed "*.domain". */
  boolean hostGranted(String host) {
    return externalHosts.stream().anyMatch(granted -> granted.startsWith("*.")
        ? host.endsWith(granted.substring(1))
        : granted.equals(host));
  }

  static String ranges(List<PortRange> ranges) {
    return ranges.isEmpty() ? "none" : ranges.stream().map(PortRange::toString).collect(Collectors.joining(", "));
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
