package dev.portforward.tunnel;

import java.net.SocketAddress;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.server.session.ServerSession;

/**
 * A logged-in SSH client: who it is, where it came from, and what the keepalive knows of it.
 * Times for the keepalive are {@link System#nanoTime()} values.
 */
final class Client {

  final ServerSession session;
  final String user;
  final String fingerprint;
  /** The fingerprint of the CA that signed its certificate; null when it logged in with a listed key. */
  final String authority;
  final SocketAddress source;
  final Instant since;
  final AtomicLong lastHeard;
  final AtomicLong lastAsked;
  /** Its open {@code -L}/{@code -D} channels, so that a narrowed policy can close them. */
  final Set<CheckedDirectChannel> channels = ConcurrentHashMap.newKeySet();

  Client(ServerSession session, String user, String fingerprint, String authority, long now) {
    this.session = session;
    this.user = user;
    this.fingerprint = fingerprint;
    this.authority = authority;
    this.source = session.getClientAddress();
    this.since = Instant.now();
    this.lastHeard = new AtomicLong(now);
    this.lastAsked = new AtomicLong(now);
  }

  @Override
  public String toString() {
    return "user=" + user + " key=" + fingerprint + " client=" + source;
  }
}
