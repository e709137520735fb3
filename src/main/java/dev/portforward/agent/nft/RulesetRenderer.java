package dev.portforward.agent.nft;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.api.v1alpha1.ApplicationProtocol;
import dev.portforward.common.Cidr;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Renders the table the agent owns as nft transactions: {@link #render} replaces the whole table
 * atomically (create-if-missing, delete, define again); {@link #update} changes only the forwards
 * that changed, so that one change costs the same with 10,000 forwards as with 100. Each
 * forward's chains and sets are named after a hash of its namespace/name, so names stay put while
 * other forwards come and go.
 *
 * <p>Every token comes from a typed value (addresses, ports, prefixes, protocol names) or from a
 * name the API server already restricts to DNS characters, which is checked again here; nothing
 * is pasted from user input. Per-packet cost does not grow with the number of forwards: a packet
 * to a local address is matched against verdict maps keyed by (protocol, address, port), which
 * jump straight to that forward's chain. The maps hold only the addresses each forward listens on
 * (the node's InternalIP/ExternalIP, or listen.addresses among them), so a packet to any other
 * local address (docker0, a CNI bridge, a pod gateway) passes untouched.
 */
public final class RulesetRenderer {

  public static final String TABLE = "portforward";
  /** The dispatch maps: (protocol, address, port) per address family. */
  private static final List<Declaration> MAPS = List.of(
      new Declaration("listen_ip4", "inet_proto . ipv4_addr . inet_service : verdict"),
      new Declaration("listen_ip6", "inet_proto . ipv6_addr . inet_service : verdict"));
  /**
   * nft refuses a comment longer than this; a namespace/name may be 317 characters. The chain's
   * name (a hash of namespace/name) identifies the forward, the comment only helps a reader.
   */
  static final int MAX_COMMENT = 128;
  private static final Pattern DNS_NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  /**
   * Only packets to this node's own addresses are forwarded (the maps hold nothing else), never
   * those to loopback: forwarding from 127.0.0.1 would need route_localnet (CVE-2020-8558), which
   * this agent never sets. The fib check keeps an address the Node's status still lists after it
   * moved to another host from diverting traffic routed through this node.
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
        }
        chain postrouting {
          type nat hook postrouting priority 100; policy accept;
          ct status dnat ip saddr . ip daddr @hairpin4 masquerade
          ct status dnat ip6 saddr . ip6 daddr @hairpin6 masquerade
          ct status dnat meta l4proto . ct original ip daddr . ip daddr . th dport @elsewhere4 masquerade
          ct status dnat meta l4proto . ct original ip6 daddr . ip6 daddr . th dport @elsewhere6 masquerade
        }
      """;
  /**
   * A backend that connects to its own forward gets itself as destination: without a source
   * rewrite it would answer itself directly, and the connection would fail. These sets hold
   * (backend . backend) for every backend, so that exactly those connections are masqueraded.
   */
  private static final List<Declaration> HAIRPIN_SETS = List.of(
      new Declaration("hairpin4", "ipv4_addr . ipv4_addr"),
      new Declaration("hairpin6", "ipv6_addr . ipv6_addr"),
      // A backend on another node would answer the client directly, past this node's conntrack:
      // connections a forward (protocol . listen address) sends to it (address . port) are
      // masqueraded, and only those: kube-proxy's own DNAT to the same pod from a Service keeps
      // its source, because its original destination is a cluster IP, not a forward's listen address.
      new Declaration("elsewhere4", "inet_proto . ipv4_addr . ipv4_addr . inet_service"),
      new Declaration("elsewhere6", "inet_proto . ipv6_addr . ipv6_addr . inet_service"));

  /**
   * Sources one forward's rate limit tracks at once, per address family: a few MB of kernel
   * memory at most, however many sources a flood spoofs.
   */
  private static final int RATE_SOURCES = 16384;
  /**
   * A source that opened nothing for this long is forgotten. Its bucket (a burst of one second's
   * rate) refills in one second, so forgetting it after two loses nothing and keeps the set small.
   */
  private static final String RATE_MEMORY = "2s";
  /** numgen's modulus is a 32-bit number; weighted slots stay far below it (common/WeightedShares). */
  private static final long MAX_SLOTS = 0xffffffffL;

  private RulesetRenderer() {}

  /** The transaction that makes the table exactly {@code forwards}. */
  public static String render(List<NodeForward> forwards) {
    List<Parts> parts = forwards.stream().map(RulesetRenderer::parts).sorted(Comparator.comparing(Parts::chain)).toList();
    StringBuilder out = new StringBuilder();
    out.append("table inet ").append(TABLE).append(" {}\n");
    out.append("delete table inet ").append(TABLE).append("\n");
    out.append("table inet ").append(TABLE).append(" {\n");
    parts.forEach(part -> out.append(part.sets()));
    for (Declaration map : MAPS) {
      List<String> elements = parts.stream().flatMap(part -> part.elements().stream())
          .filter(e -> e.map().equals(map.name())).map(Element::withVerdict).toList();
      String body = elements.isEmpty() ? "" : "\n    elements = { " + String.join(",\n      ", elements) + " }";
      out.append("  map ").append(map.name()).append(" {\n    type ").append(map.type()).append(";")
          .append(body).append("\n  }\n");
    }
    Set<Hairpin> hairpins = hairpins(forwards);
    for (Declaration set : HAIRPIN_SETS) {
      List<String> elements = hairpins.stream().filter(e -> e.set().equals(set.name())).map(Hairpin::key).sorted().toList();
      String body = elements.isEmpty() ? "" : "\n    elements = { " + String.join(",\n      ", elements) + " }";
      out.append("  set ").append(set.name()).append(" {\n    type ").append(set.type()).append(";")
          .append(body).append("\n  }\n");
    }
    out.append(DISPATCH);
    parts.forEach(part -> out.append(part.chains()));
    out.append("}\n");
    return out.toString();
  }

  /**
   * The transaction that turns a table holding exactly {@code before} into one holding exactly
   * {@code after}, touching only the forwards that differ; empty when nothing does.
   */
  public static String update(List<NodeForward> before, List<NodeForward> after) {
    Set<NodeForward> unchanged = new HashSet<>(before);
    unchanged.retainAll(new HashSet<>(after));
    List<Parts> gone = before.stream().filter(f -> !unchanged.contains(f)).map(RulesetRenderer::parts).toList();
    List<Parts> come = after.stream().filter(f -> !unchanged.contains(f)).map(RulesetRenderer::parts).toList();
    if (gone.isEmpty() && come.isEmpty()) {
      return "";
    }
    // Several forwards may share a backend: its hairpin element goes only with the last of them.
    Set<Hairpin> hairpinsBefore = hairpins(before);
    Set<Hairpin> hairpinsAfter = hairpins(after);
    String table = "inet " + TABLE + " ";
    StringBuilder out = new StringBuilder();
    hairpinsBefore.stream().filter(e -> !hairpinsAfter.contains(e)).sorted(Comparator.comparing(Hairpin::key))
        .forEach(e -> out.append("delete element ").append(table).append(e.set()).append(" { ").append(e.key()).append(" }\n"));
    // Unhook, empty, then delete: a chain or set still referenced cannot be deleted.
    for (Parts part : gone) {
      part.elements().forEach(e -> out.append("delete element ").append(table).append(e.map()).append(" { ")
          .append(e.key()).append(" }\n"));
      part.chainNames().forEach(c -> out.append("flush chain ").append(table).append(c).append('\n'));
    }
    for (Parts part : gone) {
      part.chainNames().forEach(c -> out.append("delete chain ").append(table).append(c).append('\n'));
      part.setNames().forEach(s -> out.append("delete set ").append(table).append(s).append('\n'));
      part.helperNames().forEach(h -> out.append("delete ct helper ").append(table).append(h).append('\n'));
    }
    if (!come.isEmpty()) {
      out.append("table inet ").append(TABLE).append(" {\n");
      come.forEach(part -> out.append(part.sets()).append(part.chains()));
      out.append("}\n");
      for (Parts part : come) {
        part.elements().forEach(e -> out.append("add element ").append(table).append(e.map()).append(" { ")
            .append(e.withVerdict()).append(" }\n"));
      }
    }
    hairpinsAfter.stream().filter(e -> !hairpinsBefore.contains(e)).sorted(Comparator.comparing(Hairpin::key))
        .forEach(e -> out.append("add element ").append(table).append(e.set()).append(" { ").append(e.key()).append(" }\n"));
    return out.toString();
  }

  /** The command that removes the agent's table, and nothing else. */
  public static String cleanup() {
    return "table inet " + TABLE + " {}\ndelete table inet " + TABLE + "\n";
  }

  /**
   * A transaction the kernel accepts only if it has the FTP helper; checked with nft -c, it leaves
   * nothing behind.
   */
  public static String ftpHelperProbe() {
    return "table inet " + TABLE + "_probe {\n" + ftpHelper("ftp") + "}\n";
  }

  /**
   * The kernel's FTP helper for one forward: it reads the control connection, expects each data
   * connection it announces (only from that client, to that port, once), DNATs it like the control
   * connection, and rewrites the backend's address in PASV replies to the node's.
   */
  private static String ftpHelper(String name) {
    return "  ct helper " + name + " {\n    type \"ftp\" protocol tcp\n    l3proto inet\n  }\n";
  }

  /** A map or set of the table: its name and nft type. */
  private record Declaration(String name, String type) {}

  /** An element of a masquerading set (hairpin or elsewhere). */
  private record Hairpin(String set, String key) {}

  /** Everything one forward adds to the table. */
  private record Parts(String chain, String sets, String chains, List<String> setNames, List<String> chainNames,
      List<String> helperNames, List<Element> elements) {}

  /** An element of a dispatch map: the key that selects the forward, and its verdict. */
  private record Element(String map, String key, String verdict) {
    String withVerdict() {
      return key + " : " + verdict;
    }
  }

  private static Parts parts(NodeForward f) {
    checkName(f.namespace());
    checkName(f.name());
    String chain = chainName(f);
    String proto = f.protocol().name().toLowerCase(Locale.ROOT);
    StringBuilder sets = new StringBuilder();
    List<String> setNames = new ArrayList<>();
    List<String> chainNames = new ArrayList<>(List.of(chain));
    StringBuilder main = new StringBuilder("    comment \"" + comment(f.id()) + "\"\n");
    StringBuilder routeChains = new StringBuilder();
    if (!f.sourceRanges().isEmpty()) {
      for (Family family : Family.values()) {
        List<Cidr> ranges = f.sourceRanges().stream().filter(c -> family.has(c.network())).toList();
        if (ranges.isEmpty()) {
          main.append("    meta nfproto ").append(family.nfproto).append(" drop\n");
        } else {
          String set = chain + "_src" + family.suffix;
          sets.append(set(set, family.addrType, ranges));
          setNames.add(set);
          main.append("    ").append(family.match).append(" saddr != @").append(set).append(" drop\n");
        }
      }
    }
    limits(f.limits(), chain, sets, setNames, main);
    List<String> helperNames = new ArrayList<>();
    if (f.applicationProtocol() == ApplicationProtocol.FTP) {
      // Assigned here, on this forward's own connections only: never by port for the whole node
      // (automatic helper assignment is off in the kernel for that reason).
      String helper = chain + "_ftp";
      sets.append(ftpHelper(helper));
      helperNames.add(helper);
      main.append("    ct helper set \"").append(helper).append("\"\n");
    }
    for (int r = 0; r < f.routes().size(); r++) {
      NodeForward.SourceRoute route = f.routes().get(r);
      String routeChain = chain + "_r" + r;
      chainNames.add(routeChain);
      for (Family family : Family.values()) {
        List<Cidr> sources = route.sources().stream().filter(c -> family.has(c.network())).toList();
        if (!sources.isEmpty()) {
          String set = routeChain + "_src" + family.suffix;
          sets.append(set(set, family.addrType, sources));
          setNames.add(set);
          main.append("    ").append(family.match).append(" saddr @").append(set).append(" goto ").append(routeChain).append('\n');
        }
      }
      routeChains.append("  chain ").append(routeChain).append(" {\n");
      dnat(routeChains, proto, route.backends());
      routeChains.append("  }\n");
    }
    dnat(main, proto, f.backends());
    // Route chains first: the main chain jumps to them, so they must exist when it is added.
    String chains = routeChains + "  chain " + chain + " {\n" + main + "  }\n";

    List<Element> elements = new ArrayList<>();
    for (InetAddress listen : f.listenAddresses()) {
      elements.add(new Element(listen instanceof Inet4Address ? "listen_ip4" : "listen_ip6",
          proto + " . " + NetUtil.toAddressString(listen) + " . " + f.port(), "goto " + chain));
    }
    return new Parts(chain, sets.toString(), chains, setNames, chainNames, helperNames, elements);
  }

  /**
   * New connections only reach this chain (a NAT chain sees the first packet of a flow), so these
   * rules cost nothing per packet of an established flow, and established flows never hit them.
   * The per-source sets are bounded and forget a source after {@link #RATE_MEMORY}: a flood from
   * spoofed sources cannot grow them, and a source idle for a second has its full burst again.
   * Once a set is full, new sources pass unlimited until entries expire; maxConnections still holds.
   */
  private static void limits(NodeForward.Limits limits, String chain, StringBuilder sets, List<String> setNames,
      StringBuilder main) {
    int rate = limits.maxConnectionsPerSecondPerSource();
    if (rate > 0) {
      for (Family family : Family.values()) {
        String set = chain + "_rate" + family.suffix;
        sets.append("  set ").append(set).append(" {\n    type ").append(family.addrType).append("; size ")
            .append(RATE_SOURCES).append("; flags dynamic,timeout; timeout ").append(RATE_MEMORY).append("\n  }\n");
        setNames.add(set);
        main.append("    update @").append(set).append(" { ").append(family.source).append(" limit rate over ")
            .append(rate).append("/second burst ").append(rate).append(" packets } drop\n");
      }
    }
    if (limits.maxConnections() > 0) {
      main.append("    ct count over ").append(limits.maxConnections()).append(" drop\n");
    }
  }

  /**
   * The elements of the masquerading sets: (backend . backend) in the hairpin sets for every
   * backend of every forward, and (protocol . listen address . backend . port) in the elsewhere
   * sets for every backend a forward knows to run on another node.
   */
  private static Set<Hairpin> hairpins(List<NodeForward> forwards) {
    Set<Hairpin> elements = forwards.stream()
        .flatMap(RulesetRenderer::allBackends)
        .map(Backend::address)
        .map(a -> {
          String address = NetUtil.toAddressString(a);
          return new Hairpin(a instanceof Inet4Address ? "hairpin4" : "hairpin6", address + " . " + address);
        })
        .collect(Collectors.toCollection(HashSet::new));
    for (NodeForward f : forwards) {
      String proto = f.protocol().name().toLowerCase(Locale.ROOT);
      List<Backend> elsewhere = allBackends(f).filter(b -> f.elsewhere().contains(b.address())).distinct().toList();
      for (InetAddress listen : f.listenAddresses()) {
        for (Backend b : elsewhere) {
          if ((listen instanceof Inet4Address) == (b.address() instanceof Inet4Address)) {
            elements.add(new Hairpin(listen instanceof Inet4Address ? "elsewhere4" : "elsewhere6", proto + " . "
                + NetUtil.toAddressString(listen) + " . " + NetUtil.toAddressString(b.address()) + " . " + b.port()));
          }
        }
      }
    }
    return elements;
  }

  private static Stream<Backend> allBackends(NodeForward f) {
    return Stream.concat(f.backends().stream(), f.routes().stream().flatMap(r -> r.backends().stream()));
  }

  /** fw_ and 16 hex digits of SHA-256(namespace/name): stable, and within nft's name limits. */
  public static String chainName(NodeForward f) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(f.id().getBytes(StandardCharsets.UTF_8));
      return "fw_" + HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * DNAT per address family, spreading new connections over the backends: evenly with one slot
   * each while their weights are equal (every unweighted target), else in proportion to their
   * weights, each backend taking an interval of slots of numgen's range. Either way the map holds
   * one element per backend.
   */
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
        continue;
      }
      boolean even = mine.stream().mapToInt(Backend::weight).distinct().count() == 1;
      List<String> entries = new ArrayList<>();
      long slot = 0;
      for (int i = 0; i < mine.size(); i++) {
        Backend b = mine.get(i);
        String slots = even ? String.valueOf(i) : b.weight() == 1 ? String.valueOf(slot) : slot + "-" + (slot + b.weight() - 1);
        entries.add(slots + " : " + NetUtil.toAddressString(b.address()) + " . " + b.port());
        slot += b.weight();
      }
      if (slot > MAX_SLOTS) {
        throw new IllegalArgumentException("backend weights add up to " + slot + " slots, more than numgen's " + MAX_SLOTS);
      }
      out.append("numgen random mod ").append(even ? mine.size() : slot).append(" map { ")
          .append(String.join(", ", entries)).append(" }\n");
    }
    out.append("    drop\n");
  }

  private static String set(String name, String type, List<Cidr> ranges) {
    return "  set " + name + " {\n    type " + type + "; flags interval; auto-merge\n    elements = { "
        + ranges.stream().map(Cidr::toString).distinct().collect(Collectors.joining(", ")) + " }\n  }\n";
  }

  /** namespace/name, cut to what nft accepts; names are DNS characters only, so nothing needs quoting. */
  static String comment(String id) {
    return id.length() <= MAX_COMMENT ? id : id.substring(0, MAX_COMMENT - 3) + "...";
  }

  private static void checkName(String name) {
    if (!DNS_NAME.matcher(name).matches() || name.length() > 253) {
      throw new IllegalArgumentException("not a Kubernetes object name: " + name);
    }
  }

  private enum Family {
    V4("ip", "ipv4", "ipv4_addr", "4", "ip saddr", a -> a instanceof Inet4Address),
    // An IPv6 host usually holds a whole /64: counting addresses would let it take 2^64 rates.
    V6("ip6", "ipv6", "ipv6_addr", "6", "ip6 saddr & ffff:ffff:ffff:ffff::", a -> !(a instanceof Inet4Address));

    final String match;
    final String nfproto;
    final String addrType;
    final String suffix;
    /** The key of a per-source limit. */
    final String source;
    final Predicate<InetAddress> member;

    Family(String match, String nfproto, String addrType, String suffix, String source, Predicate<InetAddress> member) {
      this.match = match;
      this.nfproto = nfproto;
      this.addrType = addrType;
      this.suffix = suffix;
      this.source = source;
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
