package dev.portforward.agent.nft;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.common.Cidr;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Renders the whole table the agent owns as one nft transaction: create-if-missing, delete, and
 * define again, so that the kernel swaps the old table for the new one atomically.
 *
 * <p>Every token comes from a typed value (addresses, ports, prefixes, protocol names) or from a
 * name the API server already restricts to DNS characters, which is checked again here; nothing
 * is pasted from user input. Per-packet cost does not grow with the number of forwards: a packet
 * to a local address is matched against verdict maps keyed by (protocol, address, port) and
 * (protocol, port), which jump straight to that forward's chain.
 */
public final class RulesetRenderer {

  public static final String TABLE = "portforward";
  private static final Pattern DNS_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  /**
   * Only packets to this node's own addresses are forwarded, never those to loopback: forwarding
   * from 127.0.0.1 would need route_localnet (CVE-2020-8558), which this agent never sets.
   */
  private static final String DISPATCH = """
        chain prerouting {
          type nat hook prerouting priority -100; policy accept;
          fib daddr type local jump forwards
        }
        chain output {
          type nat hook output priority -100; policy accept;
          ip daddr 127.0.0.0/8 return
          ip6 daddr ::1 return
          fib daddr type local jump forwards
        }
        chain forwards {
          meta l4proto . ip daddr . th dport vmap @listen_ip4
          meta l4proto . ip6 daddr . th dport vmap @listen_ip6
          meta l4proto . th dport vmap @listen_any
        }
      """;

  private RulesetRenderer() {}

  /** The transaction that makes the table exactly {@code forwards}. */
  public static String render(List<NodeForward> forwards) {
    List<NodeForward> sorted = forwards.stream()
        .sorted(Comparator.comparing(NodeForward::namespace).thenComparing(NodeForward::name))
        .toList();
    StringBuilder out = new StringBuilder();
    out.append("table inet ").append(TABLE).append(" {}\n");
    out.append("delete table inet ").append(TABLE).append("\n");
    out.append("table inet ").append(TABLE).append(" {\n");

    List<String> byAddress4 = new ArrayList<>();
    List<String> byAddress6 = new ArrayList<>();
    List<String> byPort = new ArrayList<>();
    StringBuilder chains = new StringBuilder();
    StringBuilder sets = new StringBuilder();
    for (int i = 0; i < sorted.size(); i++) {
      NodeForward f = sorted.get(i);
      String chain = "fw" + i;
      String proto = f.protocol().name().toLowerCase(Locale.ROOT);
      if (f.listenAddresses().isEmpty()) {
        byPort.add(proto + " . " + f.port() + " : goto " + chain);
      }
      for (InetAddress listen : f.listenAddresses()) {
        String element = proto + " . " + NetUtil.toAddressString(listen) + " . " + f.port() + " : goto " + chain;
        (listen instanceof Inet4Address ? byAddress4 : byAddress6).add(element);
      }
      renderForward(f, chain, proto, sets, chains);
    }

    out.append(sets);
    out.append(map("listen_ip4", "inet_proto . ipv4_addr . inet_service : verdict", byAddress4));
    out.append(map("listen_ip6", "inet_proto . ipv6_addr . inet_service : verdict", byAddress6));
    out.append(map("listen_any", "inet_proto . inet_service : verdict", byPort));
    out.append(DISPATCH);
    out.append(chains);
    out.append("}\n");
    return out.toString();
  }

  /** The command that removes the agent's table, and nothing else. */
  public static String cleanup() {
    return "table inet " + TABLE + " {}\ndelete table inet " + TABLE + "\n";
  }

