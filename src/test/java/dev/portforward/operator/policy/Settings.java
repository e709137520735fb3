package dev.portforward.operator.policy;

import dev.portforward.operator.OperatorConfig;
import java.util.List;
import java.util.Optional;

/** Policy settings for unit tests, as the operator would read them from its configuration. */
public record Settings(
    int listenPortMin,
    int listenPortMax,
    boolean privilegedPorts,
    boolean externalTargets,
    Optional<List<String>> externalTargetCidrs,
    Optional<List<String>> targetDenylist,
    boolean socks5,
    boolean gatewayMapping,
    Optional<List<String>> reservedPorts,
    Optional<List<String>> unreservedPorts,
    String nodePortRange,
    boolean nodeAddressTargets)
    implements OperatorConfig.Policy {

  public static Settings defaults() {
    return new Settings(1, 65535, false, false, Optional.empty(), Optional.empty(), false, false,
        Optional.empty(), Optional.empty(), "30000-32767", false);
  }

  public Settings withExternal(String... cidrs) {
    return new Settings(listenPortMin, listenPortMax, privilegedPorts, true, Optional.of(List.of(cidrs)),
        targetDenylist, socks5, gatewayMapping, reservedPorts, unreservedPorts, nodePortRange, nodeAddressTargets);
  }

  public Settings withPorts(int min, int max) {
    return new Settings(min, max, privilegedPorts, externalTargets, externalTargetCidrs, targetDenylist, socks5,
        gatewayMapping, reservedPorts, unreservedPorts, nodePortRange, nodeAddressTargets);
  }

  public Settings withDenylist(String... cidrs) {
    return new Settings(listenPortMin, listenPortMax, privilegedPorts, externalTargets, externalTargetCidrs,
        Optional.of(List.of(cidrs)), socks5, gatewayMapping, reservedPorts, unreservedPorts, nodePortRange,
        nodeAddressTargets);
  }

  public Settings withPrivilegedPorts() {
    return new Settings(listenPortMin, listenPortMax, true, externalTargets, externalTargetCidrs, targetDenylist,
        socks5, gatewayMapping, reservedPorts, unreservedPorts, nodePortRange, nodeAddressTargets);
  }

  public Settings withReserved(List<String> reserved, List<String> unreserved, String nodePorts) {
    return new Settings(listenPortMin, listenPortMax, privilegedPorts, externalTargets, externalTargetCidrs,
        targetDenylist, socks5, gatewayMapping, Optional.of(reserved), Optional.of(unreserved), nodePorts,
        nodeAddressTargets);
  }

  public Settings withNodeAddressTargets() {
    return new Settings(listenPortMin, listenPortMax, privilegedPorts, externalTargets, externalTargetCidrs,
        targetDenylist, socks5, gatewayMapping, reservedPorts, unreservedPorts, nodePortRange, true);
  }

  @Override
  public boolean controlPlaneNodes() {
    return false;
  }
}
