package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.ForwardReport;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentLoopTest {

  private static final NodePlanner.Plan PLAN = new NodePlanner.Plan(List.of(),
      List.of(report("web", true), report("api", true), report("held", false)), List.of());

  @Test
  void unprogrammedCountsWhatThePlanTheKernelOrAFailedTransactionLeftOut() {
    assertThat(AgentLoop.unprogrammed(PLAN, new NodeSync.Outcome(true, true, null, Map.of())))
        .as("a forward the plan could not program here").isEqualTo(1);
    assertThat(AgentLoop.unprogrammed(PLAN, new NodeSync.Outcome(true, true, null, Map.of("n/api", "refused"))))
        .as("and one the kernel refused").isEqualTo(2);
    assertThat(AgentLoop.unprogrammed(PLAN, new NodeSync.Outcome(false, false, "transaction failed", Map.of())))
        .as("every forward while the ruleset cannot be applied").isEqualTo(3);
  }

  private static ForwardReport report(String name, boolean programmed) {
    ForwardReport report = new ForwardReport();
    report.setNamespace("n");
    report.setName(name);
    report.setProgrammed(programmed);
    return report;
  }
}
