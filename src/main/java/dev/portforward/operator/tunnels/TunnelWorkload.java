package dev.portforward.operator.tunnels;

import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelUser;
import dev.portforward.api.v1alpha1.TunnelRemoteForward;
import dev.portforward.operator.relays.RelayWorkload;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HTTPGetActionBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.KeyToPathBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.api.model.VolumeProjectionBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The objects an SSHTunnel consists of, built from the SSHTunnel alone (plus the config text and
 * the image): a ConfigMap with the server's config, a one-replica Deployment, a Service for SSH,
 * one Service per remote forward with the tunnel pod as its endpoint, and the host key Secret.
 * All are owned by the SSHTunnel, so the garbage collector removes them with it. Pure.
 */
public final class TunnelWorkload {

  /** On the host key Secret: its key's fingerprint, for the status without reading the key. */
  public static final String HOST_KEY_FINGERPRINT = "portforward.dev/host-key-fingerprint";

  private TunnelWorkload() {}

  public static ConfigMap configMap(SshTunnel tunnel, String config) {
    return new ConfigMapBuilder()
        .withMetadata(metadata(tunnel, TunnelNames.workload(tunnel)))
        .withData(Map.of(TunnelNames.CONFIG_KEY, config))
        .build();
  }

  /** Made once with a new key ({@link HostKeys}); the reconciler never replaces an existing one. */
  public static Secret hostKeySecret(SshTunnel tunnel, HostKeys.HostKey key) {
    ObjectMeta metadata = metadata(tunnel, TunnelNames.hostKeySecret(tunnel));
    metadata.setAnnotations(Map.of(HOST_KEY_FINGERPRINT, key.fingerprint()));
    return new SecretBuilder()
        .withMetadata(metadata)
        .withType("Opaque")
        .withStringData(Map.of(TunnelNames.HOST_KEY_KEY, key.privateKeyFile()))
        .build();
  }

  /**
   * One replica, replaced with Recreate: a remote port lives in the pod its client is connected
   * to, so two pods behind one Service would send half the connections where nothing listens.
   * Clients reconnect (ExitOnForwardFailure and a restart loop) when the pod is replaced. The pod
   * template depends on the users' Secret references and the image, never on the config text:
   * config changes reach the running server through the mounted ConfigMap, which it polls.
   */
  public static Deployment deployment(SshTunnel tunnel, String image, String imagePullPolicy) {
    String name = TunnelNames.workload(tunnel);
    List<VolumeProjection> keys = new ArrayList<>();
    for (SshTunnelUser user : tunnel.getSpec().getUsers()) {
      keys.add(new VolumeProjectionBuilder().withNewSecret()
          .withName(user.getAuthorizedKeys().getName())
          .withItems(new KeyToPathBuilder().withKey(TunnelConfigs.key(user.getAuthorizedKeys())).withPath(user.getName()).build())
          .endSecret().build());
    }
    return new DeploymentBuilder()
        .withMetadata(metadata(tunnel, name))
        .withNewSpec()
          .withReplicas(1)
          .withNewStrategy().withType("Recreate").endStrategy()
          .withNewSelector().withMatchLabels(Map.of(TunnelNames.TUNNEL_LABEL, name)).endSelector()
          .withNewTemplate()
            .withNewMetadata().withLabels(labels(name)).endMetadata()
            .withNewSpec()
              // The tunnel server needs no API access at all.
              .withAutomountServiceAccountToken(false)
              .withEnableServiceLinks(false)
              .withTerminationGracePeriodSeconds(10L)
              // Mounted Secrets (host key, users' keys) are readable by this group only.
              .withSecurityContext(new PodSecurityContextBuilder(RelayWorkload.restrictedPod()).withFsGroup(1000L).build())
              .addNewContainer()
                .withName("tunnel")
                .withImage(image)
                .withImagePullPolicy(imagePullPolicy)
                .withArgs("tunnel", "--config", TunnelNames.CONFIG_DIR + "/" + TunnelNames.CONFIG_KEY)
                .addNewEnv().withName("QUARKUS_HTTP_PORT").withValue(String.valueOf(TunnelNames.HTTP_PORT)).endEnv()
                .addNewPort().withName("ssh").withContainerPort(TunnelNames.SSH_PORT).endPort()
                .addNewPort().withName("http").withContainerPort(TunnelNames.HTTP_PORT).endPort()
                .withNewReadinessProbe()
                  .withHttpGet(new HTTPGetActionBuilder().withPath("/q/health/ready").withPort(new IntOrString("http")).build())
                  .withPeriodSeconds(5)
                .endReadinessProbe()
                .withNewLivenessProbe()
                  .withHttpGet(new HTTPGetActionBuilder().withPath("/q/health/live").withPort(new IntOrString("http")).build())
                  .withPeriodSeconds(10)
                .endLivenessProbe()
                // Every port it binds is unprivileged.
                .withSecurityContext(RelayWorkload.restrictedContainer())
                .addNewVolumeMount().withName("config").withMountPath(TunnelNames.CONFIG_DIR).withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("host-key").withMountPath(TunnelNames.HOST_KEY_DIR).withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("keys").withMountPath(TunnelNames.KEYS_DIR).withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
              .endContainer()
              .addNewVolume().withName("config")
                .withNewConfigMap().withName(name).endConfigMap().endVolume()
              .addNewVolume().withName("host-key")
                .withNewSecret().withSecretName(TunnelNames.hostKeySecret(tunnel)).withDefaultMode(0440).endSecret().endVolume()
              .addNewVolume().withName("keys")
                .withNewProjected().withSources(keys).withDefaultMode(0440).endProjected().endVolume()
              .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
            .endSpec()
          .endTemplate()
        .endSpec()
        .build();
  }

