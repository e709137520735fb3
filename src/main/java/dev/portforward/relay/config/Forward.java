package dev.portforward.relay.config;

import dev.portforward.common.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * One forward the relay serves, validated. Equal forwards are left alone on reload; a forward
 * whose listener is unchanged keeps its socket and its established connections.
 *
 * @param targets where TCP and UDP forwards connect, each new connection (UDP: session) to one of
 *     them chosen by weight; empty for SOCKS5, whose clients name it
 * @param maxConnections TCP/SOCKS5 connections or UDP sessions at once; the excess is refused
 * @param sourceRanges clients allowed to connect; empty allows every client
 */
public record Forward(
    String name,
    Protocol protocol,
    InetSocketAddress listen,
    List<Target> targets,
    ProxyHeader proxyProtocol,
    int maxConnections,
    Duration idleTimeout,
    Duration connectTimeout,
    List<Cidr> sourceRanges,
    Optional<Socks5> socks5) {

  public enum Protocol { TCP, UDP, SOCKS5 }

  /** PROXY protocol header sent to the backend before any client byte. */
  public enum ProxyHeader { None, V1, V2 }

  /**
   * A backend: an address literal, or a name resolved for every new connection; {@code weight}
   * is its share of new connections against the forward's other targets.
   */
  public record Target(String host, int port, int weight) {
    public Target {
      if (weight < 1) {
        throw new IllegalArgumentException("a target's weight is at least 1: " + weight);
      }
    }

    /** The one target of a forward. */
    public Target(String host, int port) {
      this(host, port, 1);
    }

    @Override
    public String toString() {
      return (host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port) + (weight == 1 ? "" : "*" + weight);
    }
  }

  public Forward {
    targets = List.copyOf(targets);
  }

  /** The one target, when there is exactly one (a forward without weights). */
  public Optional<Target> target() {
    return targets.size() == 1 ? Optional.of(targets.get(0)) : Optional.empty();
  }

  /**
   * The target of a new connection: each with probability weight / sum of weights, drawn
   * afresh per connection (target.services through a relay Deployment).
   */
  public Target pick(RandomGenerator random) {
    if (targets.size() == 1) {
      return targets.get(0);
    }
    long slot = random.nextLong(targets.stream().mapToLong(Target::weight).sum());
    for (Target target : targets) {
      slot -= target.weight();
      if (slot < 0) {
        return target;
      }
    }
    throw new IllegalStateException("a slot beyond the sum of weights");
  }

  public boolean admits(InetAddress client) {
    return sourceRanges.isEmpty() || sourceRanges.stream().anyMatch(range -> range.contains(client));
  }

  /** Whether the two would bind the same port: both UDP, or both stream sockets (TCP, SOCKS5). */
  public boolean sameSocketSpace(Forward other) {
    return (protocol == Protocol.UDP) == (other.protocol == Protocol.UDP) && listen.getPort() == other.listen.getPort();
  }

  /** Whether {@code next} can take over this forward's socket: same protocol, same address. */
  public boolean sharesListenerWith(Forward next) {
    return protocol == next.protocol && listen.equals(next.listen);
  }
}
