package dev.portforward.operator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.operator.sidecar.SidecarConflicts.Conflict;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SidecarConflictsTest {

  private final PortForward early = forward("zz-early", Map.of("app", "web"), 8080, "2026-11-30T08:00:00Z");
  private final PortForward late = forward("aa-late", Map.of("tier", "front"), 8080, "2026-11-30T08:00:05Z");
  private final Pod both = pod("web-1", Map.of("app", "web", "tier", "front"));

  @Test
  void theLaterOfTwoForwardsOnOnePodPortLosesItAndTheMessageNamesTheEarlier() {
    List<PortForward> all = List.of(late, early);

    assertThat(SidecarConflicts.of(early, all, List.of(both), name -> Optional.empty())).isEmpty();
    Conflict conflict = SidecarConflicts.of(late, all, List.of(both), name -> Optional.empty()).orElseThrow();
    assertThat(conflict.earlier().getMetadata().getName()).isEqualTo("zz-early");
    assertThat(conflict.message()).isEqualTo("pod port 8080 of pod web-1 is already relayed by Sidecar PortForward"
        + " zz-early (created 2026-11-30T08:00:00Z); one sidecar cannot listen twice on a pod port, and the earlier"
        + " forward keeps it; relay another port or select other pods");
  }

  @Test
  void theNameDecidesBetweenForwardsCreatedInTheSameSecond() {
    PortForward b = forward("b", Map.of("app", "web"), 8080, "2026-11-30T08:00:00Z");
    PortForward a = forward("a", Map.of("app", "web"), 8080, "2026-11-30T08:00:00Z");

    assertThat(SidecarConflicts.of(b, List.of(a, b), List.of(both), name -> Optional.empty()))
        .map(c -> c.earlier().getMetadata().getName()).hasValue("a");
  }

  @Test
  void noConflictWithoutAPodBothSelectOrOnDifferentPorts() {
    Pod onlyWeb = pod("web-1", Map.of("app", "web"));
    PortForward otherPort = forward("other-port", Map.of("app", "web"), 9090, "2026-11-30T08:00:05Z");

    assertThat(SidecarConflicts.of(late, List.of(early, late), List.of(onlyWeb), name -> Optional.empty())).isEmpty();
    PortForward none = SidecarInjectionTest.toPods("plain", Map.of("app", "web"), 8080, true);
    none.getSpec().getRelay().setMode(RelayMode.None);
    assertThat(SidecarConflicts.of(none, List.of(early, none), List.of(both), name -> Optional.empty()))
        .as("not a Sidecar forward").isEmpty();
    assertThat(SidecarConflicts.of(otherPort, List.of(early, otherPort), List.of(both), name -> Optional.empty()))
        .isEmpty();
  }

  @Test
  void aForwardRefusedForAConflictTakesNoPortFromALaterOne() {
    // early keeps 8080 in web-1; late loses it there, so late holds nothing in front-2, where latest keeps 8080.
    Pod front = pod("front-2", Map.of("tier", "front"));
    PortForward latest = forward("latest", Map.of("tier", "front"), 8080, "2026-11-30T08:00:09Z");
    List<PortForward> all = List.of(early, late, latest);

    assertThat(SidecarConflicts.of(late, all, List.of(both, front), name -> Optional.empty())).isPresent();
    assertThat(SidecarConflicts.of(latest, all, List.of(both, front), name -> Optional.empty()))
        .map(c -> c.earlier().getMetadata().getName()).hasValue("zz-early");
  }

  @Test
  void deletedForwardsAndPodsAndHostNetworkPodsDoNotCount() {
    PortForward leaving = forward("zz-early", Map.of("app", "web"), 8080, "2026-11-30T08:00:00Z");
    leaving.getMetadata().setDeletionTimestamp("2026-11-30T09:00:00Z");
    Pod gone = new PodBuilder(both).editMetadata().withDeletionTimestamp("2026-11-30T09:00:00Z").endMetadata().build();
    Pod hostNetwork = new PodBuilder(both).editSpec().withHostNetwork(true).endSpec().build();

    assertThat(SidecarConflicts.of(late, List.of(leaving, late), List.of(both), name -> Optional.empty())).isEmpty();
    assertThat(SidecarConflicts.of(late, List.of(early, late), List.of(gone), name -> Optional.empty())).isEmpty();
    assertThat(SidecarConflicts.of(late, List.of(early, late), List.of(hostNetwork), name -> Optional.empty()))
        .isEmpty();
  }

  @Test
  void theWebhookInjectsOnlyTheEarlierOfTwoAcceptedForwards() {
    // Both accepted: the pod is created before the operator has refused the later one.
    assertThat(SidecarSelection.select(both, List.of(late, early), name -> Optional.empty()))
        .containsExactly(new SidecarSelection.SidecarFor("zz-early", List.of(8080)));
    Pod fromATemplate = new PodBuilder(both).editMetadata().withName(null).withGenerateName("web-").endMetadata().build();
    assertThat(SidecarSelection.select(fromATemplate, List.of(late, early), name -> Optional.empty()))
        .extracting(SidecarSelection.SidecarFor::portForward).containsExactly("zz-early");
  }

  private static PortForward forward(String name, Map<String, String> selector, int port, String created) {
    PortForward pf = SidecarInjectionTest.toPods(name, selector, port, true);
    pf.getMetadata().setCreationTimestamp(created);
    return pf;
  }

  private static Pod pod(String name, Map<String, String> labels) {
    return new PodBuilder(SidecarInjectionTest.pod(labels)).editMetadata().withName(name).endMetadata().build();
  }
}
