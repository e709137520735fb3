package dev.portforward.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.operator.status.Check;
import dev.portforward.operator.status.StatusAggregator;
import dev.portforward.operator.status.Verdict;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class PortClaimsTest {

  private final ForwardPolicy policy = ForwardPolicy.from(Settings.defaults());
  private final Predicate<PortForward> allowed = c -> policy.check(c.getSpec()).isEmpty();

  @Test
  void theOldestClaimantKeepsThePortWhateverTheOrder() {
    PortForward old = pf("b", "old", "2026-01-01T00:00:00Z", 8080);
    PortForward young = pf("a", "young", "2026-01-02T00:00:00Z", 8080);
    List<PortForward> all = List.of(young, old);

    assertThat(PortClaims.blocker(old, all, allowed)).isEmpty();
    assertThat(blockerName(young, all)).contains("old");
  }

  @Test
  void tiesInAgeGoByNamespaceThenName() {
    PortForward a = pf("a", "z", "2026-01-01T00:00:00Z", 8080);
    PortForward b = pf("b", "a", "2026-01-01T00:00:00Z", 8080);
    assertThat(blockerName(b, List.of(a, b))).contains("z");
    assertThat(PortClaims.blocker(a, List.of(a, b), allowed)).isEmpty();
  }

  @Test
  void anOwnerKeepsItsPortAgainstANewcomerOfTheSameSecond() {
    PortForward owner = pf("n", "owner", "2026-01-01T00:00:00Z", 8080);
    owner.getMetadata().setGeneration(2L);
    owner.setStatus(StatusAggregator.next(owner,
        new Verdict(Check.ok("Accepted", "owns the port"), Check.ok("ResolvedRefs", ""), Check.fail("x", ""),
            Check.fail("x", ""), "service/web:80", List.of(), List.of(), java.util.Optional.empty(), List.of(),
            "default"),
        java.time.Instant.parse("2026-01-01T00:00:00Z")));
    PortForward newcomer = pf("n", "a-newcomer", "2026-01-01T00:00:00Z", 8080);

    assertThat(blockerName(newcomer, List.of(owner, newcomer))).contains("owner");
    assertThat(PortClaims.blocker(owner, List.of(owner, newcomer), allowed)).isEmpty();

    // Once its spec changes, the owner's Accepted speaks of an old generation: no precedence.
    owner.getMetadata().setGeneration(3L);
    assertThat(blockerName(owner, List.of(owner, newcomer))).contains("a-newcomer");
  }

  @Test
  void aLoserDoesNotBlockAnyone() {
    // first listens on every address; second on one; third on another: only first owns the port,
    // and third loses to first, not to second.
    PortForward first = pf("n", "first", "2026-01-01T00:00:00Z", 8080);
    PortForward second = pf("n", "second", "2026-01-02T00:00:00Z", 8080);
    second.getSpec().getListen().setAddresses(List.of("192.0.2.1"));
    PortForward third = pf("n", "third", "2026-01-03T00:00:00Z", 8080);
    third.getSpec().getListen().setAddresses(List.of("192.0.2.2"));
    List<PortForward> all = List.of(first, second, third);

    assertThat(blockerName(second, all)).contains("first");
    assertThat(blockerName(third, all)).contains("first");
    assertThat(blockerName(third, List.of(second, third))).isEmpty();
  }

  @Test
  void twoSpellingsOfOneAddressConflict() {
    PortForward first = pf("a", "first", "2026-01-01T00:00:00Z", 8080);
    first.getSpec().getListen().setAddresses(List.of("fd77:1::1"));
    PortForward second = pf("b", "second", "2026-01-02T00:00:00Z", 8080);
    second.getSpec().getListen().setAddresses(List.of("192.0.2.9", "FD77:0001:0000:0000:0000:0000:0000:0001"));
    PortForward other = pf("c", "other", "2026-01-03T00:00:00Z", 8080);
    other.getSpec().getListen().setAddresses(List.of("fd77:1::2", "192.0.2.10"));

    assertThat(blockerName(second, List.of(first, second, other))).contains("first");
    assertThat(blockerName(other, List.of(first, second, other))).isEmpty();
  }

  @Test
  void disjointNodeSelectorsAndProtocolsDoNotConflict() {
    PortForward edge = pf("n", "edge", "2026-01-01T00:00:00Z", 8080);
    edge.getSpec().getListen().setNodeSelector(Map.of("role", "edge"));
    PortForward core = pf("n", "core", "2026-01-02T00:00:00Z", 8080);
    core.getSpec().getListen().setNodeSelector(Map.of("role", "core"));
    PortForward udp = pf("n", "udp", "2026-01-03T00:00:00Z", 8080);
    udp.getSpec().setProtocol(Protocol.UDP);

    assertThat(blockerName(core, List.of(edge, core, udp))).isEmpty();
    assertThat(PortClaims.key(udp)).isEqualTo("UDP/8080");
  }

  @Test
  void refusedOrDeletingForwardsClaimNothing() {
    PortForward privileged = pf("n", "privileged", "2026-01-01T00:00:00Z", 80);
    PortForward later = pf("n", "later", "2026-01-02T00:00:00Z", 80);
    assertThat(blockerName(later, List.of(privileged, later))).as("privileged ports are refused by default").isEmpty();

    PortForward leaving = pf("n", "leaving", "2026-01-01T00:00:00Z", 8080);
    leaving.getMetadata().setDeletionTimestamp("2026-01-05T00:00:00Z");
    PortForward next = pf("n", "next", "2026-01-02T00:00:00Z", 8080);
    assertThat(blockerName(next, List.of(leaving, next))).isEmpty();
  }

  private Optional<String> blockerName(PortForward pf, List<PortForward> all) {
    return PortClaims.blocker(pf, all, allowed).map(p -> p.getMetadata().getName());
  }

  static PortForward pf(String namespace, String name, String created, int port) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name)
        .withCreationTimestamp(created).build());
    pf.setSpec(ForwardPolicyTest.spec(port, null));
    return pf;
  }
}
