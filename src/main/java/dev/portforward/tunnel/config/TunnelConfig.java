package dev.portforward.tunnel.config;

import dev.portforward.tunnel.config.TunnelUser.AuthorizedKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Everything the tunnel server serves, checked as a whole by {@link TunnelConfigParser}.
 *
 * @param listen where SSH clients connect
 * @param hostKeyFile the server's private host key (OpenSSH format), a mounted Secret in a cluster
 * @param remoteForwardAddress where {@code -R} ports are bound, whatever address the client names:
 *     in a pod every address (0.0.0.0), so that a Service can send traffic to them
 * @param keepaliveInterval how often a quiet client is asked for a sign of life
 * @param keepaliveTimeout a client that has answered nothing for this long is disconnected and its
 *     remote ports are released
 * @param connectTimeout how long a {@code -L}/{@code -D} channel may take to connect its destination
 * @param userCertificateAuthorities CAs whose user certificates log in as any configured user the
 *     certificate names among its principals (OpenSSH's TrustedUserCAKeys)
 */
public record TunnelConfig(
    InetSocketAddress listen,
    Path hostKeyFile,
    InetAddress remoteForwardAddress,
    Duration keepaliveInterval,
    Duration keepaliveTimeout,
    Duration connectTimeout,
    List<AuthorizedKey> userCertificateAuthorities,
    List<TunnelUser> users) {

  public Optional<TunnelUser> user(String name) {
    return users.stream().filter(user -> user.name().equals(name)).findFirst();
  }

  /** A trusted user CA by its fingerprint. */
  public Optional<AuthorizedKey> certificateAuthority(String fingerprint) {
    return userCertificateAuthorities.stream().filter(ca -> ca.fingerprint().equals(fingerprint)).findFirst();
  }
}
