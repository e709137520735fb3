package dev.portforward.agent.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeForward.SourceRoute;
import dev.portforward.api.v1alpha1.ApplicationProtocol;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Golden files of the rendered ruleset for representative forwards. After an intended change,
 * regenerate with -Dgolden.update=true and review the diff; DnatIT proves the rules on a kernel.
 */
class RulesetRendererTest {

  @Test
  void representativeForwards() throws Exception {
    List<NodeForward> forwards = List.of(
        // 80 -> 8080 on both of the node's addresses, two backends, one of them on another node.
        elsewhere(forward("shop", "web", Protocol.TCP, List.of("192.0.2.10", "2001:db8::10"), 80, List.of(), List.of(),
            backend("10.244.1.5", 8080), backend("10.244.2.7", 8080)), "10.244.2.7"),
        // UDP on one address, allowlisted sources (both families), one backend.
        forward("infra", "dns", Protocol.UDP, List.of("192.0.2.10"), 5353,
            List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("2001:db8::/32")), List.of(), backend("10.244.3.9", 53)),
        // Per-source route first, the rest to the default backend, dual-stack listen; the route's
        // backend and the IPv6 one on other nodes.
        elsewhere(forward("shop", "admin", Protocol.TCP, List.of("192.0.2.10", "2001:db8::10"), 8443, List.of(),
            List.of(new SourceRoute(List.of(Cidr.parse("10.1.0.0/16")), List.of(backend("10.244.4.4", 443)))),
            backend("10.244.5.5", 443), backend("fd00::5", 443)), "10.244.4.4", "fd00::5"));

