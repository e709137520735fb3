package dev.portforward.agent.nft;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.common.Cidr;
import io.netty.util.NetUtil;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Forgets connection-tracking entries that lead to backends no longer in use. Without this, a UDP
 * client that keeps sending keeps its old DNAT mapping to a backend that is gone. After a
 * restart the agent does not know what it programmed before, so the backends are read back from
 * the table the kernel still holds.
 */
public final class Conntrack {

  private final Nft runner;

  public Conntrack(Nft runner) {
    this.runner = runner;
  }

  /** DNAT targets in a listing of the agent's table: "dnat ip to A:P", "dnat ip6 to [A]:P", "N : A . P". */
  private static final Pattern DNAT = Pattern.compile("meta l4proto (?<protocol>tcp|udp) dnat ip6? to "
      + "(?:(?<ip4>[0-9.]+):(?<port4>\\d+)|\\[(?<ip6>[0-9a-fA-F:.]+)]:(?<port6>\\d+)|numgen random mod \\d+ map \\{(?<map>[^}]*)})");
  private static final Pattern MAP_ELEMENT = Pattern.compile("\\d+ : ([0-9a-fA-F.:]+) \\. (\\d+)");

  /** Deletes the entries of backends in {@code before} that {@code after} no longer has. */
  public void forgetRemovedBackends(List<NodeForward> before, List<NodeForward> after) {
    forget(targets(before), after);
  }

  /** Like {@link #forgetRemovedBackends}, with the backends of a table listing as {@code before}. */
  public void forgetRemovedBackends(String tableBefore, List<NodeForward> after) {
    forget(targetsIn(tableBefore), after);
  }

  static Set<Target> targetsIn(String table) {
    Set<Target> targets = new HashSet<>();
    Matcher dnat = DNAT.matcher(table);
    while (dnat.find()) {
      String protocol = dnat.group("protocol");
      if (dnat.group("ip4") != null) {
        targets.add(target(protocol, dnat.group("ip4"), dnat.group("port4")));
      } else if (dnat.group("ip6") != null) {
        targets.add(target(protocol, dnat.group("ip6"), dnat.group("port6")));
      } else {
        Matcher element = MAP_ELEMENT.matcher(dnat.group("map"));
        while (element.find()) {
          targets.add(target(protocol, element.group(1), element.group(2)));
        }
      }
    }
    return targets;
  }

  private static Target target(String protocol, String address, String port) {
    return new Target(protocol, NetUtil.toAddressString(Cidr.parseAddress(address)), Integer.parseInt(port));
  }

  private void forget(Set<Target> before, List<NodeForward> after) {
    Set<Target> removed = new HashSet<>(before);
    removed.removeAll(targets(after));
    for (Target t : removed) {
      try {
        runner.run(null, "conntrack", "-D", "-p", t.protocol(), "--reply-src", t.address(),
            "--reply-port-src", String.valueOf(t.port()));
      } catch (Nft.NftException nothingToDelete) {
        // conntrack exits 1 when no entry matched: nothing to forget.
      }
    }
  }

  private static Set<Target> targets(List<NodeForward> forwards) {
    Set<Target> targets = new HashSet<>();
    for (NodeForward f : forwards) {
      String protocol = f.protocol().name().toLowerCase(Locale.ROOT);
      f.backends().forEach(b -> targets.add(target(protocol, b)));
      f.routes().forEach(r -> r.backends().forEach(b -> targets.add(target(protocol, b))));
    }
    return targets;
  }

  private static Target target(String protocol, Backend b) {
    return new Target(protocol, NetUtil.toAddressString(b.address()), b.port());
  }

  record Target(String protocol, String address, int port) {}
}
