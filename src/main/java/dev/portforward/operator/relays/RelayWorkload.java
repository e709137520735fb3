package dev.portforward.operator.relays;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.Socks5;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.OperatorConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HTTPGetActionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The objects a PortForward's relays consist of, built from the PortForward alone (plus the config
 * text): a ConfigMap with the relay config, and for relay.mode Deployment a relay Deployment and a
 * headless Service whose EndpointSlices tell the node agents where the ready relay pods are. All
 * three are owned by the PortForward, so the garbage collector removes them with it. Pure.
 */
public final class RelayWorkload {

  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  public static final String MANAGED_BY = "portforward-operator";
  /** The mounted ConfigMap directory; the kubelet swaps its content in place when it changes. */
  static final String CONFIG_DIR = "/etc/portforward/relay";

  private RelayWorkload() {}

  public static ConfigMap configMap(PortForward pf, String config) {
    return new ConfigMapBuilder()
        .withMetadata(metadata(pf, RelayNames.configMap(pf)))
        .withData(Map.of(RelayNames.CONFIG_KEY, config))
        .build();
  }

  /**
   * The relay Deployment. Its pod template depends on the settings only, never on the config: a
   * config change reaches the running relays through the mounted ConfigMap, which they poll, so
   * established connections survive it (a new template would replace the pods).
   */
  public static Deployment deployment(PortForward pf, OperatorConfig.Relays settings) {
    String name = RelayNames.deployment(pf);
    Map<String, String> selector = Map.of(RelayNames.RELAY_LABEL, name);
    Deployment deployment = new DeploymentBuilder()
        .withMetadata(metadata(pf, name))
        .withNewSpec()
          .withReplicas(settings.replicas())
          .withNewSelector().withMatchLabels(selector).endSelector()
          .withNewTemplate()
            .withNewMetadata().withLabels(labels(name)).endMetadata()
            .withNewSpec()
              // The relay needs no API access at all.
              .withAutomountServiceAccountToken(false)
              .withEnableServiceLinks(false)
              // The image is Linux only.
              .withNodeSelector(Map.of("kubernetes.io/os", "linux"))
              .withImagePullSecrets(settings.imagePullSecrets().orElse(List.of()).stream()
                  .map(LocalObjectReference::new).toList())
              // Longer than the relay's drainTimeout (30s), so that SIGTERM lets connections finish.
              .withTerminationGracePeriodSeconds(40L)
              .withSecurityContext(restrictedPod())
              .addNewContainer()
                .withName("relay")
                .withImage(settings.image())
                .withImagePullPolicy(settings.imagePullPolicy())
                .withResources(RelayResources.of(settings.resources()))
                // The mounted directory: the relay reads every config file in it.
                .withArgs("relay", "--config", CONFIG_DIR)
                .addNewEnv().withName("QUARKUS_HTTP_PORT").withValue(String.valueOf(RelayNames.MANAGEMENT_PORT)).endEnv()
                .addToEnv(RelayJvm.env(settings.jvmOptions()))
                // The relay port binds the pod's own address, IPv4 or IPv6, whatever the cluster gives.
                .addNewEnv().withName("PORTFORWARD_RELAY_DEFAULT_LISTEN_ADDRESS")
                  .withNewValueFrom().withNewFieldRef().withFieldPath("status.podIP").endFieldRef().endValueFrom()
                .endEnv()
                .addNewPort().withName("relay").withContainerPort(RelayNames.RELAY_PORT)
                  .withProtocol(pf.getSpec().getProtocol().name()).endPort()
                .addNewPort().withName("http").withContainerPort(RelayNames.MANAGEMENT_PORT).endPort()
                .withNewReadinessProbe()
                  .withHttpGet(new HTTPGetActionBuilder().withPath("/q/health/ready").withPort(new IntOrString("http")).build())
                  .withPeriodSeconds(5)
                .endReadinessProbe()
                .withNewLivenessProbe()
                  .withHttpGet(new HTTPGetActionBuilder().withPath("/q/health/live").withPort(new IntOrString("http")).build())
                  .withPeriodSeconds(10)
                .endLivenessProbe()
                // The relay binds an unprivileged port.
                .withSecurityContext(restrictedContainer())
                .addNewVolumeMount().withName("config").withMountPath(CONFIG_DIR).withReadOnly(true).endVolumeMount()
                // Netty unpacks its native transport here; the root file system is read-only.
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
              .endContainer()
              .addNewVolume().withName("config")
                .withNewConfigMap().withName(RelayNames.configMap(pf)).endConfigMap().endVolume()
              .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
            .endSpec()
          .endTemplate()
        .endSpec()
        .build();
    Optional.ofNullable(pf.getSpec().getRelay().getSocks5()).map(Socks5::getUsersSecretName).ifPresent(secret -> {
      // SOCKS5 users: one file per user, updated in place when the Secret changes; the relay polls it.
      PodSpec pod = deployment.getSpec().getTemplate().getSpec();
      pod.getVolumes().add(new VolumeBuilder().withName("socks5-users")
          .withNewSecret().withSecretName(secret).endSecret().build());
      pod.getContainers().get(0).getVolumeMounts().add(new VolumeMountBuilder().withName("socks5-users")
          .withMountPath(RelayConfigs.USERS_DIR).withReadOnly(true).build());
    });
    return deployment;
  }

