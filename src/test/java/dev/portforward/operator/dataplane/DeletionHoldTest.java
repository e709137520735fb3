package dev.portforward.operator.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.NodeReportStatus;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeletionHoldTest {

  private static final Instant DELETED = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration BOUND = Duration.ofSeconds(60);

  @Test
  void heldWhileANodeListsTheForwardAndLookedAtAgainBeforeTheBound() {
    DeletionHold.Decision held = DeletionHold.decide(deleted(), List.of(report("b", "web"), report("a", "web"),
        report("c", "other")), DELETED.plusSeconds(55), BOUND);

    assertThat(held.release()).isFalse();
    assertThat(held.holdingNodes()).containsExactly("a", "b");
    assertThat(held.recheckIn()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void releasedOnceNoNodeListsIt() {
    assertThat(DeletionHold.decide(deleted(), List.of(report("a", "other"), report("b")), DELETED.plusSeconds(1), BOUND)
        .release()).isTrue();
  }

  @Test
  void releasedAtTheBoundThoughANodeStillListsIt() {
    DeletionHold.Decision decision = DeletionHold.decide(deleted(), List.of(report("a", "web")), DELETED.plus(BOUND), BOUND);

    assertThat(decision.release()).isTrue();
    assertThat(decision.holdingNodes()).containsExactly("a");
  }

  @Test
  void aForwardOfTheSameNameInAnotherNamespaceHoldsNothing() {
    PortForwardNodeReport elsewhere = report("a");
    ForwardReport entry = new ForwardReport();
    entry.setNamespace("other");
    entry.setName("web");
    elsewhere.getStatus().setForwards(List.of(entry));

    assertThat(DeletionHold.decide(deleted(), List.of(elsewhere), DELETED, BOUND).release()).isTrue();
  }

  private static PortForward deleted() {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace("shop").withName("web")
        .withDeletionTimestamp(DELETED.toString()).build());
    return pf;
  }

  private static PortForwardNodeReport report(String node, String... forwards) {
    PortForwardNodeReport report = new PortForwardNodeReport();
    report.setMetadata(new ObjectMetaBuilder().withName(node).build());
    NodeReportStatus status = new NodeReportStatus();
    status.setForwards(List.of(forwards).stream().map(name -> {
      ForwardReport entry = new ForwardReport();
      entry.setNamespace("shop");
      entry.setName(name);
      return entry;
    }).toList());
    report.setStatus(status);
    return report;
  }
}
