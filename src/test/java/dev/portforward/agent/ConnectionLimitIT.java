package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.Limits;
import dev.portforward.agent.nft.Nft;
import dev.portforward.agent.nft.RulesetRenderer;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import dev.portforward.testbed.EchoSession;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A flood stays inside one forward: the kernel limits of a forward (open connections, new
 * connections per second per source) hold in a node namespace with real clients, and neither
 * established connections nor other forwards nor other sources feel them.
 */
class ConnectionLimitIT {


  private static final String ALICE = NodeTopology.CLIENT_IP;
  private static final String BOB = NodeTopology.SECOND_CLIENT_IP;
  private static final int ECHO = 9090;

  private NodeTopology hosts;
  private NetNs net;
  private NodeSync sync;

  @BeforeEach
  void topology() throws Exception {
    hosts = NodeTopology.create();
    net = hosts.net;
    sync = new NodeSync(new Nft(NetNs.inside(hosts.node)));
    hosts.addSecondClientAddress();
    // A backlog for a whole burst: the default (5) would drop SYNs of its own.
    net.spawn(hosts.pod1, "socat", "TCP-LISTEN:" + ECHO + ",fork,reuseaddr,backlog=64", "EXEC:cat");
  }

  @AfterEach
  void teardown() {
    hosts.close();
  }

  @Test
  void aThirdConnectionWaitsWhileTwoAreOpenAndAnotherForwardIsUnaffected() throws Exception {
    List<NodeForward> forwards = List.of(forward("limited", 8090, new Limits(2, 0)), forward("free", 8091, Limits.NONE));
    apply(forwards.toArray(NodeForward[]::new));
    EchoSession first = session(ALICE, 8090);
    EchoSession second = session(BOB, 8090);

    assertThat(ask(ALICE, 8090)).as("a third connection, with two open").isEmpty();
    assertThat(first.echoes("still")).isTrue();
    assertThat(sync.verify(forwards).applied()).as("counted connections are no drift to repair").isFalse();
    assertThat(second.echoes("still")).isTrue();
    assertThat(ask(ALICE, 8091)).as("another forward to the same backend").isEqualTo("ask");
    assertThat(session(ALICE, 8091).echoes("more")).isTrue();

    first.close();
    await().atMost(Duration.ofSeconds(20)).until(() -> ask(ALICE, 8090), "ask"::equals);
  }

  @Test
  void aBurstFromOneSourceIsCutOffWhileAnotherSourceStillConnects() {
    List<NodeForward> forwards = List.of(forward("rated", 8092, new Limits(0, 2)), forward("free", 8093, Limits.NONE));
    apply(forwards.toArray(NodeForward[]::new));
    await().atMost(Duration.ofSeconds(20)).until(() -> ask(BOB, 8092), "ask"::equals);

    assertThat(burst(ALICE, 8093)).as("a burst through a forward without a rate: all get through").isEqualTo(BURST);
    // Two per second with a burst of two: the spawning of the burst may take a second or two on a
    // loaded machine, so a few more may pass, never most of them.
    assertThat(burst(ALICE, 8092)).as("the same burst through the rated forward").isBetween(1, BURST / 2);
    assertThat(ask(BOB, 8092)).as("another source on the same forward, right after").isEqualTo("ask");
    assertThat(sync.verify(forwards).applied()).as("the sources the rate sets learnt are no drift to repair").isFalse();
  }

  @Test
  void anIpv6ClientsWhole64CountsAsOneSource() {
    NodeForward rated = new NodeForward("test", "rated", 1, Protocol.TCP, NodeTopology.NODE_ADDRESSES, 8094, List.of(), List.of(),
        List.of(new Backend(Cidr.parseAddress(NodeTopology.POD1_IP6), 8080)), new Limits(0, 100));
    apply(rated);
    net.exec(hosts.client, "bash", "-c",
        "ip addr add fd77:1::3/64 dev $(ip -o -6 addr show to " + NodeTopology.CLIENT_IP6 + " | cut -d' ' -f2) nodad");

    for (String source : List.of(NodeTopology.CLIENT_IP6, "fd77:1::3")) {
      await().atMost(Duration.ofSeconds(20)).until(() -> net.exec(hosts.client, "bash", "-c",
          "echo ask | socat -T2 - TCP6:[" + NodeTopology.NODE_IP6 + "]:8094,bind=[" + source + "],connect-timeout=1 || true")
          .strip(), "pod1-v6"::equals);
    }

    String set = net.exec(hosts.node, "nft", "-j", "list", "set", "inet", "portforward",
        RulesetRenderer.chainName(rated) + "_rate6");
    assertThat(set).as("one element, the clients' /64").contains("\"fd77:1::\"").doesNotContain("fd77:1::2", "fd77:1::3");
  }

  private static final int BURST = 20;

  /** {@link #BURST} connections started at once from {@code source}: how many got an answer. */
  private int burst(String source, int port) {
    String answers = net.exec(hosts.client, "bash", "-c", "for i in $(seq " + BURST + "); do "
        + "echo ask | socat -T2 - TCP:" + NodeTopology.NODE_IP + ":" + port + ",bind=" + source
        + ",connect-timeout=1 2>/dev/null & done; wait");
    return (int) answers.lines().filter("ask"::equals).count();
  }

  /** One short TCP exchange from {@code source}: what came back, or "" when the connection did not get through. */
  private String ask(String source, int port) {
    try {
      return net.exec(hosts.client, "bash", "-c", "echo ask | socat -T2 - TCP:" + NodeTopology.NODE_IP + ":" + port
          + ",bind=" + source + ",connect-timeout=1").strip();
    } catch (IllegalStateException refused) {
      return "";
    }
  }

  private EchoSession session(String source, int port) throws Exception {
    EchoSession session = EchoSession.open(net, hosts.client, source, NodeTopology.NODE_IP, port);
    await().atMost(Duration.ofSeconds(20)).until(() -> session.echoes("before"));
    return session;
  }

  private void apply(NodeForward... forwards) {
    assertThat(sync.sync(List.of(forwards)).error()).isNull();
  }

  private static NodeForward forward(String name, int port, Limits limits) {
    Backend pod1 = new Backend(Cidr.parseAddress(NodeTopology.POD1_IP), ECHO);
    return new NodeForward("test", name, 1, Protocol.TCP, NodeTopology.NODE_ADDRESSES, port, List.of(), List.of(), List.of(pod1), limits);
  }
}
