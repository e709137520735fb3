package dev.portforward.gateway;

import java.time.Duration;

/**
 * A mapping to ask for: the gateway's {@code externalPort} to this host's {@code internalPort}.
 * The internal address is never part of a request: it is always the address this host uses
 * toward the gateway, so a mapping can only ever lead to the host that asked for it.
 *
 * @param description what the mapping is for, shown in a UPnP gateway's list of mappings
 */
public record MappingRequest(
    Transport transport, int internalPort, int externalPort, Duration lease, String description) {

  public MappingRequest {
    if (internalPort < 1 || internalPort > 65535 || externalPort < 1 || externalPort > 65535) {
      throw new IllegalArgumentException("ports must be 1-65535");
    }
    if (lease.toSeconds() < 1 || lease.toSeconds() > 0xffffffffL) {
      throw new IllegalArgumentException("lease must be at least one second");
    }
  }
}
