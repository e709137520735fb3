package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.SourceRoute;
import dev.portforward.agent.nft.FlowCuts;
import dev.portforward.agent.nft.Nft;
import dev.portforward.agent.nft.RulesetRenderer;
import dev.portforward.agent.nft.TableListing;
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
 * Live flows through real nftables and conntrack in a node namespace (see {@link NodeTopology}):
 * when the rules narrow, the flows they no longer allow stop within the sync that narrowed them,
 * and every other flow goes on. The client namespace has a second address (BOB) beside its own
 * (ALICE), so that one forward can have an excluded and an allowed client at once.
 */
class FlowCutIT {


  private static final String ALICE = NodeTopology.CLIENT_IP;
  private static final String BOB = NodeTopology.SECOND_CLIENT_IP;
  private static final int ECHO = 9090;

  private NodeTopology hosts;
  private NetNs net;
  private NodeSync sync;
  private Nft nft;

  @BeforeEach
  void topology() throws Exception {
    hosts = NodeTopology.create();
    net = hosts.net;
    nft = new Nft(NetNs.inside(hosts.node));
    sync = new NodeSync(nft);
    hosts.addSecondClientAddress();
    net.spawn(hosts.pod1, "socat", "TCP-LISTEN:" + ECHO + ",fork,reuseaddr", "EXEC:cat");
  }

  @AfterEach
  void teardown() {
    hosts.close();
  }

  @Test
  void narrowedSourceRangesCutTheExcludedClientsFlowsAndNothingElse() throws Exception {
    NodeForward echo = tcp("echo", 8090, List.of(), backend(NodeTopology.POD1_IP, ECHO));
    NodeForward other = tcp("other", 8091, List.of(), backend(NodeTopology.POD1_IP, ECHO));
    NodeForward dns = udp("dns", 5353, List.of(), backend(NodeTopology.POD1_IP, 5353));
    apply(echo, other, dns);
    EchoSession alice = session(ALICE, 8090);
    EchoSession bob = session(BOB, 8090);
    EchoSession aliceElsewhere = session(ALICE, 8091);
    await().atMost(Duration.ofSeconds(20)).until(() -> hosts.udpAsk(5353), "pod1"::equals);

    List<Cidr> onlyBob = List.of(Cidr.parse(BOB + "/32"));
    apply(tcp("echo", 8090, onlyBob, backend(NodeTopology.POD1_IP, ECHO)), other,
        udp("dns", 5353, onlyBob, backend(NodeTopology.POD1_IP, 5353)));

    assertThat(alice.echoes("after")).as("alice's established connection, now outside sourceRanges").isFalse();
    assertThat(hosts.udpAsk(5353)).as("alice's UDP flow, same ports as before, now outside sourceRanges").isEmpty();
    assertThat(bob.echoes("after")).as("bob's connection on the same forward, still allowed").isTrue();
    assertThat(aliceElsewhere.echoes("after")).as("alice's connection through another forward to the same backend")
        .isTrue();
  }

  @Test
  void aDeletedForwardsFlowIsCutAndAnotherForwardsFlowToTheSameBackendIsNot() throws Exception {
    NodeForward echo = tcp("echo", 8090, List.of(), backend(NodeTopology.POD1_IP, ECHO));
    NodeForward other = tcp("other", 8091, List.of(), backend(NodeTopology.POD1_IP, ECHO));
    apply(echo, other);
    EchoSession gone = session(ALICE, 8090);
    EchoSession kept = session(ALICE, 8091);

    apply(other);

    assertThat(gone.echoes("after")).as("the deleted forward's connection").isFalse();
    assertThat(kept.echoes("after")).as("the other forward's connection to the same backend").isTrue();
  }

  @Test
  void aRemovedBackendsFlowIsCutWhileAnotherForwardKeepsTheSameBackend() throws Exception {
    net.spawn(hosts.pod2, "socat", "TCP-LISTEN:" + ECHO + ",fork,reuseaddr", "EXEC:cat");
    NodeForward other = tcp("other", 8091, List.of(), backend(NodeTopology.POD1_IP, ECHO));
    apply(tcp("echo", 8090, List.of(), backend(NodeTopology.POD1_IP, ECHO)), other);
    EchoSession toPod1 = session(ALICE, 8090);
    EchoSession kept = session(ALICE, 8091);

    apply(tcp("echo", 8090, List.of(), backend(NodeTopology.POD2_IP, ECHO)), other);

    assertThat(toPod1.echoes("after")).as("a connection to the backend the forward dropped").isFalse();
    assertThat(kept.echoes("after")).as("the other forward still has that backend").isTrue();
    assertThat(session(ALICE, 8090).echoes("new")).as("a new connection reaches the new backend").isTrue();
  }

