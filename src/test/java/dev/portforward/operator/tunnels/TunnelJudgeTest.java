package dev.portforward.operator.tunnels;

import static dev.portforward.operator.tunnels.TunnelObjectsTest.tunnel;
import static dev.portforward.operator.tunnels.TunnelObjectsTest.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelStatus;
import dev.portforward.operator.policy.Refusal;
import dev.portforward.tunnel.TunnelServer.ClientView;
import dev.portforward.tunnel.TunnelServer.Report;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TunnelJudgeTest {

  private static final Instant T0 = Instant.parse("2026-11-30T10:00:00Z");

  @Test
  void itsOwnObjectsAreNoConflictAndAnyOtherIsNamed() {
    SshTunnel tunnel = tunnel(user("alice", "alice-keys", 8080, "laptop-web"));
    List<HasMetadata> own = List.of(TunnelWorkload.configMap(tunnel, "x"), TunnelWorkload.sshService(tunnel));
    assertThat(TunnelJudge.refusal(tunnel, own)).isEmpty();

    HasMetadata unlabelled = new ConfigMapBuilder().withNewMetadata().withNamespace("shop").withName("dev-tunnel")
        .endMetadata().build();
    HasMetadata otherOwner = TunnelWorkload.sshService(tunnel);
    otherOwner.getMetadata().getOwnerReferences().get(0).setUid("uid-2");
    assertThat(TunnelJudge.refusal(tunnel, List.of(unlabelled))).hasValueSatisfying(r -> {
      assertThat(r.reason()).isEqualTo(Reason.TUNNEL_OBJECT_CONFLICT);
      assertThat(r.message()).startsWith("ConfigMap shop/dev-tunnel exists");
    });
    assertThat(TunnelJudge.refusal(tunnel, List.of(otherOwner))).map(Refusal::message)
        .hasValueSatisfying(m -> assertThat(m).startsWith("Service shop/dev-ssh exists"));
  }

  @Test
  void aSpecProblemRefusesBeforeAnyObjectIsLookedAt() {
    SshTunnel tunnel = tunnel(user("alice", "a", 8080, "web"), user("bob", "b", 8080, "web2"));
    assertThat(TunnelJudge.refusal(tunnel, List.of())).map(Refusal::reason).hasValue(Reason.UNSUPPORTED_VALUE);
  }

  @Test
  void theClientsComeFromTheReportWhileTheServerIsReadyAndAreKeptWhenItCannotBeRead() {
    SshTunnel tunnel = tunnel(user("alice", "alice-keys", 8080, "laptop-web"));
    Report report = new Report(1, List.of(new ClientView("alice", "SHA256:a", "/10.0.0.7:5000",
        "2026-11-30T10:00:00Z", List.of(8080), 10, 20)), Map.of("auth", 1L));

    SshTunnelStatus read = TunnelJudge.status(tunnel, Optional.empty(), true, Optional.empty(), Optional.of(report), T0);
    assertThat(read.getClientCount()).isEqualTo(1);
    assertThat(read.getForwards()).singleElement().satisfies(f -> assertThat(f.getBound()).isTrue());

    tunnel.setStatus(read);
    SshTunnelStatus unreadable = TunnelJudge.status(tunnel, Optional.empty(), true, Optional.empty(), Optional.empty(), T0);
    assertThat(unreadable.getClients()).isEqualTo(read.getClients());
    assertThat(unreadable.getRefusedRequests()).containsEntry("auth", 1L);

    SshTunnelStatus notReady = TunnelJudge.status(tunnel, Optional.empty(), false, Optional.empty(), Optional.of(report), T0);
    assertThat(notReady.getClientCount()).isZero();
    assertThat(notReady.getForwards()).singleElement().satisfies(f -> assertThat(f.getBound()).isFalse());
  }

  @Test
  void whileTunnelsAreDisabledEveryTunnelIsRefusedAndListsNothing() {
    SshTunnel tunnel = tunnel(user("alice", "alice-keys", 8080, "laptop-web"));
    SshTunnelStatus status = TunnelJudge.status(tunnel, Optional.of(TunnelJudge.disabled()), false, Optional.empty(),
        Optional.empty(), T0);
    assertThat(status.getConditions()).extracting(c -> c.getType() + "=" + c.getStatus() + " " + c.getReason())
        .containsExactly("Accepted=False TunnelsDisabled", "Ready=False NotAccepted");
    assertThat(status.getConditions().get(0).getMessage()).contains("tunnels.enabled");
    assertThat(status.getSshService()).isNull();
    assertThat(status.getClients()).isNull();
  }

  @Test
  void readyOnlyWithAReadyPodOfTheCurrentTemplate() {
    assertThat(TunnelJudge.ready(Optional.empty())).isFalse();
    assertThat(TunnelJudge.ready(Optional.of(deployment(2L, 2L, 1)))).isTrue();
    assertThat(TunnelJudge.ready(Optional.of(deployment(3L, 2L, 1)))).isFalse();
    assertThat(TunnelJudge.ready(Optional.of(deployment(2L, 2L, null)))).isFalse();
  }

  @Test
  void conditionsKeepTheirTransitionTimeWhileTheyHold() {
    SshTunnel tunnel = tunnel(user("alice", "alice-keys", 8080, "laptop-web"));
    SshTunnelStatus first = TunnelJudge.status(tunnel, Optional.empty(), false, Optional.of("SHA256:k"), Optional.empty(), T0);
    assertThat(condition(first, Conditions.ACCEPTED).getStatus()).isEqualTo("True");
    assertThat(condition(first, Conditions.READY).getReason()).isEqualTo(Reason.TUNNEL_NOT_READY);
    assertThat(first.getSshService()).isEqualTo("dev-ssh:22");
    assertThat(first.getHostKeyFingerprint()).isEqualTo("SHA256:k");

    tunnel.setStatus(first);
    SshTunnelStatus second = TunnelJudge.status(tunnel, Optional.empty(), true, Optional.of("SHA256:k"), Optional.empty(), T0.plusSeconds(60));
    assertThat(condition(second, Conditions.ACCEPTED).getLastTransitionTime()).isEqualTo(T0.toString());
    assertThat(condition(second, Conditions.READY).getLastTransitionTime()).isEqualTo(T0.plusSeconds(60).toString());
    assertThat(TunnelJudge.unchanged(tunnel, first)).isTrue();
    assertThat(TunnelJudge.unchanged(tunnel, second)).isFalse();
  }

  private static Condition condition(SshTunnelStatus status, String type) {
    return status.getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElseThrow();
  }

  private static Deployment deployment(long generation, long observed, Integer ready) {
    return new DeploymentBuilder().withNewMetadata().withGeneration(generation).endMetadata()
        .withNewStatus().withObservedGeneration(observed).withReadyReplicas(ready).endStatus().build();
  }
}
