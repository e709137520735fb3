package dev.portforward.agent.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.SourceRoute;
import dev.portforward.agent.nft.FlowCuts.Dnat;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which established flows a change of the rules cuts, and which it must leave alone. */
class FlowCutsTest {

  private static final String NODE = "10.77.1.1";
  private static final String ALICE = "10.77.1.2";
  private static final String BOB = "10.77.1.3";
  private static final String POD1 = "10.77.2.2";
  private static final String POD2 = "10.77.3.2";

  private final NodeForward web = forward("web", Protocol.TCP, List.of(), 80, List.of(), List.of(), backend(POD1, 8080));
  private final NodeForward other = forward("other", Protocol.TCP, List.of(), 81, List.of(), List.of(), backend(POD1, 8080));

  private final Flow alice = flow(Protocol.TCP, ALICE, 40001, NODE, 80, POD1, 8080);
  private final Flow bob = flow(Protocol.TCP, BOB, 40002, NODE, 80, POD1, 8080);
  private final Flow aliceToOther = flow(Protocol.TCP, ALICE, 40003, NODE, 81, POD1, 8080);

  @Test
  void narrowingSourceRangesCutsTheExcludedClientOnly() {
    NodeForward narrowed = forward("web", Protocol.TCP, List.of(), 80, List.of(Cidr.parse(BOB + "/32")), List.of(),
        backend(POD1, 8080));

    assertThat(cuts(List.of(web, other), List.of(narrowed, other), alice, bob, aliceToOther))
        .as("alice is out of web's sourceRanges; her flow of the other forward, to the same backend, stays")
        .containsExactly(alice);
  }

  @Test
  void aDeletedForwardLosesEveryFlowAndNothingElse() {
    Flow udpSamePort = flow(Protocol.UDP, ALICE, 40004, NODE, 80, POD1, 8080);

    assertThat(cuts(List.of(web, other), List.of(other), alice, bob, aliceToOther, udpSamePort))
        .as("web was TCP; a UDP flow to port 80 was never web's").containsExactly(alice, bob);
  }

  @Test
  void aRemovedBackendLosesItsFlowsTheOthersKeepTheirs() {
    NodeForward two = forward("web", Protocol.TCP, List.of(), 80, List.of(), List.of(), backend(POD1, 8080), backend(POD2, 8080));
    NodeForward one = forward("web", Protocol.TCP, List.of(), 80, List.of(), List.of(), backend(POD2, 8080));
    Flow bobToPod2 = flow(Protocol.TCP, BOB, 40002, NODE, 80, POD2, 8080);

    assertThat(cuts(List.of(two), List.of(one), alice, bobToPod2)).containsExactly(alice);
  }

  @Test
  void aClientWhoseRouteChangedLeavesItsOldBackend() {
    SourceRoute aliceToPod2 = new SourceRoute(List.of(Cidr.parse(ALICE + "/32")), List.of(backend(POD2, 8080)));
    NodeForward routed = forward("web", Protocol.TCP, List.of(), 80, List.of(), List.of(aliceToPod2), backend(POD1, 8080));
    Flow aliceAtPod2 = flow(Protocol.TCP, ALICE, 40001, NODE, 80, POD2, 8080);

    assertThat(cuts(List.of(routed), List.of(web), aliceAtPod2, bob)).as("the route went: alice belongs to pod1 now")
        .containsExactly(aliceAtPod2);
    assertThat(cuts(List.of(web), List.of(routed), alice, bob)).as("a new route sends alice to pod2")
        .containsExactly(alice);
  }

