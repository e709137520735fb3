package dev.portforward.operator.relays;

import dev.portforward.api.v1alpha1.PortForward;

/** Names of the objects the operator keeps for a PortForward's relays. */
public final class RelayNames {

  private RelayNames() {}

  /** The ConfigMap holding the relay config of {@code pf} (key {@code relay.yaml}). */
  public static String configMap(PortForward pf) {
    return "portforward-relay-" + pf.getMetadata().getName();
  }
}