  /**
   * Headless: nothing connects to the Service itself. Its EndpointSlices list the ready relay pods,
   * which the node agents DNAT listen.port to.
   */
  public static Service service(PortForward pf) {
    return new ServiceBuilder()
        .withMetadata(metadata(pf, RelayNames.service(pf)))
        .withNewSpec()
          .withClusterIP("None")
          .withSelector(Map.of(RelayNames.RELAY_LABEL, RelayNames.deployment(pf)))
          .addNewPort().withName("relay").withPort(RelayNames.RELAY_PORT)
            .withTargetPort(new IntOrString(RelayNames.RELAY_PORT)).withProtocol(pf.getSpec().getProtocol().name()).endPort()
        .endSpec()
        .build();
  }

  private static ObjectMeta metadata(PortForward pf, String name) {
    return ownedBy(pf, name, labels(RelayNames.deployment(pf)));
  }

  /**
   * Metadata of an object {@code owner} controls, in its namespace: the garbage collector
   * deletes it with its owner, and the labels (the managed-by one among them) mark it as the
   * operator's own.
   */
  public static ObjectMeta ownedBy(HasMetadata owner, String name, Map<String, String> labels) {
    return new ObjectMetaBuilder()
        .withNamespace(owner.getMetadata().getNamespace())
        .withName(name)
        .withLabels(labels)
        .withOwnerReferences(new OwnerReferenceBuilder()
            .withApiVersion(owner.getApiVersion())
            .withKind(owner.getKind())
            .withName(owner.getMetadata().getName())
            .withUid(owner.getMetadata().getUid())
            .withController(true)
            .withBlockOwnerDeletion(true)
            .build())
        .build();
  }

  /** The restricted Pod Security Standard, pod part: relay and tunnel pods run as non-root users. */
  public static PodSecurityContext restrictedPod() {
    return new PodSecurityContextBuilder()
        .withRunAsNonRoot(true)
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .build();
  }

  /**
   * The restricted Pod Security Standard, container part, for the relay and tunnel containers:
   * they bind unprivileged ports only and write nothing but their /tmp volume.
   */
  public static SecurityContext restrictedContainer() {
    return new SecurityContextBuilder()
        .withAllowPrivilegeEscalation(false)
        .withReadOnlyRootFilesystem(true)
        .withRunAsNonRoot(true)
        .withNewCapabilities().withDrop("ALL").endCapabilities()
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .build();
  }

  private static Map<String, String> labels(String relay) {
    return Map.of(
        "app.kubernetes.io/name", "portforward-relay",
        MANAGED_BY_LABEL, MANAGED_BY,
        RelayNames.RELAY_LABEL, relay);
  }
}
