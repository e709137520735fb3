package dev.portforward.operator.policy;

import static dev.portforward.operator.policy.Policies.listenPorts;
import static dev.portforward.operator.policy.Policies.maxForwards;
import static dev.portforward.operator.policy.Policies.selecting;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.PortRange;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ForwardLimitTest {

  private static final ForwardPolicy DEFAULTS = ForwardPolicy.from(Settings.defaults());
  private static final ForwardPolicy TWO = DEFAULTS.grantedBy(maxForwards(selecting("team-a", Map.of()), 2));

  @Test
  void theNewestBeyondTheLimitAreRefusedNamingThePolicy() {
    PortForward a = pf("a", "2026-01-01T00:00:00Z", 8080);
    PortForward b = pf("b", "2026-01-02T00:00:00Z", 8081);
    PortForward c = pf("c", "2026-01-03T00:00:00Z", 8082);
    List<PortForward> all = List.of(c, a, b);

    assertThat(ForwardLimit.check(a, () -> all, TWO, allowedBy(TWO))).isEmpty();
    assertThat(ForwardLimit.check(b, () -> all, TWO, allowedBy(TWO))).isEmpty();
    assertThat(ForwardLimit.check(c, () -> all, TWO, allowedBy(TWO))).get().isEqualTo(
        new Refusal(Reason.FORWARD_LIMIT_REACHED,
            "namespace n is at the limit of 2 PortForward(s) that PortForwardPolicy team-a allows"
                + " (spec.maxForwards), and this one is newer than those holding the slots; delete one, or ask an"
                + " administrator to raise the limit"));
    // Deleting one lets the next in.
    assertThat(ForwardLimit.check(c, () -> List.of(a, c), TWO, allowedBy(TWO))).isEmpty();
    b.getMetadata().setDeletionTimestamp("2026-01-04T00:00:00Z");
    assertThat(ForwardLimit.check(c, () -> all, TWO, allowedBy(TWO))).as("being deleted").isEmpty();
  }

  @Test
  void sameSecondTiesGoByNameButNeverUnseatAnAcceptedForward() {
    PortForward held = accepted(pf("m", "2026-01-01T00:00:00Z", 8080));
    PortForward other = accepted(pf("n", "2026-01-01T00:00:00Z", 8081));
    PortForward newcomer = pf("a", "2026-01-01T00:00:00Z", 8082);
    List<PortForward> all = List.of(held, other, newcomer);

    assertThat(ForwardLimit.check(newcomer, () -> all, TWO, allowedBy(TWO))).isPresent();
    assertThat(ForwardLimit.check(held, () -> all, TWO, allowedBy(TWO))).isEmpty();
    assertThat(ForwardLimit.check(other, () -> all, TWO, allowedBy(TWO))).isEmpty();
  }

  @Test
  void forwardsThePolicyRefusesTakeNoSlot() {
    ForwardPolicy policy = DEFAULTS.grantedBy(
        maxForwards(listenPorts(selecting("team-a", Map.of()), new PortRange(8000, 8999)), 1));
    PortForward refused = pf("old", "2026-01-01T00:00:00Z", 80);
    PortForward allowed = pf("new", "2026-01-02T00:00:00Z", 8080);

    assertThat(ForwardLimit.check(allowed, () -> List.of(refused, allowed), policy, allowedBy(policy))).isEmpty();
  }

  @Test
  void noLimitUnlessAPolicySetsOneAndZeroAllowsNone() {
    PortForward a = pf("a", "2026-01-01T00:00:00Z", 8080);
    // Without a limit the namespace is not listed: a judgement stays O(1) in the namespace's size.
    assertThat(ForwardLimit.check(a, () -> fail("listed without a limit"), DEFAULTS, allowedBy(DEFAULTS))).isEmpty();

    ForwardPolicy none = DEFAULTS.grantedBy(maxForwards(selecting("frozen", Map.of()), 0));
    assertThat(ForwardLimit.check(a, () -> List.of(a), none, allowedBy(none))).get().extracting(Refusal::message)
        .isEqualTo("PortForwardPolicy frozen allows no PortForwards in namespace n (spec.maxForwards: 0)");
  }

  @Test
  void aFullNamespaceIsCountedNotRankedThePolicyRunningOnlyOnForwardsAhead() {
    List<PortForward> all = IntStream.range(0, 1000)
        .mapToObj(i -> pf("pf-" + i, Instant.parse("2026-01-01T00:00:00Z").plusSeconds(i).toString(), 8000 + i))
        .toList();
    AtomicInteger policyChecks = new AtomicInteger();
    Predicate<PortForward> counted = c -> {
      policyChecks.incrementAndGet();
      return allowedBy(TWO).test(c);
    };

    assertThat(ForwardLimit.check(all.get(999), () -> all, TWO, counted)).isPresent();
    assertThat(policyChecks).as("the newest: checks stop at the limit").hasValue(2);
    policyChecks.set(0);
    assertThat(ForwardLimit.check(all.get(0), () -> all, TWO, counted)).isEmpty();
    assertThat(policyChecks).as("the oldest: none is ahead of it").hasValue(0);
  }

  @Test
  void otherNamespacesDoNotCount() {
    PortForward a = pf("a", "2026-01-01T00:00:00Z", 8080);
    PortForward elsewhere = PortClaimsTest.pf("other", "x", "2025-01-01T00:00:00Z", 8080);
    PortForward elsewhere2 = PortClaimsTest.pf("other", "y", "2025-01-01T00:00:00Z", 8081);

    assertThat(ForwardLimit.check(a, () -> List.of(elsewhere, elsewhere2, a), TWO, allowedBy(TWO))).isEmpty();
  }

  private static Predicate<PortForward> allowedBy(ForwardPolicy policy) {
    return pf -> policy.check(pf.getSpec()).isEmpty();
  }

  private static PortForward pf(String name, String created, int port) {
    PortForward pf = PortClaimsTest.pf("n", name, created, port);
    pf.getMetadata().setGeneration(1L);
    return pf;
  }

  private static PortForward accepted(PortForward pf) {
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(pf.getMetadata().getGeneration());
    status.setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus("True").build()));
    pf.setStatus(status);
    return pf;
  }
}
