package dev.portforward.operator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.Sidecars;
import dev.portforward.operator.relays.RelayJvm;
import dev.portforward.operator.relays.RelayResources;
import dev.portforward.operator.relays.RelaySettings;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SidecarAdmissionTest {

  private static final SidecarInjection.Settings SETTINGS =
      new SidecarInjection.Settings("relay:1", "IfNotPresent", 15020, 2,
          RelayResources.of(RelaySettings.DEFAULT_RESOURCES), RelayJvm.OPTIONS, List.of());
  private final Pod pod = SidecarInjectionTest.pod(Map.of("app", "web"));
  private final SidecarAdmission.Cluster cluster = cluster(
      List.of(SidecarInjectionTest.toPods("web", Map.of("app", "web"), 8080, true)));

  @Test
  void aSelectedPodIsAllowedWithAJsonPatchThatAddsTheSidecar() {
    AdmissionReview answer = SidecarAdmission.respond(review("CREATE", pod), cluster, SETTINGS);

    assertThat(answer.getApiVersion()).isEqualTo("admission.k8s.io/v1");
    assertThat(answer.getKind()).isEqualTo("AdmissionReview");
    AdmissionResponse response = answer.getResponse();
    assertThat(response.getUid()).isEqualTo("0b5f6c1e");
    assertThat(response.getAllowed()).isTrue();
    assertThat(response.getPatchType()).isEqualTo("JSONPatch");
    List<Map<String, Object>> patch = Serialization.unmarshal(
        new String(Base64.getDecoder().decode(response.getPatch()), StandardCharsets.UTF_8), List.class);
    Pod injected = SidecarInjectionTest.apply(pod, patch);
    assertThat(Sidecars.carries(injected, "web")).isTrue();
    assertThat(injected.getSpec().getVolumes().get(0).getProjected().getSources().get(0).getConfigMap().getName())
        .isEqualTo("web-relay");
  }

  @Test
  void otherOperationsAndUnselectedPodsAreAllowedUnchanged() {
    assertThat(SidecarAdmission.respond(review("UPDATE", pod), cluster, SETTINGS).getResponse())
        .extracting(AdmissionResponse::getAllowed, AdmissionResponse::getPatch).containsExactly(true, null);
    Pod db = SidecarInjectionTest.pod(Map.of("app", "db"));
    assertThat(SidecarAdmission.respond(review("CREATE", db), cluster, SETTINGS).getResponse())
        .extracting(AdmissionResponse::getAllowed, AdmissionResponse::getPatch).containsExactly(true, null);
  }

  @Test
  void aClusterThatCannotBeReadAdmitsThePodUnchanged() {
    SidecarAdmission.Cluster broken = new SidecarAdmission.Cluster() {
      @Override public List<PortForward> portForwards(String namespace) {
        throw new IllegalStateException("API server unavailable");
      }

      @Override public Optional<Service> service(String namespace, String name) {
        return Optional.empty();
      }
    };

    assertThat(SidecarAdmission.respond(review("CREATE", pod), broken, SETTINGS).getResponse())
        .extracting(AdmissionResponse::getAllowed, AdmissionResponse::getPatch).containsExactly(true, null);
  }

  /** As the API server sends it: the pod without its namespace, which is in the request. */
  private static AdmissionReview review(String operation, Pod pod) {
    String json = """
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
         "request": {"uid": "0b5f6c1e", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                     "resource": {"group": "", "version": "v1", "resource": "pods"},
                     "namespace": "n", "operation": "%s", "object": %s}}
        """.formatted(operation, Serialization.asJson(pod));
    return Serialization.unmarshal(json, AdmissionReview.class);
  }

  private static SidecarAdmission.Cluster cluster(List<PortForward> forwards) {
    return new SidecarAdmission.Cluster() {
      @Override public List<PortForward> portForwards(String namespace) {
        return "n".equals(namespace) ? forwards : List.of();
      }

      @Override public Optional<Service> service(String namespace, String name) {
        return Optional.empty();
      }
    };
  }
}
