package dev.portforward.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class TransitionEventsTest {

  @Test
  void aFalseConditionMovingToAnotherReasonIsRecorded() {
    PortForwardStatus before = status(
        ok(Conditions.ACCEPTED, Reason.ACCEPTED), ok(Conditions.RESOLVED_REFS, Reason.RESOLVED_REFS),
        failed(Conditions.PROGRAMMED, Reason.AWAITING_DATA_PLANE), failed(Conditions.READY, Reason.NOT_PROGRAMMED));
    PortForwardStatus after = status(
        ok(Conditions.ACCEPTED, Reason.ACCEPTED), ok(Conditions.RESOLVED_REFS, Reason.RESOLVED_REFS),
        failed(Conditions.PROGRAMMED, Reason.NODES_NOT_PROGRAMMED), failed(Conditions.READY, Reason.NO_READY_BACKENDS));

    assertThat(TransitionEvents.worthRecording(before, after)).extracting(Condition::getReason)
        .containsExactly(Reason.NODES_NOT_PROGRAMMED, Reason.NO_READY_BACKENDS);
  }

  @Test
  void anUnchangedStatusRecordsNothing() {
    PortForwardStatus same = status(
        ok(Conditions.ACCEPTED, Reason.ACCEPTED), failed(Conditions.RESOLVED_REFS, Reason.SERVICE_NOT_FOUND),
        failed(Conditions.PROGRAMMED, Reason.REFS_NOT_RESOLVED), failed(Conditions.READY, Reason.NOT_PROGRAMMED));

    assertThat(TransitionEvents.worthRecording(same, status(same.getConditions().toArray(Condition[]::new))))
        .isEmpty();
  }

  @Test
  void aChangedStatusIsRecordedAndTheFirstStatusRecordsOnlyWhatIsNotAnEcho() {
    PortForwardStatus first = status(
        ok(Conditions.ACCEPTED, Reason.ACCEPTED), failed(Conditions.RESOLVED_REFS, Reason.SERVICE_NOT_FOUND),
        failed(Conditions.PROGRAMMED, Reason.REFS_NOT_RESOLVED), failed(Conditions.READY, Reason.NOT_PROGRAMMED),
        failed(Conditions.GATEWAY_MAPPED, Reason.PENDING));
    assertThat(TransitionEvents.worthRecording(null, first)).extracting(Condition::getReason)
        .containsExactly(Reason.ACCEPTED, Reason.SERVICE_NOT_FOUND);

    PortForwardStatus programmed = status(
        ok(Conditions.ACCEPTED, Reason.ACCEPTED), ok(Conditions.RESOLVED_REFS, Reason.RESOLVED_REFS),
        ok(Conditions.PROGRAMMED, Reason.PROGRAMMED), failed(Conditions.READY, Reason.NO_READY_BACKENDS),
        failed(Conditions.GATEWAY_MAPPED, Reason.PENDING));
    assertThat(TransitionEvents.worthRecording(first, programmed)).extracting(Condition::getReason)
        .containsExactly(Reason.RESOLVED_REFS, Reason.PROGRAMMED, Reason.NO_READY_BACKENDS);
  }

  @Test
  void stalledRecordsNothingOfItsOwnSinceAcceptedSaysIt() {
    PortForwardStatus refused = status(
        failed(Conditions.ACCEPTED, Reason.PORT_CONFLICT), failed(Conditions.RESOLVED_REFS, Reason.NOT_ACCEPTED),
        failed(Conditions.PROGRAMMED, Reason.NOT_ACCEPTED), failed(Conditions.READY, Reason.NOT_ACCEPTED),
        ok(Conditions.STALLED, Reason.PORT_CONFLICT));
    assertThat(TransitionEvents.worthRecording(null, refused)).extracting(Condition::getType)
        .containsExactly(Conditions.ACCEPTED, Conditions.RESOLVED_REFS);
  }

  @Test
  void onlyWhatNeedsAPersonIsAWarning() {
    assertThat(TransitionEvents.type(failed(Conditions.RESOLVED_REFS, Reason.SERVICE_NOT_FOUND))).isEqualTo("Warning");
    assertThat(TransitionEvents.type(failed(Conditions.GATEWAY_MAPPED, Reason.MAPPING_REFUSED))).isEqualTo("Warning");
    assertThat(TransitionEvents.type(failed(Conditions.PROGRAMMED, Reason.NODES_NOT_PROGRAMMED))).isEqualTo("Normal");
    assertThat(TransitionEvents.type(ok(Conditions.READY, Reason.READY))).isEqualTo("Normal");
  }

  private static PortForwardStatus status(Condition... conditions) {
    PortForwardStatus status = new PortForwardStatus();
    status.setConditions(List.of(conditions));
    return status;
  }

  private static Condition ok(String type, String reason) {
    return condition(type, "True", reason);
  }

  private static Condition failed(String type, String reason) {
    return condition(type, "False", reason);
  }

  private static Condition condition(String type, String status, String reason) {
    return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(reason).build();
  }
}
