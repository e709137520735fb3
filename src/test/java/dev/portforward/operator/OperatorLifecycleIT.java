package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.WAIT;
import static dev.portforward.testbed.PortForwards.awaitAccepted;
import static dev.portforward.testbed.PortForwards.toService;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.GatewayApiCrds;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.nio.file.Files;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Start-up checks and leader election of the packaged operator. */
@ExtendWith({RealCluster.class, SharedOperator.class})
class OperatorLifecycleIT {

  @Test
  void badSettingsStopTheOperatorAtStartUpNamingTheSetting(ControlPlane cp) throws Exception {
    try (RoleProcess operator = RoleProcess.operator(cp, Map.of(
        "portforward.policy.listen-port-min", "2000",
        "portforward.policy.listen-port-max", "1000"))) {
      assertThatThrownBy(operator::start).hasMessageContaining("operator exited");
      assertThat(Files.readString(operator.log()))
          .contains("portforward.policy.listen-port-min/max must satisfy 1 <= min <= max <= 65535, got 2000-1000");
    }
  }

  @Test
  void aStandbyWaitsAndTakesOverWhenTheLeaderDies(
      KubernetesClient client, TestNamespace ns, ControlPlane cp, RoleProcess leader) throws Exception {
    awaitHolding(leader, List.of(lease(client, "portforward-operator")));
    try (RoleProcess standby = RoleProcess.operator(cp, SharedOperator.TEST_SETTINGS).start()) {
      client.resource(toService(ns.name(), "before", uniquePort(), "web", 80, spec -> {})).create();
      awaitAccepted(client, ns.name(), "before");
      assertThat(reconciles(standby)).as("a standby does not reconcile").isZero();

      leader.kill();
      client.resource(toService(ns.name(), "after", uniquePort(), "web", 80, spec -> {})).create();

      awaitAccepted(client, ns.name(), "after");
      await().atMost(WAIT).until(() -> reconciles(standby) > 0);
    }
  }

  @Test
  void aLeaderThatLosesItsLeasesExitsSoThatItsPodIsRestarted(KubernetesClient client, RoleProcess leader)
      throws Exception {
    GatewayApiCrds.install(client);
    List<Resource<Lease>> leases = List.of(lease(client, "portforward-operator"),
        lease(client, "portforward-operator-gateway-api"));
    awaitHolding(leader, leases);
    try {
      // Another replica holds both leases now, as after a partition that outlasted the renew deadline
      // (a merge patch: no resourceVersion, which the leader's renewals keep changing).
      String renewTime = ZonedDateTime.now(ZoneOffset.UTC)
          .format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSX"));
      leases.forEach(lease -> lease.patch(PatchContext.of(PatchType.JSON_MERGE), """
          {"spec": {"holderIdentity": "operator-elsewhere", "renewTime": "%s", "leaseDurationSeconds": 15}}
          """.formatted(renewTime)));
      assertThat(leader.exitCode()).as("exit code; log: " + leader.log()).isEqualTo(1);
      assertThat(Files.readString(leader.log())).contains("The operator lost the lease portforward-operator");
    } finally {
      leases.forEach(Resource::delete);
    }
  }

  private static Resource<Lease> lease(KubernetesClient client, String name) {
    return client.leases().inNamespace("default").withName(name);
  }

  /** Until {@code operator} holds {@code leases} (a restarted one campaigns again). */
  private static void awaitHolding(RoleProcess operator, List<Resource<Lease>> leases) {
    await(operator.identity() + " holds its leases").atMost(WAIT).until(() -> leases.stream().map(Resource::get)
        .allMatch(lease -> lease != null && operator.identity().equals(lease.getSpec().getHolderIdentity())));
  }

  private static double reconciles(RoleProcess operator) throws Exception {
    return operator.get("/q/metrics").body().lines()
        .filter(l -> l.startsWith("operator_sdk_controllers_execution_reconcile_success_total{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }
}
