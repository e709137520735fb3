package dev.portforward.operator.relays;

import static dev.portforward.operator.relays.RelayConfigsTest.forward;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Socks5;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.OperatorConfig;
import dev.portforward.operator.relays.RelayPlans.RelayPlan;
import dev.portforward.operator.target.Backend;
import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.RelayConfigParser;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RelayPlansTest {

  private static final OperatorConfig.Relays SETTINGS =
      RelaySettings.of("registry.example/portforward:1", 2, List.of("regcred"));
  private static final List<Backend> RESOLVED = List.of(new Backend(Cidr.parseAddress("203.0.113.7"), 443, true));

  @Test
  void anExternalNameIsDialledAtTheAddressThatWasChecked() throws Exception {
    RelayPlan plan = RelayPlans.plan(forward(RelayMode.Deployment), Optional.empty(), RESOLVED, SETTINGS, List.of(), List.of());

    assertThat(plan.problem()).isEmpty();
    assertThat(plan.objects()).extracting(o -> o.getKind() + "/" + o.getMetadata().getName())
        .containsExactly("ConfigMap/web-relay", "Deployment/web-relay", "Service/web-relay");
    assertThat(target(plan)).contains(new Forward.Target("203.0.113.7", 443));
  }

  @Test
  void relayPodsRequestResourcesGetThePullSecretsAndRunOnLinux() {
    Deployment deployment = (Deployment) RelayPlans.plan(forward(RelayMode.Deployment), Optional.empty(), RESOLVED,
        SETTINGS, List.of(), List.of()).objects().get(1);
    PodSpec pod = deployment.getSpec().getTemplate().getSpec();

    assertThat(pod.getImagePullSecrets()).extracting(LocalObjectReference::getName).containsExactly("regcred");
    assertThat(pod.getNodeSelector()).containsExactlyEntriesOf(java.util.Map.of("kubernetes.io/os", "linux"));
    ResourceRequirements resources = pod.getContainers().get(0).getResources();
    assertThat(resources.getRequests()).as("not BestEffort")
        .containsEntry("cpu", new Quantity("10m")).containsEntry("memory", new Quantity("128Mi"));
    assertThat(resources.getLimits()).containsOnlyKeys("memory");
  }

  @Test
  void aQuantityKubernetesWouldRefuseStopsTheOperatorNamingTheSetting() {
    OperatorConfig.Relays.Resources bad = new OperatorConfig.Relays.Resources() {
      @Override public String requestsCpu() {
        return "a lot";
      }

      @Override public String requestsMemory() {
        return "128Mi";
      }

      @Override public Optional<String> limitsCpu() {
        return Optional.of("1");
      }

      @Override public String limitsMemory() {
        return "256Mi";
      }
    };

    assertThatThrownBy(() -> RelayResources.of(bad)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("portforward.relay.resources.requests-cpu: 'a lot' is not a Kubernetes quantity (such as 10m, 128Mi)");
  }

  @Test
  void aConfigChangeLeavesThePodTemplateAsItIs() {
    PortForward pf = forward(RelayMode.Deployment);
    Deployment before = (Deployment) RelayPlans.plan(pf, Optional.empty(), RESOLVED, SETTINGS, List.of(), List.of()).objects().get(1);
    pf.getSpec().getRelay().setMaxConnections(7);
    pf.getSpec().getRelay().setIdleTimeout("1m");
    pf.getSpec().setSourceRanges(List.of("198.51.100.0/24"));

    RelayPlan after = RelayPlans.plan(pf, Optional.empty(), RESOLVED, SETTINGS, List.of(), List.of());

    assertThat(((Deployment) after.objects().get(1))).isEqualTo(before);
    assertThat(before.getSpec().getReplicas()).isEqualTo(2);
    assertThat(before.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
        .isEqualTo("registry.example/portforward:1");
    assertThat(before.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
        .as("the relay binds the pod's own address, of either family")
        .anySatisfy(env -> {
          assertThat(env.getName()).isEqualTo("PORTFORWARD_RELAY_DEFAULT_LISTEN_ADDRESS");
          assertThat(env.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.podIP");
        });
    assertThat(before.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
        .as("the JVM options, read by the image's java launcher")
        .anySatisfy(env -> {
          assertThat(env.getName()).isEqualTo("JDK_JAVA_OPTIONS");
          assertThat(env.getValue()).isEqualTo(RelayJvm.OPTIONS);
        });
  }

  @Test
  void aServiceTargetIsDialledAtItsClusterIpAndAHeadlessOneIsRefused() throws Exception {
    PortForward pf = forward(RelayMode.Deployment);
    pf.getSpec().setTarget(serviceTarget("web", 80));

    assertThat(target(RelayPlans.plan(pf, Optional.of(service("10.96.0.20", new IntOrString(8080))), List.of(), SETTINGS, List.of(), List.of())))
        .contains(new Forward.Target("10.96.0.20", 80));
    RelayPlan headless = RelayPlans.plan(pf, Optional.of(service("None", new IntOrString(8080))), List.of(), SETTINGS, List.of(), List.of());
    assertThat(headless.objects()).isEmpty();
    assertThat(headless.problem()).get().extracting(c -> c.reason()).isEqualTo(Reason.UNSUPPORTED_SERVICE);
  }

  @Test
  void aSidecarGetsOnlyItsConfigMapOnTheServicesTargetPort() throws Exception {
    PortForward pf = forward(RelayMode.Sidecar);
    pf.getSpec().setTarget(serviceTarget("web", 80));

    RelayPlan plan = RelayPlans.plan(pf, Optional.of(service("10.96.0.20", new IntOrString(8080))), List.of(), SETTINGS, List.of(), List.of());

    assertThat(plan.objects()).extracting(o -> o.getKind()).containsExactly("ConfigMap");
    assertThat(target(plan)).contains(new Forward.Target("127.0.0.1", 8080));
    RelayPlan named = RelayPlans.plan(pf, Optional.of(service("10.96.0.20", new IntOrString("http"))), List.of(), SETTINGS, List.of(), List.of());
    assertThat(named.problem()).get().extracting(c -> c.message()).asString()
        .contains("named targetPort http", "numeric targetPort");
  }

  @Test
  void aSocks5RelayMountsItsUsersSecret() {
    PortForward pf = forward(RelayMode.Socks5);
    pf.getSpec().setTarget(null);
    Socks5 socks5 = new Socks5();
    socks5.setAllowedDestinations(List.of("203.0.113.0/24"));
    socks5.setUsersSecretName("socks-users");
    pf.getSpec().getRelay().setSocks5(socks5);

    RelayPlan plan = RelayPlans.plan(pf, Optional.empty(), List.of(), SETTINGS, List.of(), List.of());

    PodSpec pod = ((Deployment) plan.objects().get(1)).getSpec().getTemplate().getSpec();
    assertThat(pod.getVolumes()).anyMatch(v -> v.getSecret() != null && "socks-users".equals(v.getSecret().getSecretName()));
    assertThat(pod.getContainers().get(0).getVolumeMounts())
        .anyMatch(m -> m.getMountPath().equals(RelayConfigs.USERS_DIR) && m.getReadOnly());
  }

  private static Optional<Forward.Target> target(RelayPlan plan) throws Exception {
    ConfigMap config = (ConfigMap) plan.objects().get(0);
    return RelayConfigParser.parse(config.getData().get(RelayNames.CONFIG_KEY)).forwards().get(0).target();
  }

  private static Target serviceTarget(String name, int port) {
    ServiceTarget service = new ServiceTarget();
    service.setName(name);
    service.setPort(port);
    Target target = new Target();
    target.setService(service);
    return target;
  }

  private static Service service(String clusterIp, IntOrString targetPort) {
    return new ServiceBuilder().withNewMetadata().withNamespace("team-a").withName("web").endMetadata()
        .withNewSpec().withClusterIP(clusterIp).addNewPort().withPort(80).withTargetPort(targetPort).endPort().endSpec()
        .build();
  }
}
