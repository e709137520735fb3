package dev.portforward.agent.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How the agent hands a transaction to nft, in a node namespace with the real nft. nft commits
 * whatever it read when its input ends; a pipe whose writer was killed just ends, and a prefix
 * that stops at a line is a smaller transaction nft accepts. So nft must only ever start with the
 * whole transaction in hand.
 */
class NftHandoverIT {

  private static final NodeForward WEB = forward("web", 8080, NodeTopology.POD1_IP);
  private static final NodeForward API = forward("api", 8081, NodeTopology.POD1_IP);

  private NodeTopology hosts;
  private Path dir;

  @BeforeEach
  void topology() throws Exception {
    hosts = NodeTopology.create();
    dir = Files.createTempDirectory("nft-handover-");
  }

  @AfterEach
  void teardown() throws Exception {
    hosts.close();
    try (var files = Files.list(dir)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }
    Files.delete(dir);
  }

  /** Why: an update cut after its deletions is a valid transaction, and nft commits it. */
  @Test
  void nftCommitsATransactionCutShortAtALineEnd() {
    Nft nft = new Nft(NetNs.inside(hosts.node));
    nft.apply(RulesetRenderer.render(List.of(WEB, API)));
    String update = RulesetRenderer.update(List.of(WEB, API), List.of(WEB, forward("api", 8081, NodeTopology.POD2_IP)));
    String cut = update.substring(0, update.indexOf("table inet " + RulesetRenderer.TABLE + " {"));

    hosts.net.exec(hosts.node, "bash", "-c", "printf '%s' \"$0\" | nft -f -", cut);

    String table = hosts.net.exec(hosts.node, "nft", "list", "table", "inet", RulesetRenderer.TABLE);
    assertThat(table).as("the forward the cut update deleted, with nothing in its place")
        .doesNotContain(RulesetRenderer.chainName(forward("api", 8081, NodeTopology.POD2_IP)) + " {")
        .doesNotContain("8081");
  }

  /** The fix: nft starts on a complete file, so a writer killed part way hands it nothing. */
  @Test
  void applyStartsNftOnlyWithTheWholeTransaction() throws Exception {
    Path seen = dir.resolve("seen");
    Path wrapper = dir.resolve("nft-wrapper.sh");
    // What nft would read from its input at the moment it starts, copied aside.
    Files.writeString(wrapper, """
        #!/bin/bash
        if [ "$1" = nft ] && [ "$2" = -f ]; then
          if [ "$3" = - ]; then echo "<a pipe, still being written>" > %1$s; else cp "$3" %1$s; fi
        fi
        exec %2$s "$@"
        """.formatted(seen, String.join(" ", NetNs.inside(hosts.node))));
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
    Nft nft = new Nft(List.of(wrapper.toString()));
    String ruleset = RulesetRenderer.render(List.of(WEB, API));

    nft.apply(ruleset);

    assertThat(Files.readString(seen)).as("the transaction in nft's hands when it started").isEqualTo(ruleset);
    assertThat(nft.listTable()).as("applied").contains("8081");
  }

  private static NodeForward forward(String name, int port, String backend) {
    return new NodeForward("test", name, 1, Protocol.TCP, NodeTopology.NODE_ADDRESSES, port, List.of(), List.of(),
        List.of(new Backend(Cidr.parseAddress(backend), port)));
  }
}