  @Test
  void flowsTheForwardDidNotDnatAreNeverCut() {
    Flow elsewhere = flow(Protocol.TCP, ALICE, 40005, NODE, 80, "10.96.0.10", 8080);
    NodeForward onOneAddress = forward("web", Protocol.TCP, List.of("10.77.1.1"), 80, List.of(), List.of(), backend(POD1, 8080));
    Flow toAnotherNodeAddress = flow(Protocol.TCP, ALICE, 40006, "10.77.2.1", 80, POD1, 8080);

    assertThat(cuts(List.of(web), List.of(), elsewhere)).as("DNATed to an address web never had").isEmpty();
    assertThat(cuts(List.of(onOneAddress), List.of(), alice, toAnotherNodeAddress))
        .as("web listened on 10.77.1.1 only").containsExactly(alice);
  }

  @Test
  void aForwardOnTheFlowsAddressOwnsItBeforeOneOnEveryAddress() {
    NodeForward specific = forward("admin", Protocol.TCP, List.of(NODE), 80, List.of(Cidr.parse(BOB + "/32")), List.of(),
        backend(POD1, 8080));
    NodeForward narrowed = forward("admin", Protocol.TCP, List.of(NODE), 80, List.of(Cidr.parse("10.77.9.0/24")), List.of(),
        backend(POD1, 8080));

    assertThat(cuts(List.of(specific, web), List.of(narrowed, web), alice, bob))
        .as("both flows arrived at admin's address; web (every address) still allows alice, but admin decides")
        .containsExactly(alice, bob);
  }

  @Test
  void onlyChangedForwardsAreWatchedAndOneOfThemNarrowsTheListing() {
    NodeForward moved = forward("web", Protocol.TCP, List.of(), 80, List.of(), List.of(), backend(POD2, 8080));

    List<Dnat> changed = FlowCuts.changed(List.of(web, other), List.of(moved, other));
    assertThat(changed).containsExactly(Dnat.of(web));
    assertThat(FlowCuts.listFilter(changed)).containsExactly("--dst-nat", "-p", "tcp", "--orig-port-dst", "80");
    assertThat(FlowCuts.listFilter(FlowCuts.changed(List.of(web, other), List.of()))).containsExactly("--dst-nat");
    assertThat(FlowCuts.changed(List.of(web, other), List.of(other, web))).isEmpty();
  }

  @Test
  void aBackendNoLongerReachedLosesAllItsFlowsThereInOneLine() {
    Flow bobToo = flow(Protocol.TCP, BOB, 40009, NODE, 80, POD1, 8080);
    NodeForward moved = forward("web", Protocol.TCP, List.of(), 80, List.of(), List.of(), backend(POD2, 8080));

    assertThat(FlowCuts.deletions(List.of(alice, bobToo), List.of(moved))).isEqualTo(
        "-D -p tcp --orig-dst 10.77.1.1 --dport 80 --reply-src 10.77.2.2 --reply-port-src 8080\n");
    assertThat(FlowCuts.deletions(List.of(alice), List.of())).as("the forward is gone").isEqualTo(
        "-D -p tcp --orig-dst 10.77.1.1 --dport 80 --reply-src 10.77.2.2 --reply-port-src 8080\n");
  }