  private static void renderForward(NodeForward f, String chain, String proto, StringBuilder sets, StringBuilder chains) {
    checkName(f.namespace());
    checkName(f.name());
    StringBuilder main = new StringBuilder("    comment \"" + f.id() + "\"\n");
    StringBuilder routeChains = new StringBuilder();
    if (!f.sourceRanges().isEmpty()) {
      for (Family family : Family.values()) {
        List<Cidr> ranges = f.sourceRanges().stream().filter(c -> family.has(c.network())).toList();
        if (ranges.isEmpty()) {
          main.append("    meta nfproto ").append(family.nfproto).append(" drop\n");
        } else {
          String set = chain + "_src" + family.suffix;
          sets.append(set(set, family.addrType, ranges));
          main.append("    ").append(family.match).append(" saddr != @").append(set).append(" drop\n");
        }
      }
    }
    for (int r = 0; r < f.routes().size(); r++) {
      NodeForward.SourceRoute route = f.routes().get(r);
      String routeChain = chain + "_r" + r;
      for (Family family : Family.values()) {
        List<Cidr> sources = route.sources().stream().filter(c -> family.has(c.network())).toList();
        if (!sources.isEmpty()) {
          String set = routeChain + "_src" + family.suffix;
          sets.append(set(set, family.addrType, sources));
          main.append("    ").append(family.match).append(" saddr @").append(set).append(" goto ").append(routeChain).append('\n');
        }
      }
      routeChains.append("  chain ").append(routeChain).append(" {\n");
      dnat(routeChains, proto, route.backends());
      routeChains.append("  }\n");
    }
    dnat(main, proto, f.backends());
    chains.append("  chain ").append(chain).append(" {\n").append(main).append("  }\n").append(routeChains);
  }

  /** DNAT per address family, spreading new connections evenly over the backends. */
  private static void dnat(StringBuilder out, String proto, List<Backend> backends) {
    for (Family family : Family.values()) {
      List<Backend> mine = backends.stream().filter(b -> family.has(b.address())).toList();
      if (mine.isEmpty()) {
        continue;
      }
      out.append("    meta nfproto ").append(family.nfproto).append(" meta l4proto ").append(proto)
          .append(" dnat ").append(family.match).append(" to ");
      if (mine.size() == 1) {
        out.append(family.hostPort(mine.get(0))).append('\n');
      } else {
        List<String> entries = new ArrayList<>();
        for (int i = 0; i < mine.size(); i++) {
          entries.add(i + " : " + NetUtil.toAddressString(mine.get(i).address()) + " . " + mine.get(i).port());
        }
        out.append("numgen random mod ").append(mine.size()).append(" map { ")
            .append(String.join(", ", entries)).append(" }\n");
      }
    }
    out.append("    drop\n");
  }

  private static String set(String name, String type, List<Cidr> ranges) {
    return "  set " + name + " {\n    type " + type + "; flags interval; auto-merge\n    elements = { "
        + ranges.stream().map(Cidr::toString).distinct().collect(Collectors.joining(", ")) + " }\n  }\n";
  }

  private static String map(String name, String type, List<String> elements) {
    String body = elements.isEmpty() ? "" : "\n    elements = { " + String.join(",\n      ", elements) + " }";
    return "  map " + name + " {\n    type " + type + ";" + body + "\n  }\n";
  }

  private static void checkName(String name) {
    if (!DNS_NAME.matcher(name).matches() || name.length() > 253) {
      throw new IllegalArgumentException("not a Kubernetes object name: " + name);
    }
  }

  private enum Family {
    V4("ip", "ipv4", "ipv4_addr", "4", a -> a instanceof Inet4Address),
    V6("ip6", "ipv6", "ipv6_addr", "6", a -> !(a instanceof Inet4Address));

    final String match;
    final String nfproto;
    final String addrType;
    final String suffix;
    final Predicate<InetAddress> member;

    Family(String match, String nfproto, String addrType, String suffix, Predicate<InetAddress> member) {
      this.match = match;
      this.nfproto = nfproto;
      this.addrType = addrType;
      this.suffix = suffix;
      this.member = member;
    }

    boolean has(InetAddress address) {
      return member.test(address);
    }

    String hostPort(Backend b) {
      String host = NetUtil.toAddressString(b.address());
      return (this == V6 ? "[" + host + "]" : host) + ":" + b.port();
    }
  }
}