  @Test
  void aRouteThatGoesTakesItsClientsFlowsWithIt() throws Exception {
    net.spawn(hosts.pod2, "socat", "TCP-LISTEN:" + ECHO + ",fork,reuseaddr", "EXEC:cat");
    SourceRoute bobToPod2 = new SourceRoute(List.of(Cidr.parse(BOB + "/32")), List.of(backend(NodeTopology.POD2_IP, ECHO)));
    apply(new NodeForward("test", "echo", 1, Protocol.TCP, NodeTopology.NODE_ADDRESSES, 8090, List.of(), List.of(bobToPod2),
        List.of(backend(NodeTopology.POD1_IP, ECHO))));
    EchoSession bob = session(BOB, 8090);
    EchoSession alice = session(ALICE, 8090);

    apply(tcp("echo", 8090, List.of(), backend(NodeTopology.POD1_IP, ECHO)));

    assertThat(bob.echoes("after")).as("bob's route to pod2 went").isFalse();
    assertThat(alice.echoes("after")).as("alice was on the default backend all along").isTrue();
  }

  @Test
  void aRestartedAgentCutsWhatTheNewRulesNoLongerAllow() throws Exception {
    apply(tcp("echo", 8090, List.of(), backend(NodeTopology.POD1_IP, ECHO)));
    EchoSession alice = session(ALICE, 8090);
    EchoSession bob = session(BOB, 8090);

    // A new agent process knows nothing of what it programmed: it reads the kernel's table.
    sync = new NodeSync(nft);
    apply(tcp("echo", 8090, List.of(Cidr.parse(BOB + "/32")), backend(NodeTopology.POD1_IP, ECHO)));

    assertThat(alice.echoes("after")).isFalse();
    assertThat(bob.echoes("after")).isTrue();
  }

  @Test
  void theKernelsTableReadsBackAsTheForwardsItWasRenderedFrom() {
    List<NodeForward> forwards = List.of(
        tcp("web", 80, List.of(), backend("10.244.1.5", 8080), backend("10.244.2.7", 8080), backend("fd00::7", 8080)),
        new NodeForward("shop", "admin", 1, Protocol.TCP, List.of(Cidr.parseAddress("192.0.2.10"), Cidr.parseAddress("2001:db8::10")),
            8443, List.of(Cidr.parse("10.0.0.0/8")),
            List.of(new SourceRoute(List.of(Cidr.parse("10.1.0.0/16")), List.of(backend("10.244.4.4", 443)))),
            List.of(backend("10.244.5.5", 443))),
        udp("dns", 53, List.of(), backend("10.244.3.9", 53)));
    nft.apply(RulesetRenderer.render(forwards));

    assertThat(TableListing.forwards(nft.listTableJson()))
        .containsExactlyInAnyOrderElementsOf(FlowCuts.changed(forwards, List.of()));
  }

  private EchoSession session(String source, int port) throws Exception {
    EchoSession session = EchoSession.open(net, hosts.client, source, NodeTopology.NODE_IP, port);
    await().atMost(Duration.ofSeconds(20)).until(() -> session.echoes("before"));
    return session;
  }

  private void apply(NodeForward... forwards) {
    NodeSync.Outcome outcome = sync.sync(List.of(forwards));
    assertThat(outcome.error()).isNull();
  }

  private static NodeForward tcp(String name, int port, List<Cidr> sources, Backend... backends) {
    return new NodeForward("test", name, 1, Protocol.TCP, NodeTopology.NODE_ADDRESSES, port, sources, List.of(), List.of(backends));
  }

  private static NodeForward udp(String name, int port, List<Cidr> sources, Backend... backends) {
    return new NodeForward("test", name, 1, Protocol.UDP, NodeTopology.NODE_ADDRESSES, port, sources, List.of(), List.of(backends));
  }

  private static Backend backend(String address, int port) {
    return new Backend(Cidr.parseAddress(address), port);
  }
}
