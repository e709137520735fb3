package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.SourceRoute;
import dev.portforward.agent.nft.Nft;
import dev.portforward.agent.nft.RulesetRenderer;
import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real packets through real nftables: the rules the agent renders, applied in a node namespace
 * between a client and two pods (see {@link NodeTopology}).
 */
class DnatIT {


  private NodeTopology hosts;
  private NetNs net;
  private String node;
  private NodeSync sync;
  private Nft nft;

  @BeforeEach
  void topology() throws Exception {
    hosts = NodeTopology.create();
    net = hosts.net;
    node = hosts.node;
    nft = new Nft(NetNs.inside(node));
    sync = new NodeSync(nft);
  }

  @AfterEach
  void teardown() {
    hosts.close();
  }

  @Test
  void aPrivilegedPortReachesABackendOnAHighPortWithNoProcessListening() {
    apply(tcp("web", 80, List.of(), List.of(), backend("10.77.2.2", 8080)));

    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(80), "pod1"::equals);
  }

  @Test
  void newConnectionsAreSpreadOverAllBackends() {
    apply(tcp("web", 8080, List.of(), List.of(), backend("10.77.2.2", 8080), backend("10.77.3.2", 8080)));

    Set<String> seen = new HashSet<>();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      seen.add(tcpAsk(8080));
      return seen.containsAll(List.of("pod1", "pod2"));
    });
  }

  @Test
  void onlyAllowedSourcesGetThrough() {
    apply(tcp("web", 8080, List.of(Cidr.parse("10.77.1.0/24")), List.of(), backend("10.77.2.2", 8080)));
    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8080), "pod1"::equals);

    apply(tcp("web", 8080, List.of(Cidr.parse("10.77.9.0/24")), List.of(), backend("10.77.2.2", 8080)));
    assertThat(tcpAsk(8080)).as("a client outside sourceRanges, with the backend up").isEmpty();
  }

  @Test
  void aSourceRouteWinsOverTheDefaultBackends() {
    SourceRoute toPod2 = new SourceRoute(List.of(Cidr.parse("10.77.1.0/24")), List.of(backend("10.77.3.2", 8080)));
    SourceRoute elsewhere = new SourceRoute(List.of(Cidr.parse("10.77.8.0/24")), List.of(backend("10.77.2.2", 8080)));
    apply(tcp("web", 8080, List.of(), List.of(elsewhere, toPod2), backend("10.77.2.2", 8080)));

    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8080), "pod2"::equals);
  }

  @Test
  void aBackendReachesItsOwnForwardThroughTheNode() {
    apply(tcp("web", 8080, List.of(), List.of(), backend(NodeTopology.POD1_IP, 8080), backend(NodeTopology.POD1_IP6, 8080)));

    await().atMost(Duration.ofSeconds(20)).until(() -> hosts.tcpAsk(hosts.pod1, NodeTopology.NODE_IP, 8080), "pod1"::equals);
    assertThat(hosts.tcpAsk(hosts.pod1, "[" + NodeTopology.NODE_IP6 + "]", 8080)).isEqualTo("pod1-v6");
    assertThat(hosts.tcpAsk(8080)).as("other clients keep their own address").isEqualTo("pod1");
    assertThat(net.exec(node, "conntrack", "-L", "-p", "tcp", "--orig-src", NodeTopology.CLIENT_IP, "--dport", "8080"))
        .as("only the hairpin is masqueraded").doesNotContain("dst=10.77.2.1");
  }

  @Test
  void eachAddressFamilyReachesItsOwnBackendsAndSourceRanges() {
    apply(tcp("web", 8080, List.of(Cidr.parse("10.77.1.0/24"), Cidr.parse("fd77:1::/64")), List.of(),
        backend(NodeTopology.POD1_IP, 8080), backend(NodeTopology.POD2_IP6, 8080)));
    await().atMost(Duration.ofSeconds(20)).until(() -> hosts.tcpAsk6(8080), "pod2-v6"::equals);
    assertThat(tcpAsk(8080)).isEqualTo("pod1");

    apply(tcp("web", 8080, List.of(Cidr.parse("10.77.1.0/24"), Cidr.parse("fd77:9::/64")), List.of(),
        backend(NodeTopology.POD1_IP, 8080), backend(NodeTopology.POD2_IP6, 8080)));
    assertThat(hosts.tcpAsk6(8080)).as("an IPv6 client outside sourceRanges").isEmpty();
    assertThat(tcpAsk(8080)).isEqualTo("pod1");
  }

  @Test
  void aUdpClientFollowsTheBackendSwitchBecauseConntrackForgetsTheOldOne() {
    apply(udp("dns", 5353, backend("10.77.2.2", 5353)));
    await().atMost(Duration.ofSeconds(20)).until(() -> udpAsk(5353), "pod1"::equals);

    apply(udp("dns", 5353, backend("10.77.3.2", 5353)));

    // Same client address and port as before: without the conntrack cleanup, the old mapping
    // would keep sending it to pod1 for as long as it keeps talking.
    // The same client port as before (a loaded machine may drop one ask, hence the retry): only a
    // forgotten conntrack entry lets it reach pod2.
    assertThat(await().atMost(Duration.ofSeconds(20)).until(() -> udpAsk(5353), answer -> !answer.isEmpty()))
        .isEqualTo("pod2");
  }

  @Test
  void aRestartedAgentForgetsBackendsItProgrammedBeforeTheRestart() {
    apply(udp("dns", 5353, backend("10.77.2.2", 5353)));
    await().atMost(Duration.ofSeconds(20)).until(() -> udpAsk(5353), "pod1"::equals);

    // A new agent process knows nothing of pod1; the table it replaces still names it.
    sync = new NodeSync(nft);
    apply(udp("dns", 5353, backend("10.77.3.2", 5353)));

    // The same client port as before (a loaded machine may drop one ask, hence the retry): only a
    // forgotten conntrack entry lets it reach pod2.
    assertThat(await().atMost(Duration.ofSeconds(20)).until(() -> udpAsk(5353), answer -> !answer.isEmpty()))
        .isEqualTo("pod2");
  }

  @Test
  void anUnchangedStateWritesNothingAndDriftIsRepaired() {
    List<NodeForward> desired = List.of(tcp("web", 8080, List.of(), List.of(), backend("10.77.2.2", 8080)));
    assertThat(sync.sync(desired).applied()).isTrue();
    assertThat(sync.sync(desired).applied()).as("nothing changed").isFalse();
    assertThat(sync.verify(desired).applied()).as("nothing changed, nothing drifted").isFalse();
    String programmed = nft.listTable();

    net.exec(node, "nft", "delete", "table", "inet", "portforward");
    assertRepaired(desired, programmed);
    net.exec(node, "nft", "flush", "chain", "inet", "portforward", RulesetRenderer.chainName(desired.get(0)));
    assertRepaired(desired, programmed);
    String handle = net.exec(node, "nft", "-a", "list", "chain", "inet", "portforward", "forwards").lines()
        .filter(l -> l.contains("listen_ip4")).map(l -> l.substring(l.lastIndexOf(' ') + 1)).findFirst().orElseThrow();
    net.exec(node, "nft", "delete", "rule", "inet", "portforward", "forwards", "handle", handle);
    assertRepaired(desired, programmed);
    net.exec(node, "nft", "add", "rule", "inet", "portforward", "forwards", "tcp", "dport", "22", "accept");
    assertRepaired(desired, programmed);
    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8080), "pod1"::equals);
  }

  /**
   * A resync after a partial update (one forward added) finds the kernel as it left it and writes
   * nothing: the table keeps its kernel handle, which a whole replacement (delete, define) renews.
   * Drift after a partial update is still repaired.
   */
  @Test
  void afterAPartialUpdateAnUnchangedStateWritesNothingAndDriftIsStillRepaired() {
    NodeForward web = tcp("web", 8080, List.of(), List.of(), backend("10.77.2.2", 8080));
    NodeForward api = tcp("api", 8081, List.of(), List.of(), backend("10.77.3.2", 8080));
    apply(web);
    String replaced = tableHandle();
    apply(web, api);
    String updated = tableHandle();
    assertThat(updated).as("a partial update keeps the table").isEqualTo(replaced);

    NodeSync.Outcome resync = sync.verify(List.of(web, api));
    assertThat(tableHandle()).as("the resync rewrote nothing").isEqualTo(updated);
    assertThat(resync.applied()).as("nothing changed, nothing drifted").isFalse();

    net.exec(node, "nft", "add", "rule", "inet", "portforward", "forwards", "tcp", "dport", "22", "accept");
    assertThat(sync.verify(List.of(web, api)).applied()).as("drift is repaired").isTrue();
    assertThat(tableHandle()).as("replaced whole").isNotEqualTo(updated);
    assertThat(net.exec(node, "nft", "list", "chain", "inet", "portforward", "forwards")).doesNotContain("dport 22");
    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8081), "pod2"::equals);
  }

  /** The kernel's handle of the agent's table, from {@code nft -a list table}'s first line. */
  private String tableHandle() {
    String first = net.exec(node, "nft", "-a", "list", "table", "inet", "portforward").lines().findFirst().orElseThrow();
    return first.substring(first.indexOf("# handle"));
  }

  @Test
  void anEstablishedConnectionSurvivesAReapplyAndOtherTablesAreNeverTouched() throws Exception {
    net.exec(node, "nft", "add", "table", "ip", "other");
    net.exec(node, "nft", "add", "chain", "ip", "other", "input", "{ type filter hook input priority 0; }");
    net.exec(node, "nft", "add", "rule", "ip", "other", "input", "tcp", "dport", "9999", "accept");
    String other = net.exec(node, "nft", "list", "table", "ip", "other");
    apply(tcp("web", 8080, List.of(), List.of(), backend("10.77.2.2", 8080)));
    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8080), "pod1"::equals);

    // A long-lived connection through the forward: pod1 echoes what the client sends.
    net.spawn(hosts.pod1, "socat", "TCP-LISTEN:9090,reuseaddr", "EXEC:cat");
    apply(tcp("web", 8080, List.of(), List.of(), backend("10.77.2.2", 8080)),
        tcp("echo", 9090, List.of(), List.of(), backend("10.77.2.2", 9090)));
    Process session = net.spawn(hosts.client, "socat", "-", "TCP:" + NodeTopology.NODE_IP + ":9090,retry=20,interval=0.2");
    var toServer = session.outputWriter();
    var fromServer = session.inputReader();
    toServer.write("before\n");
    toServer.flush();
    assertThat(fromServer.readLine()).isEqualTo("before");

    apply(tcp("echo", 9090, List.of(), List.of(), backend("10.77.2.2", 9090)),
        tcp("other", 7070, List.of(), List.of(), backend("10.77.3.2", 8080)));
    toServer.write("after\n");
    toServer.flush();
    assertThat(fromServer.readLine()).isEqualTo("after");

    sync.cleanup();
    assertThat(nft.listTable()).isEmpty();
    assertThat(net.exec(node, "nft", "list", "table", "ip", "other")).isEqualTo(other);
  }

  @Test
  void aFailedTransactionLeavesThePreviousRulesAndTheNextSyncReplacesTheTable() throws Exception {
    // nft under a wrapper that fails while a flag file exists, as a kernel refusing a batch would.
    java.nio.file.Path flag = java.nio.file.Files.createTempFile("nft-fails-", "");
    List<String> failing = new java.util.ArrayList<>(List.of("bash", "-c",
        "if [ -e " + flag + " ] && [ \"$6\" = -f ]; then echo 'Error: injected' >&2; exit 1; fi; exec \"$@\"", "_"));
    failing.addAll(NetNs.inside(node));
    java.nio.file.Files.delete(flag);
    NodeSync flaky = new NodeSync(new Nft(failing));
    NodeForward web = tcp("web", 8080, List.of(), List.of(), backend("10.77.2.2", 8080));
    NodeForward api = tcp("api", 8081, List.of(), List.of(), backend("10.77.3.2", 8080));
    assertThat(flaky.sync(List.of(web)).programmed()).isTrue();
    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8080), "pod1"::equals);

    java.nio.file.Files.createFile(flag);
    NodeSync.Outcome failed = flaky.sync(List.of(web, api));
    assertThat(failed.programmed()).isFalse();
    assertThat(failed.error()).contains("injected");
    assertThat(tcpAsk(8080)).as("the previous rules stay in force").isEqualTo("pod1");

    java.nio.file.Files.delete(flag);
    assertThat(flaky.sync(List.of(web, api)).applied()).isTrue();
    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8081), "pod2"::equals);
    assertThat(nft.listTable()).as("replaced whole: exactly the desired table")
        .isEqualTo(afterReplacing(List.of(web, api)));
  }

  @Test
  void aForwardAnswersOnTheNodesOwnAddressesOnlyNotOnItsOtherLocalAddresses() {
    // A second address on the client-facing interface that the Node object does not list, like a
    // docker0 or CNI bridge address; and the pod-facing gateway 10.77.2.1, local too.
    String device = net.exec(node, "ip", "-o", "-4", "addr", "show", "to", NodeTopology.NODE_IP + "/32").split("\\s+")[1];
    net.exec(node, "ip", "addr", "add", "10.77.1.3/24", "dev", device);
    Node self = new NodeBuilder().withNewMetadata().withName("node").endMetadata().withNewStatus()
        .addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP).endAddress()
        .addNewAddress().withType("Hostname").withAddress("node").endAddress()
        .endStatus().build();
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace("test").withName("web").withGeneration(1L).build());
    PortForwardSpec spec = new PortForwardSpec();
    Listen listen = new Listen();
    listen.setPort(8088);
    spec.setListen(listen);
    ExternalTarget external = new ExternalTarget();
    external.setHost(NodeTopology.POD1_IP);
    external.setPort(8080);
    Target target = new Target();
    target.setExternal(external);
    spec.setTarget(target);
    pf.setSpec(spec);
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(1L);
    status.setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus("True").build()));
    pf.setStatus(status);

    NodePlanner.Plan plan = NodePlanner.plan(self, new NodePlanner.View() {
      @Override public List<PortForward> portForwards() {
        return List.of(pf);
      }

      @Override public java.util.Optional<Service> service(String namespace, String name) {
        return java.util.Optional.empty();
      }

      @Override public List<EndpointSlice> endpointSlices(String namespace, String service) {
        return List.of();
      }

      @Override public List<EndpointSlice> forwardSlices(String namespace, String portForward) {
        return List.of();
      }
    }, NodePlanner.Policy.DEFAULT);
    assertThat(sync.sync(plan.forwards()).error()).isNull();

    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8088), "pod1"::equals);
    assertThat(hosts.tcpAsk(hosts.client, "10.77.1.3", 8088)).as("another local address of the node").isEmpty();
    assertThat(hosts.tcpAsk(hosts.pod2, "10.77.3.1", 8088)).as("the pods' gateway address on the node").isEmpty();
    assertThat(hosts.tcpAsk(hosts.client, "10.77.1.3", 22)).as("nothing else changed").isEmpty();
  }

  @Test
  void aForwardTheKernelRefusesIsReportedAndTheOthersWork() {
    NodeForward web = tcp("web", 8080, List.of(), List.of(), backend("10.77.2.2", 8080));
    NodeForward api = tcp("api", 8081, List.of(), List.of(), backend("10.77.3.2", 8080));
    // Two forwards on one dispatch key, which the planner never emits: the kernel says "File exists".
    NodeForward clash = tcp("clash", 8080, List.of(), List.of(), backend("10.77.3.2", 8080));
    List<NodeForward> desired = List.of(web, clash, api);

    NodeSync.Outcome outcome = sync.sync(desired);

    assertThat(outcome.programmed()).isTrue();
    assertThat(outcome.refused()).containsOnlyKeys("test/clash");
    assertThat(outcome.refused().get("test/clash")).contains("File exists");
    await().atMost(Duration.ofSeconds(20)).until(() -> tcpAsk(8080), "pod1"::equals);
    assertThat(tcpAsk(8081)).isEqualTo("pod2");

    NodeSync.Outcome again = sync.sync(desired);
    assertThat(again.applied()).as("unchanged: no operation, the refused forward is not tried again").isFalse();
    assertThat(again.refused()).containsOnlyKeys("test/clash");
    NodeSync.Outcome verified = sync.verify(desired);
    assertThat(verified.applied()).as("the periodic check: one nft -c says it is still refused").isFalse();
    assertThat(verified.refused()).containsOnlyKeys("test/clash");
    assertThat(sync.sync(List.of(web, api)).applied()).as("the kernel already holds exactly the rest").isFalse();
    assertThat(sync.sync(List.of(web, api)).refused()).isEmpty();
    assertThat(nft.listTable()).as("as if replaced whole with the rest").isEqualTo(afterReplacing(List.of(web, api)));
  }

  @Test
  void theIsolationNeedsLogarithmicallyManyChecks() throws Exception {
    java.nio.file.Path checks = java.nio.file.Files.createTempFile("nft-checks-", "");
    List<String> counting = new java.util.ArrayList<>(List.of("bash", "-c",
        "if [ \"$6\" = -c ]; then echo >> " + checks + "; fi; exec \"$@\"", "_"));
    counting.addAll(NetNs.inside(node));
    try {
      List<NodeForward> desired = new java.util.ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        desired.add(tcp("f" + i, 20000 + i, List.of(), List.of(), backend("10.77.3.2", 8080)));
      }
      desired.add(800, tcp("clash", 20700, List.of(), List.of(), backend("10.77.2.2", 8080)));

      assertThat(new NodeSync(new Nft(counting)).sync(desired).refused()).containsOnlyKeys("test/clash");

      long count = java.nio.file.Files.readAllLines(checks).size();
      // One check of the empty table, one of all 1001, then at most two per halving.
      assertThat(count).as("nft -c runs for 1001 forwards").isBetween(3L, 2L + 2 * 10);
    } finally {
      java.nio.file.Files.deleteIfExists(checks);
    }
  }

  /** What the kernel lists after a whole replacement with {@code forwards}. */
  private String afterReplacing(List<NodeForward> forwards) {
    new NodeSync(nft).sync(forwards);
    return nft.listTable();
  }

  @Test
  void theGoldenRulesetsAreAcceptedByTheKernel() throws Exception {
    for (String golden : List.of("representative.nft", "empty.nft")) {
      nft.apply(java.nio.file.Files.readString(java.nio.file.Path.of("src/test/resources/golden", golden)));
    }
    sync.cleanup();
    assertThat(nft.listTable()).isEmpty();
  }

  private void assertRepaired(List<NodeForward> desired, String programmed) {
    assertThat(sync.verify(desired).applied()).as("drift is repaired").isTrue();
    assertThat(nft.listTable()).isEqualTo(programmed);
  }

  private void apply(NodeForward... forwards) {
    NodeSync.Outcome outcome = sync.sync(List.of(forwards));
    assertThat(outcome.error()).isNull();
  }

  private String tcpAsk(int port) {
    return hosts.tcpAsk(port);
  }

  private String udpAsk(int port) {
    return hosts.udpAsk(port);
  }

  private static NodeForward tcp(String name, int port, List<Cidr> sources, List<SourceRoute> routes, Backend... backends) {
    return new NodeForward("test", name, 1, Protocol.TCP, NodeTopology.NODE_ADDRESSES, port, sources, routes, List.of(backends));
  }

  private static NodeForward udp(String name, int port, Backend... backends) {
    return new NodeForward("test", name, 1, Protocol.UDP, NodeTopology.NODE_ADDRESSES, port, List.of(), List.of(), List.of(backends));
  }

  private static Backend backend(String address, int port) {
    return new Backend(Cidr.parseAddress(address), port);
  }
}
