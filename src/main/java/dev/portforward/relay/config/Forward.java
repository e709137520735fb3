package dev.portforward.relay.config;

import dev.portforward.common.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One forward the relay serves, validated. Equal forwards are left alone on reload; a forward
 * whose listener is unchanged keeps its socket and its established connections.
 *
 * @param target where TCP and UDP forwards connect; empty for SOCKS5, whose clients name it
 * @param maxConnections TCP/SOCKS5 connections or UDP sessions at once; the excess is refused
 * @param sourceRanges clients allowed to connect; empty allows every client
 */
public record Forward(
    String name,
    Protocol protocol,
    InetSocketAddress listen,
    Optional<Target> target,
    ProxyHeader proxyProtocol,
    int maxConnections,
    Duration idleTimeout,
    Duration connectTimeout,
    List<Cidr> sourceRanges,
    Optional<Socks5> socks5) {

  public enum Protocol { TCP, UDP, SOCKS5 }

  /** PROXY protocol header sent to the backend before any client byte. */
  public enum ProxyHeader { None, V1, V2 }

  /** A backend: an address literal, or a name resolved for every new connection. */
  public record Target(String host, int port) {
    @Override
    public String toString() {
      return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
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