  /** Where clients connect inside the cluster; a PortForward exposes it on nodes or a gateway. */
  public static Service sshService(SshTunnel tunnel) {
    return service(tunnel, TunnelNames.sshService(tunnel), "ssh", TunnelNames.SSH_SERVICE_PORT, TunnelNames.SSH_PORT);
  }

  /**
   * A Service per remote forward, named as the spec says: it leads to the port in the tunnel pod
   * that {@code ssh -R} binds, and answers "connection refused" while no client holds it.
   */
  public static List<Service> forwardServices(SshTunnel tunnel) {
    List<Service> services = new ArrayList<>();
    for (SshTunnelUser user : tunnel.getSpec().getUsers()) {
      for (TunnelRemoteForward forward : Optional.ofNullable(user.getRemoteForwards()).orElse(List.of())) {
        int port = Optional.ofNullable(forward.getServicePort()).orElse(forward.getPort());
        Service service = service(tunnel, forward.getServiceName(), "tcp", port, forward.getPort());
        service.getMetadata().setAnnotations(Map.of("portforward.dev/tunnel-user", user.getName()));
        services.add(service);
      }
    }
    return services;
  }

  private static Service service(SshTunnel tunnel, String name, String portName, int port, int targetPort) {
    return new ServiceBuilder()
        .withMetadata(metadata(tunnel, name))
        .withNewSpec()
          .withSelector(Map.of(TunnelNames.TUNNEL_LABEL, TunnelNames.workload(tunnel)))
          .addNewPort().withName(portName).withProtocol("TCP").withPort(port).withTargetPort(new IntOrString(targetPort)).endPort()
        .endSpec()
        .build();
  }

  private static ObjectMeta metadata(SshTunnel tunnel, String name) {
    return RelayWorkload.ownedBy(tunnel, name, labels(TunnelNames.workload(tunnel)));
  }

  private static Map<String, String> labels(String workload) {
    return Map.of(
        "app.kubernetes.io/name", "portforward-tunnel",
        RelayWorkload.MANAGED_BY_LABEL, RelayWorkload.MANAGED_BY,
        TunnelNames.TUNNEL_LABEL, workload);
  }
}
