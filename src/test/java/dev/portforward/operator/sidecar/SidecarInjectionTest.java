package dev.portforward.operator.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.common.Sidecars;
import dev.portforward.operator.relays.RelayJvm;
import dev.portforward.operator.relays.RelayResources;
import dev.portforward.operator.relays.RelaySettings;
import dev.portforward.operator.sidecar.SidecarSelection.SidecarFor;
import dev.portforward.testbed.PortForwards;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class SidecarInjectionTest {

  private static final SidecarInjection.Settings SETTINGS =
      new SidecarInjection.Settings("relay:1", "IfNotPresent", 15020, 2,
          RelayResources.of(RelaySettings.DEFAULT_RESOURCES), RelayJvm.OPTIONS, List.of());
  private static final Service WEB = new ServiceBuilder().withNewMetadata().withName("web-svc").endMetadata()
      .withNewSpec().addToSelector("app", "web")
      .addNewPort().withPort(80).withTargetPort(new IntOrString(8080)).endPort().endSpec().build();
  private static final Function<String, Optional<Service>> SERVICES =
      name -> "web-svc".equals(name) ? Optional.of(WEB) : Optional.empty();

  @Test
  void aPodNoForwardSelectsIsLeftAlone() {
    List<PortForward> forwards = List.of(toPods("web", Map.of("app", "web"), 8080, true));
    Pod other = pod(Map.of("app", "db"));

    assertThat(SidecarSelection.select(other, forwards, SERVICES)).isEmpty();
    assertThat(inject(other, forwards)).isEmpty();
  }

  @Test
  void oneForwardGetsOneRelayContainerItsConfigAndTheAnnotation() {
    Pod pod = pod(Map.of("app", "web"));

    Pod injected = apply(pod, inject(pod, List.of(toPods("web", Map.of("app", "web"), 8080, true))));

    assertThat(injected.getMetadata().getAnnotations()).containsEntry(Sidecars.ANNOTATION, "web");
    Container relay = injected.getSpec().getInitContainers().get(0);
    assertThat(relay.getName()).isEqualTo("portforward-relay");
    assertThat(relay.getRestartPolicy()).as("a native sidecar").isEqualTo("Always");
    assertThat(relay.getArgs()).containsExactly("relay", "--config", "/etc/portforward/relay");
    assertThat(relay.getEnv().get(0).getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.podIP");
    assertThat(relay.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(relay.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(relay.getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(15020);
    assertThat(injected.getSpec().getVolumes().get(0).getProjected().getSources())
        .extracting(s -> s.getConfigMap().getName(), s -> s.getConfigMap().getItems().get(0).getPath(),
            s -> s.getConfigMap().getOptional())
        .containsExactly(org.assertj.core.groups.Tuple.tuple("web-relay", "web.yaml", true));
    assertThat(injected.getSpec().getContainers()).extracting(Container::getName).containsExactly("app");
  }

  @Test
  void twoForwardsShareOneRelayAndAppendToWhatThePodHas() {
    Pod pod = new PodBuilder(pod(Map.of("app", "web"))).editMetadata().addToAnnotations("keep", "me").endMetadata()
        .editSpec().addNewInitContainer().withName("setup").endInitContainer()
        .addNewVolume().withName("data").withNewEmptyDir().endEmptyDir().endVolume().endSpec().build();
    List<PortForward> forwards = List.of(toService("b-svc", "web-svc", 80), toPods("a-pods", Map.of("app", "web"), 9000, true),
        toPods("not-accepted", Map.of("app", "web"), 9001, false));

    assertThat(SidecarSelection.select(pod, forwards, SERVICES))
        .containsExactly(new SidecarFor("a-pods", List.of(9000)), new SidecarFor("b-svc", List.of(8080)));
    Pod injected = apply(pod, inject(pod, forwards));

    assertThat(injected.getMetadata().getAnnotations())
        .containsEntry("keep", "me").containsEntry(Sidecars.ANNOTATION, "a-pods,b-svc");
    assertThat(injected.getSpec().getInitContainers()).extracting(Container::getName)
        .containsExactly("setup", "portforward-relay");
    assertThat(injected.getSpec().getVolumes()).extracting(v -> v.getName())
        .containsExactly("data", "portforward-relay-config", "portforward-relay-tmp");
    assertThat(injected.getSpec().getVolumes().get(1).getProjected().getSources())
        .extracting(s -> s.getConfigMap().getItems().get(0).getPath()).containsExactly("a-pods.yaml", "b-svc.yaml");
  }

  @Test
  void theSidecarGetsTheRelayResourcesJvmOptionsAndEventLoopsAndThePodThePullSecretsItLacks() {
    SidecarInjection.Settings settings = new SidecarInjection.Settings("mirror.example/relay@sha256:" + "0".repeat(64),
        "IfNotPresent", 15020, 3, RelayResources.of(RelaySettings.DEFAULT_RESOURCES), "-Xmx100m", List.of("regcred", "mirror"));
    List<PortForward> forwards = List.of(toPods("web", Map.of("app", "web"), 8080, true));
    Pod bare = pod(Map.of("app", "web"));
    Pod withMirror = new PodBuilder(bare).editSpec().addToImagePullSecrets(new LocalObjectReference("mirror"))
        .endSpec().build();

    Pod injected = apply(bare, SidecarInjection.patch(bare, SidecarSelection.select(bare, forwards, SERVICES), settings,
        name -> name + "-relay"));
    assertThat(injected.getSpec().getImagePullSecrets()).extracting(LocalObjectReference::getName)
        .containsExactly("regcred", "mirror");
    Container relay = injected.getSpec().getInitContainers().get(0);
    assertThat(relay.getImage()).isEqualTo(settings.image());
    assertThat(relay.getResources().getRequests()).containsOnlyKeys("cpu", "memory");
    assertThat(relay.getResources().getLimits()).containsOnlyKeys("memory");
    assertThat(relay.getEnv()).as("the JVM options, read by the image's java launcher")
        .anySatisfy(env -> {
          assertThat(env.getName()).isEqualTo("JDK_JAVA_OPTIONS");
          assertThat(env.getValue()).isEqualTo("-Xmx100m");
        });
    assertThat(relay.getEnv()).as("a sidecar's event loops: not one per core of the node")
        .anySatisfy(env -> {
          assertThat(env.getName()).isEqualTo("PORTFORWARD_RELAY_EVENT_LOOP_THREADS");
          assertThat(env.getValue()).isEqualTo("3");
        });

    Pod appended = apply(withMirror, SidecarInjection.patch(withMirror,
        SidecarSelection.select(withMirror, forwards, SERVICES), settings, name -> name + "-relay"));
    assertThat(appended.getSpec().getImagePullSecrets()).extracting(LocalObjectReference::getName)
        .containsExactly("mirror", "regcred");
  }

  @Test
  void aNegativeEventLoopCountStopsTheOperatorNamingTheSetting() {
    assertThatThrownBy(() -> new SidecarInjection.Settings("relay:1", "IfNotPresent", 15020, -1,
        RelayResources.of(RelaySettings.DEFAULT_RESOURCES), RelayJvm.OPTIONS, List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("portforward.sidecar.event-loop-threads: must be 0 (one per core) or more, got -1");
  }

  @Test
  void aPodThatAlreadyHasTheSidecarIsNotInjectedTwice() {
    Pod pod = pod(Map.of("app", "web"));
    List<PortForward> forwards = List.of(toPods("web", Map.of("app", "web"), 8080, true));
    Pod injected = apply(pod, inject(pod, forwards));

    assertThat(inject(injected, forwards)).isEmpty();
  }

  @Test
  void aHostNetworkPodNeverGetsTheSidecarEvenWhenSelected() {
    Pod pod = new PodBuilder(pod(Map.of("app", "web"))).editSpec().withHostNetwork(true).endSpec().build();

    assertThat(SidecarSelection.injectable(pod)).isFalse();
    assertThat(inject(pod, List.of(toPods("web", Map.of("app", "web"), 8080, true)))).isEmpty();
  }

  @Test
  void aServiceWhoseTargetPortIsPrivilegedIsRefusedNamingIt() {
    Service privileged = new ServiceBuilder(WEB).editSpec().editFirstPort().withTargetPort(new IntOrString(80))
        .endPort().endSpec().build();

    assertThat(SidecarSelection.privilegedServicePort(toService("b-svc", "web-svc", 80), name -> Optional.of(privileged)))
        .hasValue("target.service port 80 of Service web-svc has targetPort 80, below 1024: the relay sidecar runs"
            + " without root or capabilities and cannot bind it; have the app listen on a port from 1024 up");
    assertThat(SidecarSelection.privilegedServicePort(toService("b-svc", "web-svc", 80), SERVICES)).isEmpty();
    assertThat(SidecarSelection.select(pod(Map.of("app", "web")), List.of(toService("b-svc", "web-svc", 80)),
        name -> Optional.of(privileged))).as("never relayed").isEmpty();
  }

  private static List<Map<String, Object>> inject(Pod pod, List<PortForward> forwards) {
    return SidecarInjection.patch(pod, SidecarSelection.select(pod, forwards, SERVICES), SETTINGS,
        name -> name + "-relay");
  }

  /** Applies the patch the way the API server does, to the pod's JSON as it was sent. */
  static Pod apply(Pod pod, List<Map<String, Object>> patch) {
    JsonNode json = Serialization.jsonMapper().valueToTree(pod);
    JsonNode ops = Serialization.jsonMapper().valueToTree(patch);
    return Serialization.jsonMapper().convertValue(JsonPatch.apply(ops, json), Pod.class);
  }

  static Pod pod(Map<String, String> labels) {
    return new PodBuilder().withNewMetadata().withName("p").withLabels(labels).endMetadata()
        .withNewSpec().addNewContainer().withName("app").addNewPort().withName("http").withContainerPort(8080)
        .endPort().endContainer().endSpec().build();
  }

  static PortForward toPods(String name, Map<String, String> selector, int port, boolean accepted) {
    PortForward pf = sidecar(name, "pods: {port: " + port + "}", accepted);
    pf.getSpec().getTarget().getPods().setSelector(selector);
    return pf;
  }

  private static PortForward toService(String name, String service, int port) {
    return sidecar(name, "service: {name: " + service + ", port: " + port + "}", true);
  }

  private static PortForward sidecar(String name, String target, boolean accepted) {
    PortForward pf = PortForwards.of("n", name, "listen: {port: 30000}, target: {" + target + "}, relay: {mode: Sidecar}");
    pf.getMetadata().setGeneration(1L);
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(1L);
    status.setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus(accepted ? "True" : "False").build()));
    pf.setStatus(status);
    return pf;
  }
}
