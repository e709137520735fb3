package dev.portforward.operator.policy;

import dev.portforward.operator.OperatorConfig;
import java.util.List;
import java.util.Optional;

/** Policy settings for unit tests, as the operator would read them from its configuration. */
record Settings(
    int listenPortMin,
    int listenPortMax,
    boolean privilegedPorts,
    boolean externalTargets,
    Optional<List<String>> externalTargetCidrs,
    Optional<List<String>> targetDenylist,
    boolean socks5,
    boolean gatewayMapping)
    implements OperatorConfig.Policy {

  static Settings defaults() {
    return new Settings(1, 65535, false, false, Optional.empty(), Optional.empty(), false, false);
  }

  Settings withExternal(String... cidrs) {
    return new Settings(listenPortMin, listenPortMax, privilegedPorts, true, Optional.of(List.of(cidrs)),
        targetDenylist, socks5, gatewayMapping);
  }

  Settings withPorts(int min, int max) {
    return new Settings(min, max, privilegedPorts, externalTargets, externalTargetCidrs, targetDenylist, socks5,
        gatewayMapping);
  }

  Settings withDenylist(String... cidrs) {
    return new Settings(listenPortMin, listenPortMax, privilegedPorts, externalTargets, externalTargetCidrs,
        Optional.of(List.of(cidrs)), socks5, gatewayMapping);
  }

  @Override
  public boolean controlPlaneNodes() {
    return false;
  }

  @Override
  public boolean nodeAddressTargets() {
    return false;
  }
}
