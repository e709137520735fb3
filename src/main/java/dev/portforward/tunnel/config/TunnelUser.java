package dev.portforward.tunnel.config;

import dev.portforward.common.DestinationRules;
import java.util.List;
import java.util.Optional;

/**
 * One account of the tunnel server: who may log in as it and what its sessions may do.
 *
 * @param authorizedKeys the public keys that log in as this user
 * @param remoteForwards the ports {@code -R} may bind, each under a name (the Service's)
 * @param destinations where {@code -L} and {@code -D} channels may lead
 * @param maxChannels {@code -L}/{@code -D} channels open at once, over all of the user's sessions
 * @param maxSessions connections at once; a reconnecting client needs one spare while its dead
 *     session is not yet noticed
 */
public record TunnelUser(
    String name,
    List<AuthorizedKey> authorizedKeys,
    List<RemoteForward> remoteForwards,
    DestinationRules destinations,
    int maxChannels,
    int maxSessions) {

  /** Whether this key logs in as the user; keys are compared by their SHA-256 fingerprint. */
  public Optional<AuthorizedKey> authorized(String fingerprint) {
    return authorizedKeys.stream().filter(key -> key.fingerprint().equals(fingerprint)).findFirst();
  }

  public Optional<RemoteForward> remoteForward(int port) {
    return remoteForwards.stream().filter(forward -> forward.port() == port).findFirst();
  }

  /** A port {@code ssh -R port:...} may bind, and the name it is known by (its Service's). */
  public record RemoteForward(String name, int port) {}

  /**
   * An authorised public key, known by its fingerprint ({@code SHA256:...}) and the comment it
   * came with; equal keys have equal fingerprints.
   */
  public record AuthorizedKey(String fingerprint, String comment) {}
}