  @Test
  void excludedClientsAreCoveredByTheWidestPrefixesThatHoldNoAllowedClient() {
    NodeForward onlyBob = forward("web", Protocol.TCP, List.of(), 80, List.of(Cidr.parse(BOB + "/32")), List.of(),
        backend(POD1, 8080));
    Flow aliceAgain = flow(Protocol.TCP, ALICE, 40010, NODE, 80, POD1, 8080);

    assertThat(FlowCuts.deletions(List.of(alice, aliceAgain), List.of(onlyBob))).as("10.77.1.2 and .3 differ in the last bit")
        .isEqualTo("-D -p tcp --orig-src 10.77.1.2/32 --orig-dst 10.77.1.1 --dport 80 --reply-src 10.77.2.2 --reply-port-src 8080\n");

    NodeForward oneSubnet = forward("web", Protocol.TCP, List.of(), 80, List.of(Cidr.parse("10.77.100.0/24")), List.of(),
        backend(POD1, 8080));
    assertThat(FlowCuts.uniformAround(oneSubnet, Cidr.parseAddress("10.77.139.229"))).isEqualTo(Cidr.parse("10.77.128.0/17"));
    assertThat(FlowCuts.uniformAround(oneSubnet, Cidr.parseAddress("10.77.101.5"))).isEqualTo(Cidr.parse("10.77.101.0/24"));
    assertThat(FlowCuts.uniformAround(oneSubnet, Cidr.parseAddress("fd77:1::2"))).as("no IPv6 range: every IPv6 client alike")
        .isEqualTo(Cidr.parse("::/0"));

    SourceRoute inner = new SourceRoute(List.of(Cidr.parse("10.77.100.128/25")), List.of(backend(POD2, 8080)));
    NodeForward routed = forward("web", Protocol.TCP, List.of(), 80, List.of(Cidr.parse("10.77.100.0/24")), List.of(inner),
        backend(POD1, 8080));
    assertThat(FlowCuts.uniformAround(routed, Cidr.parseAddress("10.77.100.200"))).isEqualTo(Cidr.parse("10.77.100.128/25"));
    assertThat(FlowCuts.uniformAround(routed, Cidr.parseAddress("10.77.100.5"))).isEqualTo(Cidr.parse("10.77.100.0/25"));
  }

  @Test
  void noPrefixOfACutClientHoldsAnAllowedOne() {
    SourceRoute route = new SourceRoute(List.of(Cidr.parse("10.77.100.128/25"), Cidr.parse("10.77.7.0/24")),
        List.of(backend(POD2, 8080)));
    NodeForward after = forward("web", Protocol.TCP, List.of(), 80,
        List.of(Cidr.parse("10.77.100.0/24"), Cidr.parse("10.77.7.7/32"), Cidr.parse("10.77.64.0/18")), List.of(route),
        backend(POD1, 8080));
    java.util.Random random = new java.util.Random(11);
    for (int i = 0; i < 2000; i++) {
      String client = "10.77." + random.nextInt(256) + "." + random.nextInt(256);
      Flow f = flow(Protocol.TCP, client, 40000, NODE, 80, random.nextBoolean() ? POD1 : POD2, 8080);
      if (FlowCuts.cut(List.of(Dnat.of(after)), List.of(after), List.of(f)).isEmpty()) {
        continue;
      }
      Cidr prefix = FlowCuts.uniformAround(after, f.source());
      for (int j = 0; j < 50; j++) {
        String other = "10.77." + random.nextInt(256) + "." + random.nextInt(256);
        if (prefix.contains(Cidr.parseAddress(other))) {
          Flow neighbour = flow(Protocol.TCP, other, 40000, NODE, 80, f.backend().getHostAddress(), 8080);
          assertThat(FlowCuts.cut(List.of(Dnat.of(after)), List.of(after), List.of(neighbour)))
              .as("%s shares %s with cut client %s", other, prefix, client).containsExactly(neighbour);
        }
      }
    }
  }

  private static List<Flow> cuts(List<NodeForward> before, List<NodeForward> after, Flow... flows) {
    return FlowCuts.cut(FlowCuts.changed(before, after), after, List.of(flows));
  }

  private static NodeForward forward(String name, Protocol protocol, List<String> listen, int port, List<Cidr> sources,
      List<SourceRoute> routes, Backend... backends) {
    return new NodeForward("test", name, 1, protocol, listen.stream().map(Cidr::parseAddress).toList(), port, sources,
        routes, List.of(backends));
  }

  private static Backend backend(String address, int port) {
    return new Backend(Cidr.parseAddress(address), port);
  }

  private static Flow flow(Protocol protocol, String source, int sourcePort, String destination, int port, String backend,
      int backendPort) {
    return new Flow(protocol, Cidr.parseAddress(source), sourcePort, Cidr.parseAddress(destination), port,
        Cidr.parseAddress(backend), backendPort);
  }
}
