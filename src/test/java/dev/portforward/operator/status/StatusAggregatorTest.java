package dev.portforward.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusAggregatorTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00.123Z");
  private static final Instant T1 = Instant.parse("2026-01-01T00:05:00Z");

  @Test
  void rebuildingFromTheSameVerdictChangesNothing() {
    PortForward pf = pf(3L);
    pf.setStatus(StatusAggregator.next(pf, verdict("ServiceNotFound"), T0));

    PortForwardStatus again = StatusAggregator.next(pf, verdict("ServiceNotFound"), T1);

    assertThat(StatusAggregator.unchanged(pf.getStatus(), again)).isTrue();
    assertThat(accepted(again).getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(accepted(again).getObservedGeneration()).isEqualTo(3L);
  }

  @Test
  void aNewReasonOrGenerationIsAChangeAndOnlyAChangedConditionMovesItsTime() {
    PortForward pf = pf(1L);
    pf.setStatus(StatusAggregator.next(pf, verdict("ServiceNotFound"), T0));

    PortForwardStatus next = StatusAggregator.next(pf, verdict("ResolvedRefs"), T1);
    assertThat(StatusAggregator.unchanged(pf.getStatus(), next)).isFalse();
    Condition resolved = StatusAggregator.find(next.getConditions(), Conditions.RESOLVED_REFS).orElseThrow();
    assertThat(resolved.getLastTransitionTime()).isEqualTo("2026-01-01T00:05:00Z");
    assertThat(accepted(next).getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");

    pf.getMetadata().setGeneration(2L);
    assertThat(StatusAggregator.unchanged(pf.getStatus(), StatusAggregator.next(pf, verdict("ServiceNotFound"), T1)))
        .isFalse();
  }

  @Test
  void noStatusYetIsAlwaysAChange() {
    PortForward pf = pf(1L);
    assertThat(StatusAggregator.unchanged(null, StatusAggregator.next(pf, verdict("ServiceNotFound"), T0))).isFalse();
  }

  @Test
  void aRefusedForwardIsStalledForKstatusAndAnAcceptedOneIsNot() {
    PortForward pf = pf(1L);
    Check refused = Check.fail("PortConflict", "port TCP/8080 is already claimed by PortForward n/first");
    Check waiting = Check.fail("NotAccepted", "the forward is not accepted");
    PortForwardStatus status = StatusAggregator.next(pf, new Verdict(refused, waiting, waiting, waiting,
        "service/web:80", List.of(), List.of(), java.util.Optional.empty(), List.of(), "default"), T0);

    Condition stalled = StatusAggregator.find(status.getConditions(), Conditions.STALLED).orElseThrow();
    assertThat(stalled.getStatus()).isEqualTo("True");
    assertThat(stalled.getReason()).isEqualTo("PortConflict");
    assertThat(stalled.getMessage()).isEqualTo(refused.message());
    assertThat(StatusAggregator.find(StatusAggregator.next(pf, verdict("ServiceNotFound"), T1).getConditions(),
        Conditions.STALLED)).isEmpty();
  }

  private static Condition accepted(PortForwardStatus status) {
    return StatusAggregator.find(status.getConditions(), Conditions.ACCEPTED).orElseThrow();
  }

  private static Verdict verdict(String refsReason) {
    Check accepted = Check.ok("Accepted", "owns port TCP/8080");
    Check refs = "ResolvedRefs".equals(refsReason)
        ? Check.ok(refsReason, "Service web has 1 ready endpoint(s)")
        : Check.fail(refsReason, "Service web not found in namespace n");
    Check waiting = Check.fail("AwaitingDataPlane", "no node agent has reported this forward yet");
    return new Verdict(accepted, refs, waiting, waiting, "service/web:80", List.of(), List.of(), java.util.Optional.empty(),
        List.of(), "default");
  }

  private static PortForward pf(Long generation) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace("n").withName("web").withGeneration(generation).build());
    return pf;
  }
}
