package dev.portforward.gateway;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Optional;

/**
 * A mapping a gateway granted.
 *
 * @param expiresAt when the gateway drops it unless renewed; empty for a permanent mapping (a
 *     UPnP gateway that only grants those), which must be deleted explicitly
 */
public record Mapping(
    Method method,
    Transport transport,
    InetAddress internalAddress,
    int internalPort,
    InetAddress externalAddress,
    int externalPort,
    Optional<Instant> expiresAt) {

  public boolean isPermanent() {
    return expiresAt.isEmpty();
  }
}
