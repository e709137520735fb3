package dev.portforward.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator's leader killed (SIGKILL: no Lease released) while PortForwards change 100 times a
 * second: a standby takes over, and every forward's status ends up saying what its last change
 * deserves. No change is lost, whichever replica saw it, or none.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class OperatorFailoverIT {

  private static final int FORWARDS = 40;
  private static final double RATE = 100;
  private static final int WRITERS = 10;
  private static final String SPEC = "listen: {port: %d}, target: {service: {name: web, port: 80}}";

  @Test
  void theLeaderKilledDuringChurnLosesNoChange(KubernetesClient client, TestNamespace ns, ControlPlane cp,
      RoleProcess shared) throws Exception {
    List<RoleProcess> replicas = new ArrayList<>(List.of(shared));
    try (RoleProcess standby = RoleProcess.operator(cp, SharedOperator.TEST_SETTINGS).start();
        Churn churn = Churn.create(client, ns.name(), FORWARDS, RATE, WRITERS, SPEC)) {
      replicas.add(standby);
      RoleProcess leader = Operators.awaitLeader(client, replicas);
      churn.start();
      Faults.awaitChurning(churn, 3);

      Faults.Clock kill = Faults.Clock.start();
      leader.kill();
      RoleProcess next = Operators.awaitLeader(client, replicas);
      double takeover = kill.seconds();
      Faults.awaitChurning(churn, 10);
      Churn.Held held = churn.stop();
      long allRight = Faults.awaitAllRight(churn);
      List<String> lost = churn.wrong();

      FaultTable.add(new FaultTable.Row("operator leader killed (SIGKILL) during churn", held.toString(),
          "new leader %.1f s after the kill; every status right %s after it"
              .formatted(takeover, Faults.after(kill, allRight)),
          lost.size(), 0));
      assertThat(next).isNotSameAs(leader);
      assertThat(lost).as("forwards whose status missed their last change").isEmpty();
    }
  }

  @Test
  void leadershipMovingTwiceDuringChurnLosesNoChange(KubernetesClient client, TestNamespace ns, ControlPlane cp,
      RoleProcess shared) throws Exception {
    List<RoleProcess> replicas = new ArrayList<>(List.of(shared));
    try (RoleProcess first = RoleProcess.operator(cp, SharedOperator.TEST_SETTINGS).launch();
        RoleProcess second = RoleProcess.operator(cp, SharedOperator.TEST_SETTINGS).launch()) {
      first.awaitStarted();
      second.awaitStarted();
      replicas.addAll(List.of(first, second));
      try (Churn churn = Churn.create(client, ns.name(), FORWARDS, RATE, WRITERS, SPEC)) {
        RoleProcess leader = Operators.awaitLeader(client, replicas);
        churn.start();
        Faults.awaitChurning(churn, 3);

        Faults.Clock firstKill = Faults.Clock.start();
        leader.kill();
        RoleProcess next = Operators.awaitLeader(client, replicas);
        double firstTakeover = firstKill.seconds();
        // The new leader works through the churn for a while before it dies too.
        Faults.awaitChurning(churn, churn.held().seconds() + 3);
        double apart = firstKill.seconds();
        Faults.Clock secondKill = Faults.Clock.start();
        next.kill();
        RoleProcess last = Operators.awaitLeader(client, replicas);
        double secondTakeover = secondKill.seconds();
        Faults.awaitChurning(churn, churn.held().seconds() + 3);
        Churn.Held held = churn.stop();
        long allRight = Faults.awaitAllRight(churn);
        List<String> lost = churn.wrong();

        FaultTable.add(new FaultTable.Row("leadership moved twice during churn", held.toString(),
            "new leaders %.1f s and %.1f s after each kill (%.0f s apart); every status right %s after the second"
                .formatted(firstTakeover, secondTakeover, apart, Faults.after(secondKill, allRight)),
            lost.size(), 0));
        assertThat(List.of(leader, next, last)).doesNotHaveDuplicates();
        assertThat(lost).as("forwards whose status missed their last change").isEmpty();
      }
    }
  }
}