    assertGolden("representative.nft", RulesetRenderer.render(forwards));
  }

  @Test
  void weightedBackendsTakeIntervalsOfSlotsAndEqualWeightsRenderAsUnweighted() throws Exception {
    List<NodeForward> forwards = List.of(
        // A canary: 80 to v1's one endpoint, 20 shared by v2's two (slots 8, 1, 1), dual-stack.
        forward("shop", "canary", Protocol.TCP, List.of("192.0.2.10", "2001:db8::10"), 80, List.of(), List.of(),
            new Backend(Cidr.parseAddress("10.244.1.5"), 8080, 8), new Backend(Cidr.parseAddress("10.244.2.7"), 8080, 1),
            new Backend(Cidr.parseAddress("10.244.2.8"), 8080, 1), new Backend(Cidr.parseAddress("fd00::5"), 8080, 3),
            new Backend(Cidr.parseAddress("fd00::6"), 8080, 1)),
        // Equal weights (50/50 reduced to 1 and 1): exactly the rule of an unweighted Service.
        forward("shop", "even", Protocol.UDP, List.of("192.0.2.10"), 53, List.of(), List.of(),
            backend("10.244.3.1", 53), backend("10.244.3.2", 53)));

    String rendered = RulesetRenderer.render(forwards);

    assertGolden("weighted.nft", rendered);
    assertThat(rendered).contains("numgen random mod 10 map { 0-7 : 10.244.1.5 . 8080, 8 : 10.244.2.7 . 8080,"
        + " 9 : 10.244.2.8 . 8080 }", "numgen random mod 2 map { 0 : 10.244.3.1 . 53, 1 : 10.244.3.2 . 53 }");
  }

  @Test
  void anUpdateTouchesOnlyWhatChanged() throws Exception {
    NodeForward kept = forward("shop", "web", Protocol.TCP, List.of("192.0.2.10"), 80, List.of(), List.of(),
        backend("10.244.1.5", 8080));
    NodeForward moved = forward("shop", "api", Protocol.TCP, List.of("192.0.2.10"), 81, List.of(Cidr.parse("10.0.0.0/8")), List.of(),
        backend("10.244.1.6", 8080));
    NodeForward movedTo = elsewhere(forward("shop", "api", Protocol.TCP, List.of("192.0.2.10"), 81,
        List.of(Cidr.parse("10.0.0.0/8")), List.of(), backend("10.244.9.9", 8080)), "10.244.9.9");
    NodeForward added = forward("shop", "new", Protocol.UDP, List.of("192.0.2.10"), 53, List.of(), List.of(),
        backend("10.244.1.7", 53));

    assertGolden("update.nft", RulesetRenderer.update(List.of(kept, moved), List.of(kept, movedTo, added)));
    assertThat(RulesetRenderer.update(List.of(kept, moved), List.of(moved, kept))).isEmpty();
  }

  @Test
  void limitsLiveInTheForwardsOwnChainAndSets() throws Exception {
    NodeForward limited = new NodeForward("shop", "web", 1, Protocol.TCP, List.of(Cidr.parseAddress("192.0.2.10")), 80, List.of(Cidr.parse("10.0.0.0/8")),
        List.of(), List.of(backend("10.244.1.5", 8080)), new NodeForward.Limits(100, 20));
    NodeForward countOnly = new NodeForward("shop", "dns", 1, Protocol.UDP, List.of(Cidr.parseAddress("192.0.2.10")), 53, List.of(), List.of(),
        List.of(backend("10.244.1.6", 53)), new NodeForward.Limits(1000, 0));

    assertGolden("limits.nft", RulesetRenderer.render(List.of(limited, countOnly)));
    String chain = RulesetRenderer.chainName(limited);
    assertThat(RulesetRenderer.update(List.of(limited, countOnly), List.of(countOnly)))
        .as("the rate sets go with their forward").contains("delete set inet portforward " + chain + "_rate4\n",
            "delete set inet portforward " + chain + "_rate6\n");
  }

  @Test
  void anFtpForwardHasItsOwnHelperSetOnItsOwnConnections() throws Exception {
    NodeForward ftp = new NodeForward("shop", "ftp", 1, Protocol.TCP, List.of(Cidr.parseAddress("192.0.2.10")), 2121,
        List.of(Cidr.parse("10.0.0.0/8")), List.of(), List.of(backend("10.244.1.5", 21)), NodeForward.Limits.NONE,
        ApplicationProtocol.FTP);

    assertGolden("ftp.nft", RulesetRenderer.render(List.of(ftp)));
    assertThat(RulesetRenderer.update(List.of(ftp), List.of()))
        .as("the helper goes after the chain that uses it")
        .containsSubsequence("delete chain inet portforward " + RulesetRenderer.chainName(ftp) + "\n",
            "delete ct helper inet portforward " + RulesetRenderer.chainName(ftp) + "_ftp\n");
  }

  @Test
  void noForwardsIsAnEmptyTableAndCleanupTouchesOnlyOurs() throws Exception {
    assertGolden("empty.nft", RulesetRenderer.render(List.of()));
    assertThat(RulesetRenderer.cleanup()).isEqualTo("table inet portforward {}\ndelete table inet portforward\n");
  }

  @Test
  void namesThatAreNotKubernetesNamesNeverReachTheRuleset() {
    NodeForward evil = forward("ns", "x\" ; flush ruleset ; \"", Protocol.TCP, List.of(), 80, List.of(), List.of(),
        backend("10.0.0.1", 80));
    assertThatThrownBy(() -> RulesetRenderer.render(List.of(evil))).hasMessageContaining("not a Kubernetes object name");
  }

  @Test
  void theLongestNamesTheApiServerAdmitsRenderACommentNftAccepts() {
    String namespace = "n".repeat(63);
    String name = "a".repeat(200) + "." + "b".repeat(52);
    NodeForward longest = forward(namespace, name, Protocol.TCP, List.of("192.0.2.10"), 80, List.of(), List.of(),
        backend("10.0.0.1", 80));

    String rendered = RulesetRenderer.render(List.of(longest));

    String comment = rendered.lines().filter(l -> l.contains("comment")).findFirst().orElseThrow().strip();
    assertThat(comment).isEqualTo("comment \"" + (namespace + "/" + name).substring(0, 125) + "...\"");
    assertThat(comment.length() - "comment \"\"".length()).isEqualTo(RulesetRenderer.MAX_COMMENT);
    assertThat(RulesetRenderer.comment("shop/web")).isEqualTo("shop/web");
  }

  private static void assertGolden(String name, String actual) throws Exception {
    Path golden = Path.of("src/test/resources/golden", name);
    if (Boolean.getBoolean("golden.update")) {
      Files.writeString(golden, actual);
    }
    assertThat(actual).as("golden file %s (regenerate with -Dgolden.update=true)", golden)
        .isEqualTo(Files.readString(golden));
  }

  private static NodeForward forward(String ns, String name, Protocol protocol, List<String> listen, int port,
      List<Cidr> sources, List<SourceRoute> routes, Backend... backends) {
    return new NodeForward(ns, name, 1, protocol, listen.stream().map(Cidr::parseAddress).toList(), port, sources,
        routes, List.of(backends));
  }

  /** {@code f} with {@code addresses} known to run on another node. */
  private static NodeForward elsewhere(NodeForward f, String... addresses) {
    return new NodeForward(f.namespace(), f.name(), f.generation(), f.protocol(), f.listenAddresses(), f.port(),
        f.sourceRanges(), f.routes(), f.backends(), f.limits(), f.applicationProtocol(),
        Stream.of(addresses).map(Cidr::parseAddress).toList());
  }

  private static Backend backend(String address, int port) {
    return new Backend(Cidr.parseAddress(address), port);
  }
}
