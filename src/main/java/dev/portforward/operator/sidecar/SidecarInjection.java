package dev.portforward.operator.sidecar;

import dev.portforward.common.RelayNames;
import dev.portforward.common.Sidecars;
import dev.portforward.operator.relays.RelayJvm;
import dev.portforward.operator.sidecar.SidecarSelection.SidecarFor;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.api.model.VolumeProjectionBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The JSON patch that adds the relay sidecar to a pod at creation: a native sidecar (an init
 * container with restartPolicy Always, so it starts before the app and stops after it), the
 * relay configs of every PortForward it serves, and the annotation that names them. Pure.
 */
public final class SidecarInjection {

  /** Where the relay reads its configs: one file per PortForward, all merged. */
  public static final String CONFIG_DIR = "/etc/portforward/relay";
  static final String CONFIG_VOLUME = "portforward-relay-config";
  static final String TMP_VOLUME = "portforward-relay-tmp";

  /**
   * What the operator's settings decide about the injected container; the pull secrets are added
   * to the pod (they must exist in its namespace).
   */
  public record Settings(String image, String imagePullPolicy, int managementPort, int eventLoopThreads,
      ResourceRequirements resources, String jvmOptions, List<String> imagePullSecrets) {

    public Settings {
      if (eventLoopThreads < 0) {
        throw new IllegalArgumentException(
            "portforward.sidecar.event-loop-threads: must be 0 (one per core) or more, got " + eventLoopThreads);
      }
    }
  }

  private SidecarInjection() {}

  /**
   * JSON patch operations for a pod that {@code forwards} select; none when nothing selects it, when
   * it already has the sidecar (a re-sent admission request must not inject twice), or when it uses
   * hostNetwork (see {@link SidecarSelection#injectable}), whatever selects it.
   *
   * @param configMaps the ConfigMap of a PortForward, by its name
   */
  public static List<Map<String, Object>> patch(Pod pod, List<SidecarFor> forwards, Settings settings,
      Function<String, String> configMaps) {
    if (forwards.isEmpty() || Sidecars.hasContainer(pod) || !SidecarSelection.injectable(pod)) {
      return List.of();
    }
    String served = forwards.stream().map(SidecarFor::portForward).collect(Collectors.joining(","));
    List<VolumeProjection> configs = forwards.stream()
        .map(f -> new VolumeProjectionBuilder().withNewConfigMap()
            .withName(configMaps.apply(f.portForward()))
            .addNewItem().withKey(RelayNames.CONFIG_KEY).withPath(f.portForward() + ".yaml").endItem()
            // A deleted PortForward's file just disappears; the relay drops its forwards.
            .withOptional(true)
            .endConfigMap().build())
        .toList();
    Volume config = new VolumeBuilder().withName(CONFIG_VOLUME)
        .withNewProjected().withSources(configs).endProjected().build();
    Volume tmp = new VolumeBuilder().withName(TMP_VOLUME).withNewEmptyDir().endEmptyDir().build();

    var spec = pod.getSpec();
    List<Map<String, Object>> ops = new ArrayList<>();
    // An empty map or list may be absent from the pod's JSON: add it whole, never a member of it.
    ops.add(pod.getMetadata().getAnnotations() == null || pod.getMetadata().getAnnotations().isEmpty()
        ? add("/metadata/annotations", Map.of(Sidecars.ANNOTATION, served))
        : add("/metadata/annotations/" + escape(Sidecars.ANNOTATION), served));
    ops.add(spec.getInitContainers() == null || spec.getInitContainers().isEmpty()
        ? add("/spec/initContainers", List.of(json(container(settings))))
        : add("/spec/initContainers/-", json(container(settings))));
    if (spec.getVolumes() == null || spec.getVolumes().isEmpty()) {
      ops.add(add("/spec/volumes", List.of(json(config), json(tmp))));
    } else {
      ops.add(add("/spec/volumes/-", json(config)));
      ops.add(add("/spec/volumes/-", json(tmp)));
    }
    List<LocalObjectReference> has = spec.getImagePullSecrets() == null ? List.of() : spec.getImagePullSecrets();
    List<LocalObjectReference> missing = settings.imagePullSecrets().stream().map(LocalObjectReference::new)
        .filter(secret -> !has.contains(secret)).toList();
    if (has.isEmpty() && !missing.isEmpty()) {
      ops.add(add("/spec/imagePullSecrets", missing.stream().map(SidecarInjection::json).toList()));
    } else {
      missing.forEach(secret -> ops.add(add("/spec/imagePullSecrets/-", json(secret))));
    }
    return ops;
  }

  /** The relay container, under the restricted Pod Security Standard. */
  static Container container(Settings settings) {
    IntOrString management = new IntOrString(settings.managementPort());
    return new ContainerBuilder()
        .withName(Sidecars.CONTAINER)
        .withImage(settings.image())
        .withImagePullPolicy(settings.imagePullPolicy())
        .withArgs("relay", "--config", CONFIG_DIR)
        .withRestartPolicy("Always")
        .addNewEnv().withName("PORTFORWARD_RELAY_DEFAULT_LISTEN_ADDRESS")
            .withNewValueFrom().withNewFieldRef().withFieldPath("status.podIP").endFieldRef().endValueFrom()
        .endEnv()
        // Health and metrics on a port of the pod's shared network that apps rarely use.
        .addNewEnv().withName("QUARKUS_HTTP_PORT").withValue(String.valueOf(settings.managementPort())).endEnv()
        .addToEnv(RelayJvm.env(settings.jvmOptions()))
        .addNewEnv().withName("PORTFORWARD_RELAY_EVENT_LOOP_THREADS").withValue(String.valueOf(settings.eventLoopThreads()))
        .endEnv()
        .addNewPort().withName("pf-relay-http").withContainerPort(settings.managementPort()).endPort()
        .withNewReadinessProbe().withNewHttpGet().withPath("/q/health/ready").withPort(management).endHttpGet()
            .withPeriodSeconds(5).endReadinessProbe()
        .withNewLivenessProbe().withNewHttpGet().withPath("/q/health/live").withPort(management).endHttpGet()
            .withPeriodSeconds(10).endLivenessProbe()
        .withResources(settings.resources())
        .withNewSecurityContext()
            .withRunAsNonRoot(true)
            .withRunAsUser(1000L)
            .withAllowPrivilegeEscalation(false)
            .withReadOnlyRootFilesystem(true)
            .withNewCapabilities().withDrop("ALL").endCapabilities()
            .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .endSecurityContext()
        .addNewVolumeMount().withName(CONFIG_VOLUME).withMountPath(CONFIG_DIR).withReadOnly(true).endVolumeMount()
        // Netty unpacks its native transport here; the root filesystem is read-only.
        .addNewVolumeMount().withName(TMP_VOLUME).withMountPath("/tmp").endVolumeMount()
        .build();
  }

  private static Map<String, Object> add(String path, Object value) {
    Map<String, Object> op = new LinkedHashMap<>();
    op.put("op", "add");
    op.put("path", path);
    op.put("value", value);
    return op;
  }

  /** JSON pointer escaping (RFC 6901). */
  private static String escape(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }

  private static Object json(Object model) {
    return Serialization.jsonMapper().convertValue(model, Map.class);
  }
}
