package dev.portforward.agent;

import dev.portforward.api.v1alpha1.ApplicationProtocol;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import java.net.InetAddress;
import java.util.List;

/**
 * One forward as a node must program it: typed values only, resolved from a PortForward and its
 * target's endpoints. The renderer turns these into rules; nothing else reaches the kernel.
 *
 * @param namespace the PortForward's namespace (a DNS label, checked by the API server)
 * @param name the PortForward's name
 * @param generation the PortForward's metadata.generation that this describes
 * @param listenAddresses the node's own addresses that accept the forward (its InternalIP/ExternalIP,
 *     or listen.addresses among them); a packet to any other address never reaches the forward
 * @param sourceRanges clients allowed to use the forward; empty means every client
 * @param routes per-source backends, first match wins, before the default backends
 * @param backends where the remaining clients go; empty drops them
 * @param limits what the kernel admits of new connections, so that a flood stays inside this forward
 * @param applicationProtocol what the kernel follows inside the connections (FTP: its data connections)
 * @param elsewhere backends (of {@code backends} or a route) known to run on another node: connections
 *     to them leave with this node's address, so that the reply comes back through this node, which
 *     alone can undo the DNAT (the client's address is kept for every other backend)
 */
public record NodeForward(
    String namespace,
    String name,
    long generation,
    Protocol protocol,
    List<InetAddress> listenAddresses,
    int port,
    List<Cidr> sourceRanges,
    List<SourceRoute> routes,
    List<Backend> backends,
    Limits limits,
    ApplicationProtocol applicationProtocol,
    List<InetAddress> elsewhere) {

  public NodeForward {
    elsewhere = List.copyOf(elsewhere);
  }

  /** A forward whose backends all keep the client's address (none known to run on another node). */
  public NodeForward(String namespace, String name, long generation, Protocol protocol, List<InetAddress> listenAddresses,
      int port, List<Cidr> sourceRanges, List<SourceRoute> routes, List<Backend> backends, Limits limits,
      ApplicationProtocol applicationProtocol) {
    this(namespace, name, generation, protocol, listenAddresses, port, sourceRanges, routes, backends, limits,
        applicationProtocol, List.of());
  }

  /** A forward of plain TCP or UDP. */
  public NodeForward(String namespace, String name, long generation, Protocol protocol, List<InetAddress> listenAddresses,
      int port, List<Cidr> sourceRanges, List<SourceRoute> routes, List<Backend> backends, Limits limits) {
    this(namespace, name, generation, protocol, listenAddresses, port, sourceRanges, routes, backends, limits,
        ApplicationProtocol.None);
  }

  /** A forward of plain TCP or UDP without limits. */
  public NodeForward(String namespace, String name, long generation, Protocol protocol, List<InetAddress> listenAddresses,
      int port, List<Cidr> sourceRanges, List<SourceRoute> routes, List<Backend> backends) {
    this(namespace, name, generation, protocol, listenAddresses, port, sourceRanges, routes, backends, Limits.NONE);
  }

  /**
   * An address and port that traffic is rewritten to, and its share of new connections against
   * the other backends of its list: {@code weight} slots of their sum (target.services); 1 for
   * every backend of an unweighted target, which spreads connections evenly.
   */
  public record Backend(InetAddress address, int port, int weight) {
    public Backend {
      if (weight < 1) {
        throw new IllegalArgumentException("a backend's weight is at least 1 (one without share is left out): " + weight);
      }
    }

    /** A backend of an unweighted target. */
    public Backend(InetAddress address, int port) {
      this(address, port, 1);
    }

    /** Whether this is {@code address:port}, whatever its weight. */
    public boolean is(InetAddress address, int port) {
      return this.address.equals(address) && this.port == port;
    }
  }

  /** Clients from these ranges go to these backends. */
  public record SourceRoute(List<Cidr> sources, List<Backend> backends) {}

  /**
   * Limits on new connections (TCP) or sessions (UDP); 0 means none.
   *
   * @param maxConnections how many may be open at once through this node
   * @param maxConnectionsPerSecondPerSource how many one source address (IPv6: one /64) may open per second
   */
  public record Limits(int maxConnections, int maxConnectionsPerSecondPerSource) {
    public static final Limits NONE = new Limits(0, 0);

    public Limits {
      if (maxConnections < 0 || maxConnectionsPerSecondPerSource < 0) {
        throw new IllegalArgumentException("limits are counts: " + maxConnections + ", " + maxConnectionsPerSecondPerSource);
      }
    }
  }

  public String id() {
    return namespace + "/" + name;
  }
}
