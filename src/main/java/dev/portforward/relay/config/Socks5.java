package dev.portforward.relay.config;

import dev.portforward.common.Cidr;
import dev.portforward.common.DeniedRange;
import dev.portforward.common.DestinationRules;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a SOCKS5 forward lets its clients reach. A CONNECT target must lie in an allowed range and
 * in no denied one; port 25 needs {@code allowSmtp} ({@link DestinationRules} decides).
 *
 * @param users user name to password (RFC 1929); empty when the forward is fenced by source ranges
 */
public record Socks5(
    List<Cidr> allowedDestinations, List<DeniedRange> deniedDestinations, boolean allowSmtp, Map<String, String> users) {

  public boolean requiresPassword() {
    return !users.isEmpty();
  }

  /** Compares in constant time, so the response time does not tell how much of a password matched. */
  public boolean authenticates(String user, String password) {
    String expected = users.get(user);
    return MessageDigest.isEqual(
        (expected == null ? "\0" : expected).getBytes(StandardCharsets.UTF_8),
        password.getBytes(StandardCharsets.UTF_8))
        && expected != null;
  }

  /** Why a CONNECT to this address and port is refused, or empty when it is allowed. */
  public Optional<String> refusal(InetAddress address, int port) {
    return new DestinationRules(allowedDestinations, deniedDestinations, allowSmtp, "socks5")
        .refusal(address, port);
  }
}
