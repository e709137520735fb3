package dev.portforward.operator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.Sidecars;
import dev.portforward.operator.status.Check;
import dev.portforward.testbed.PortForwards;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SidecarEvidenceTest {

  private final PortForward pf = forward("web");

  @Test
  void programmedWhenEverySelectedPodRunsAReadySidecarForThisForward() {
    Check check = check(List.of(pod("a", "web", true), pod("b", "other,web", true), unselected("db")));

    assertThat(check).isEqualTo(Check.ok(Reason.PROGRAMMED, "relay sidecars ready in 2 pod(s)"));
  }

  @Test
  void podsWithoutTheSidecarAreNamedForARestartAndUnreadyOnesSeparately() {
    Check check = check(List.of(pod("old", null, false), pod("for-other", "other", true), pod("starting", "web", false),
        pod("ok", "web", true)));

    assertThat(check).isEqualTo(Check.fail(Reason.SIDECARS_MISSING,
        "2 selected pod(s) without the relay sidecar: for-other, old; restart them to get the relay sidecar;"
            + " injection happens at pod creation in namespaces labelled portforward.dev/sidecar-injection=enabled;"
            + " 1 pod(s) whose relay sidecar is not ready: starting"));
  }

  @Test
  void hostNetworkPodsAreNamedAsSuchNotAsWaitingForARestart() {
    Pod onNode = new PodBuilder(pod("on-node", null, false)).editSpec().withHostNetwork(true).endSpec().build();

    assertThat(check(List.of(onNode, pod("ok", "web", true)))).isEqualTo(Check.fail(Reason.HOST_NETWORK_PODS,
        "1 selected pod(s) use hostNetwork and never get the relay sidecar (its 127.0.0.1 would be the node's):"
            + " on-node; select pods without hostNetwork"));
    assertThat(check(List.of(onNode, pod("old", null, false))).reason()).isEqualTo(Reason.SIDECARS_MISSING);
  }

  @Test
  void theListIsBounded() {
    List<Pod> pods = new ArrayList<>();
    IntStream.range(0, 25).forEach(i -> pods.add(pod("p" + (100 + i), null, false)));

    assertThat(check(pods).message())
        .startsWith("25 selected pod(s) without the relay sidecar: p100, p101, p102, p103, p104, p105, p106, p107,"
            + " p108, p109 and 15 more;");
  }

  private Check check(List<Pod> pods) {
    return SidecarEvidence.check(pf, pods, name -> Optional.empty());
  }

  private static Pod pod(String name, String sidecarFor, boolean ready) {
    PodBuilder pod = new PodBuilder().withNewMetadata().withName(name).addToLabels("app", "web").endMetadata()
        .withNewSpec().addNewContainer().withName("app").endContainer().endSpec()
        .withNewStatus().addNewInitContainerStatus().withName(Sidecars.CONTAINER).withReady(ready)
        .endInitContainerStatus().endStatus();
    if (sidecarFor != null) {
      pod.editMetadata().addToAnnotations(Sidecars.ANNOTATION, sidecarFor).endMetadata()
          .editSpec().addNewInitContainer().withName(Sidecars.CONTAINER).endInitContainer().endSpec();
    }
    return pod.build();
  }

  private static Pod unselected(String name) {
    return new PodBuilder().withNewMetadata().withName(name).addToLabels("app", "db").endMetadata()
        .withNewSpec().endSpec().build();
  }

  private static PortForward forward(String name) {
    return PortForwards.of("n", name, "listen: {port: 30000}, target: {pods: {selector: {app: web}, port: 8080}}, relay: {mode: Sidecar}");
  }

}
