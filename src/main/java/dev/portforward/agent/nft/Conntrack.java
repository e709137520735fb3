package dev.portforward.agent.nft;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import io.netty.util.NetUtil;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Forgets connection-tracking entries that lead to backends no longer in use. Without this, a UDP
 * client that keeps sending keeps its old DNAT mapping to a backend that is gone.
 */
public final class Conntrack {

  private final Nft runner;

  public Conntrack(Nft runner) {
    this.runner = runner;
  }

  /** Deletes the entries of backends in {@code before} that {@code after} no longer has. */
  public void forgetRemovedBackends(List<NodeForward> before, List<NodeForward> after) {
    Set<Target> removed = targets(before);
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

  private record Target(String protocol, String address, int port) {}
}
