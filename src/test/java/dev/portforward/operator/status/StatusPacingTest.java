package dev.portforward.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StatusPacingTest {

  private static final Instant WRITTEN = Instant.parse("2026-01-01T00:00:00Z");
  private static final Instant SOON = WRITTEN.plusSeconds(2);

  @Test
  void anotherNodesProgressWaitsUntilThePaceAfterTheLastWrite() {
    PortForwardStatus current = status(progress(2, 10), "node-1", "node-2");
    PortForwardStatus next = status(progress(3, 10), "node-1", "node-2", "node-3");

    assertThat(StatusPacing.delay(current, next, Optional.of(WRITTEN), SOON)).contains(Duration.ofSeconds(3));
    assertThat(StatusPacing.delay(current, next, Optional.of(WRITTEN), WRITTEN.plus(StatusPacing.PACE))).isEmpty();
    assertThat(StatusPacing.delay(current, next, Optional.empty(), SOON)).as("not written by this operator yet")
        .isEmpty();
  }

  @Test
  void whatAReaderActsOnIsWrittenAtOnce() {
    PortForwardStatus current = status(progress(9, 10), "node-1");
    PortForwardStatus programmed = status(Check.ok("Programmed", "programmed on 10 node(s)"), "node-1");
    assertThat(StatusPacing.delay(current, programmed, Optional.of(WRITTEN), SOON)).as("a new reason").isEmpty();

    assertThat(StatusPacing.delay(current, status(2L, progress(9, 10), "node-1"), Optional.of(WRITTEN), SOON))
        .as("a new generation").isEmpty();
    assertThat(StatusPacing.delay(null, current, Optional.of(WRITTEN), SOON)).as("no status yet").isEmpty();

    PortForwardStatus refused = status(progress(9, 10), "node-1");
    refused.getConditions().get(0).setMessage("port TCP/8080 is already claimed by PortForward n/second");
    assertThat(StatusPacing.delay(current, refused, Optional.of(WRITTEN), SOON)).as("another message than a count")
        .isEmpty();
  }

  @Test
  void aNewGatewayMappingHolderIsWrittenAtOnce() {
    PortForwardStatus current = mapped(status(progress(1, 3), "node-b"));
    assertThat(StatusPacing.delay(current, mapped(status(progress(2, 3), "node-b", "node-c")), Optional.of(WRITTEN),
        SOON)).as("node-b still holds it").isPresent();
    assertThat(StatusPacing.delay(current, mapped(status(progress(2, 3), "node-a", "node-b")), Optional.of(WRITTEN),
        SOON)).as("node-a takes it").isEmpty();
  }

  private static PortForwardStatus mapped(PortForwardStatus status) {
    List<Condition> conditions = new ArrayList<>(status.getConditions());
    conditions.add(new ConditionBuilder().withType(Conditions.GATEWAY_MAPPED).withStatus("False").withReason("Pending")
        .build());
    status.setConditions(conditions);
    return status;
  }

  private static Check progress(int done, int of) {
    return Check.fail("NodesNotProgrammed", "programmed on " + done + " of " + of + " node(s)");
  }

  private static PortForwardStatus status(Check programmed, String... nodes) {
    return status(1L, programmed, nodes);
  }

  private static PortForwardStatus status(long generation, Check programmed, String... nodes) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace("n").withName("web").withGeneration(generation).build());
    Check ok = Check.ok("Accepted", "the forward is valid and allowed");
    List<NodeState> states = Arrays.stream(nodes).map(name -> {
      NodeState state = new NodeState();
      state.setName(name);
      state.setProgrammed(true);
      return state;
    }).toList();
    return StatusAggregator.next(pf, new Verdict(ok, ok, programmed, Check.fail("NotProgrammed", "not ready"),
        "service/web:80", states, List.of(), Optional.empty(), List.of(), "default"), WRITTEN);
  }
}
