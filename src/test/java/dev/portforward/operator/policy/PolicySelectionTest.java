package dev.portforward.operator.policy;

import static dev.portforward.operator.policy.Policies.external;
import static dev.portforward.operator.policy.Policies.precedence;
import static dev.portforward.operator.policy.Policies.selecting;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.NamespaceSelector;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.SelectorOperator;
import dev.portforward.api.v1alpha1.SelectorRequirement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicySelectionTest {

  private static final ForwardPolicy DEFAULTS = ForwardPolicy.from(Settings.defaults());

  @Test
  void aNamespaceNoPolicySelectsIsHeldToTheDefault() {
    ForwardPolicy policy = PolicySelection.effective(DEFAULTS,
        List.of(external(selecting("team-a", Map.of("team", "a")), List.of("192.0.2.0/24"), null)),
        Map.of("team", "b"));

    assertThat(policy.name()).isEqualTo("default");
    assertThat(policy.check(ForwardPolicyTest.spec(8080, "192.0.2.7"))).get().extracting(Refusal::message)
        .isEqualTo("external target 192.0.2.7 is not allowed: the operator's default policy allows no external"
            + " targets (portforward.policy.external-targets=false)");
  }

  @Test
  void aSelectedNamespaceGetsWhatItsPolicyGrants() {
    List<PortForwardPolicy> policies =
        List.of(external(selecting("team-a", Map.of("team", "a")), List.of("192.0.2.0/24"), null));

    ForwardPolicy policy = PolicySelection.effective(DEFAULTS, policies, Map.of("team", "a", "other", "x"));

    assertThat(policy.name()).isEqualTo("team-a");
    assertThat(policy.check(ForwardPolicyTest.spec(8080, "192.0.2.7"))).isEmpty();
    assertThat(policy.check(ForwardPolicyTest.spec(8080, "203.0.113.7"))).get().extracting(Refusal::message)
        .isEqualTo("external target 203.0.113.7 resolves to 203.0.113.7, outside the CIDRs allowed for external"
            + " targets [192.0.2.0/24] by PortForwardPolicy team-a");
    // The label gone, the grant is gone.
    assertThat(PolicySelection.effective(DEFAULTS, policies, Map.of()).name()).isEqualTo("default");
  }

  @Test
  void theLowestPrecedenceGovernsAloneThenTheFirstName() {
    PortForwardPolicy broad = precedence(selecting("all-tenants", Map.of()), 2000);
    PortForwardPolicy teamA = selecting("team-a", Map.of("team", "a"));
    PortForwardPolicy teamAToo = selecting("team-a-extra", Map.of("team", "a"));
    PortForwardPolicy urgent = precedence(selecting("zz-freeze", Map.of("frozen", "true")), 10);
    List<PortForwardPolicy> policies = new ArrayList<>(List.of(broad, teamA, teamAToo, urgent));

    for (int i = 0; i < 4; i++) {
      Collections.rotate(policies, 1);
      assertThat(PolicySelection.governing(policies, Map.of("team", "a"))).as("order %d", i).containsSame(teamA);
      assertThat(PolicySelection.governing(policies, Map.of("team", "b"))).containsSame(broad);
      assertThat(PolicySelection.governing(policies, Map.of("team", "a", "frozen", "true"))).containsSame(urgent);
    }
  }

  @Test
  void selectorsFollowKubernetesLabelSelectorSemantics() {
    NamespaceSelector selector = new NamespaceSelector();
    assertThat(PolicySelection.selects(selector, Map.of())).as("empty selects all").isTrue();
    assertThat(PolicySelection.selects(null, Map.of())).as("no selector selects none").isFalse();

    selector.setMatchLabels(Map.of("tier", "prod"));
    selector.setMatchExpressions(List.of(
        requirement("team", SelectorOperator.In, "a", "b"),
        requirement("legacy", SelectorOperator.NotIn, "true"),
        requirement("owner", SelectorOperator.Exists),
        requirement("quarantined", SelectorOperator.DoesNotExist)));
    Map<String, String> matching = Map.of("tier", "prod", "team", "b", "owner", "x");
    assertThat(PolicySelection.selects(selector, matching)).isTrue();
    assertThat(PolicySelection.selects(selector, with(matching, "tier", "dev"))).isFalse();
    assertThat(PolicySelection.selects(selector, with(matching, "team", "c"))).isFalse();
    assertThat(PolicySelection.selects(selector, with(matching, "legacy", "true"))).isFalse();
    assertThat(PolicySelection.selects(selector, with(matching, "legacy", "false"))).isTrue();
    assertThat(PolicySelection.selects(selector, with(matching, "quarantined", ""))).isFalse();
    assertThat(PolicySelection.selects(selector, Map.of("tier", "prod", "team", "b"))).as("owner missing").isFalse();
  }

  @Test
  void aPolicyBeingDeletedNoLongerGoverns() {
    PortForwardPolicy leaving = selecting("leaving", Map.of());
    leaving.getMetadata().setDeletionTimestamp("2026-11-30T00:00:00Z");

    assertThat(PolicySelection.governing(List.of(leaving), Map.of())).isEmpty();
  }

  private static SelectorRequirement requirement(String key, SelectorOperator operator, String... values) {
    SelectorRequirement requirement = new SelectorRequirement();
    requirement.setKey(key);
    requirement.setOperator(operator);
    requirement.setValues(values.length == 0 ? null : List.of(values));
    return requirement;
  }

  private static Map<String, String> with(Map<String, String> labels, String key, String value) {
    Map<String, String> more = new java.util.HashMap<>(labels);
    more.put(key, value);
    return more;
  }
}
