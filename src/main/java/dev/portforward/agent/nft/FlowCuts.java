package dev.portforward.agent.nft;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.SourceRoute;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Decides which established flows the rules no longer allow. NAT rules see only the first packet
 * of a flow, so narrowing sourceRanges, dropping a route or a backend, or deleting a forward
 * leaves the flows already admitted running until their conntrack entries go. A flow is cut
 * when a forward that changed had DNATed it (its original destination is that forward's listen
 * address, port and protocol, and it went to one of that forward's backends) and the new rules
 * would not send the same client to the same backend. Flows of other forwards, and flows the
 * agent did not DNAT, are never touched. Pure: it reads only what it is given.
 */
public final class FlowCuts {

  private FlowCuts() {}

  /**
   * What the kernel DNATs for one forward: where clients arrive and every backend they may be
   * sent to, read from a {@link NodeForward} or back from the kernel's table after a restart.
   *
   * @param listenAddresses the node addresses the forward accepts on; empty means all of them
   */
  public record Dnat(Protocol protocol, Set<InetAddress> listenAddresses, int port, Set<Backend> backends) {
    public Dnat {
      listenAddresses = Set.copyOf(listenAddresses);
      backends = Set.copyOf(backends);
    }

    static Dnat of(NodeForward f) {
      // Where flows may go, not how often: a listing read back from the kernel has no weights.
      Set<Backend> all = new HashSet<>();
      f.backends().forEach(b -> all.add(new Backend(b.address(), b.port())));
      f.routes().forEach(r -> r.backends().forEach(b -> all.add(new Backend(b.address(), b.port()))));
      return new Dnat(f.protocol(), Set.copyOf(f.listenAddresses()), f.port(), all);
    }
  }

  /** The forwards of {@code before} that {@code after} does not hold unchanged: only their flows can lose their right. */
  public static List<Dnat> changed(List<NodeForward> before, List<NodeForward> after) {
    Set<NodeForward> kept = Set.copyOf(after);
    return before.stream().filter(f -> !kept.contains(f)).map(Dnat::of).toList();
  }

  /**
   * The conntrack filter that lists the DNATed flows of these forwards: narrowed to one protocol
   * and port when they share them (the usual case: one forward changed), else every DNATed flow.
   */
  public static List<String> listFilter(List<Dnat> changed) {
    Set<String> keys = new HashSet<>();
    changed.forEach(d -> keys.add(d.protocol() + "/" + d.port()));
    List<String> filter = new ArrayList<>(List.of("--dst-nat"));
    if (keys.size() == 1) {
      Dnat d = changed.get(0);
      filter.addAll(List.of("-p", name(d.protocol()), "--orig-port-dst", String.valueOf(d.port())));
    }
    return filter;
  }

  /** The flows that a forward of {@code before} DNATed and {@code after} no longer allows. */
  public static List<Flow> cut(List<Dnat> before, List<NodeForward> after, List<Flow> flows) {
    Dispatch<Dnat> was = new Dispatch<>(before.stream()
        .map(d -> new Listener<>(d.protocol(), d.listenAddresses(), d.port(), d)).toList());
    Dispatch<NodeForward> is = dispatch(after);
    return flows.stream().filter(f -> dnatedBy(was, f) && !allowed(is, f)).toList();
  }

  /**
   * Lines for {@code conntrack -R -}: as few deletions as cover exactly the flows to cut, since
   * each line costs one walk of the kernel's whole table. Each line names the forward's
   * destination (protocol, address, port) and the backend (reply source and port). A backend that
   * the new rules no longer reach there loses all its flows there in one line; otherwise the
   * line names the widest prefix around a cut client in which every address gets the same
   * answer from the new rules (no prefix of the forward's sourceRanges or routes starts inside
   * it), so no allowed client is ever inside one, and a narrowing that cuts thousands of clients
   * takes a few lines.
   */
  public static String deletions(List<Flow> cut, List<NodeForward> after) {
    Dispatch<NodeForward> is = dispatch(after);
    Set<String> lines = new TreeSet<>();
    for (Flow f : cut) {
      String sources = is.owner(f).filter(n -> reaches(n, f))
          .map(n -> " --orig-src " + uniformAround(n, f.source())).orElse("");
      lines.add("-D -p " + name(f.protocol()) + sources
          + " --orig-dst " + NetUtil.toAddressString(f.destination()) + " --dport " + f.destinationPort()
          + " --reply-src " + NetUtil.toAddressString(f.backend()) + " --reply-port-src " + f.backendPort() + "\n");
    }
    return String.join("", lines);
  }

  private static boolean reaches(NodeForward n, Flow f) {
    return leadsTo(n.backends(), f) || n.routes().stream().anyMatch(r -> leadsTo(r.backends(), f));
  }

  private static boolean leadsTo(List<Backend> backends, Flow f) {
    return backends.stream().anyMatch(b -> b.is(f.backend(), f.backendPort()));
  }

  /**
   * The widest prefix around {@code address} that no prefix of the forward's sourceRanges or
   * routes cuts in two: prefixes are nested or disjoint, so it must hold each one that contains
   * the address whole, and end before any other begins.
   */
  static Cidr uniformAround(NodeForward n, InetAddress address) {
    int length = 0;
    List<Cidr> prefixes = new ArrayList<>(n.sourceRanges());
    n.routes().forEach(r -> prefixes.addAll(r.sources()));
    for (Cidr prefix : prefixes) {
      if (prefix.network().getAddress().length == address.getAddress().length) {
        length = Math.max(length,
            prefix.contains(address) ? prefix.prefixLength() : commonBits(address, prefix.network()) + 1);
      }
    }
    return new Cidr(address, length);
  }

  private static int commonBits(InetAddress a, InetAddress b) {
    byte[] x = a.getAddress();
    byte[] y = b.getAddress();
    for (int i = 0; i < x.length; i++) {
      int differ = (x[i] ^ y[i]) & 0xff;
      if (differ != 0) {
        return i * 8 + Integer.numberOfLeadingZeros(differ) - 24;
      }
    }
    return x.length * 8;
  }

  private static boolean dnatedBy(Dispatch<Dnat> before, Flow f) {
    return before.owner(f).map(d -> d.backends().contains(new Backend(f.backend(), f.backendPort()))).orElse(false);
  }

  /** Whether the rules of {@code after} would send this client to this backend as a new flow. */
  private static boolean allowed(Dispatch<NodeForward> after, Flow f) {
    return after.owner(f)
        .map(n -> {
          if (!n.sourceRanges().isEmpty() && n.sourceRanges().stream().noneMatch(c -> c.contains(f.source()))) {
            return false;
          }
          List<Backend> pick = n.routes().stream()
              .filter(r -> r.sources().stream().anyMatch(c -> c.contains(f.source())))
              .findFirst().map(SourceRoute::backends).orElse(n.backends());
          return leadsTo(pick, f);
        })
        .orElse(false);
  }

  private static Dispatch<NodeForward> dispatch(List<NodeForward> forwards) {
    return new Dispatch<>(forwards.stream()
        .map(n -> new Listener<>(n.protocol(), Set.copyOf(n.listenAddresses()), n.port(), n)).toList());
  }

  /** A forward by where it listens. */
  private record Listener<T>(Protocol protocol, Set<InetAddress> addresses, int port, T forward) {}

  /** The forwards by protocol and port, so that finding a flow's forward does not grow with their number. */
  private static final class Dispatch<T> {
    private final Map<String, List<Listener<T>>> byPort;

    Dispatch(List<Listener<T>> listeners) {
      byPort = listeners.stream().collect(Collectors.groupingBy(l -> key(l.protocol(), l.port())));
    }

    /**
     * The forward a flow arrived at, as the dispatch maps choose it: one listening on the flow's
     * exact address first, then one listening on every node address.
     */
    Optional<T> owner(Flow f) {
      List<Listener<T>> candidates = byPort.getOrDefault(key(f.protocol(), f.destinationPort()), List.of());
      return candidates.stream().filter(l -> l.addresses().contains(f.destination())).findFirst()
          .or(() -> candidates.stream().filter(l -> l.addresses().isEmpty()).findFirst())
          .map(Listener::forward);
    }

    private static String key(Protocol protocol, int port) {
      return protocol + "/" + port;
    }
  }

  private static String name(Protocol protocol) {
    return protocol.name().toLowerCase(Locale.ROOT);
  }
}
