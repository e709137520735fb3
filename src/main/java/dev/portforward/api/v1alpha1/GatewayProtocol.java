package dev.portforward.api.v1alpha1;

/** Protocol used to ask a home or office gateway for a port mapping. */
public enum GatewayProtocol {
  /** Try PCP, then NAT-PMP, then UPnP IGD. */
  Auto,
  UPnP,
  NATPMP,
  PCP
}
