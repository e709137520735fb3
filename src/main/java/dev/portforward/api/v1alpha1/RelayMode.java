package dev.portforward.api.v1alpha1;

/** How traffic is carried from the listen port to the target. */
public enum RelayMode {
  /** The node rewrites packets to the target's endpoints (DNAT); no process in the path. */
  None,
  /** DNAT to a relay container injected next to the target pods, which forwards to localhost. */
  Sidecar,
  /** DNAT to a relay Deployment that opens a new connection to the target (proxy forward). */
  Deployment,
  /** A SOCKS5 proxy: each connection chooses its destination within an allowlist. */
  Socks5
}
