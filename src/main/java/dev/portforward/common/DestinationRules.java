package dev.portforward.common;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * Where a client-chosen destination may lead: a relay's SOCKS5 CONNECT or a tunnel's {@code -L}
 * and {@code -D} channels. The address is the one the name resolved to, checked once and then
 * dialled as it is, so a name cannot pass with one answer and connect with another. Port 25 needs
 * {@code allowSmtp}, so no forward becomes a spam outlet.
 *
 * @param configuredAt where the rules are configured ({@code socks5}), so a refusal names the field
 *     to change: {@code socks5.allowedDestinations}, {@code socks5.allowSmtp}
 */
public record DestinationRules(
    List<Cidr> allowed, List<DeniedRange> denied, boolean allowSmtp, String configuredAt) {

  static final int SMTP = 25;

  /** Why a connection to this address and port is refused, or empty when it is allowed. */
  public Optional<String> refusal(InetAddress address, int port) {
    if (port == SMTP && !allowSmtp) {
      return Optional.of("port 25 needs " + configuredAt + ".allowSmtp");
    }
    for (DeniedRange range : denied) {
      if (range.contains(address)) {
        return Optional.of("denied: " + range.why());
      }
    }
    if (allowed.stream().noneMatch(range -> range.contains(address))) {
      return Optional.of("not in " + configuredAt + ".allowedDestinations");
    }
    return Optional.empty();
  }
}
