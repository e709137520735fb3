package dev.portforward.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import dev.portforward.api.v1alpha1.SecretKeyRef;
import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.api.v1alpha1.SshTunnelSpec;
import dev.portforward.api.v1alpha1.SshTunnelStatus;
import dev.portforward.api.v1alpha1.SshTunnelUser;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * With the chart installed, its ValidatingAdmissionPolicies hold where RBAC cannot: PortForward
 * status (on which the node agents act) is written by the operator's service account alone, not by
 * a tenant bound to cluster-admin in its namespace; and the operator writes only Deployments,
 * ConfigMaps, Services and (created only, never updated) Secrets that carry its managed-by
 * label, so it cannot take over or delete a tenant's object even when told to. Its
 * MutatingAdmissionPolicy gives each PortForward the operator's finalizer from its creation.
 */
@ExtendWith(RealCluster.class)
class OperatorAdmissionPolicyIT {

  private static final String RELEASE = "admission-test";
  private static final String NAMESPACE = "pf-admission-test";
  private static final String FINALIZER = "portforwards.portforward.dev/finalizer";
  private static final String STATUS_REFUSED = "PortForward status is written only by the portforward operator";
  private static final String NOT_DERIVED =
      "the portforward operator creates, changes and deletes only PortForwards a Gateway owns";
  private static final String NOT_ITS_OWN = "the portforward operator writes only its own relay objects";
  private static final String NOT_A_MIRROR =
      "the portforward operator writes a backend mirror only with a controller ownerReference to a Gateway";

  @Test
  void onlyTheOperatorWritesPortForwardStatus(KubernetesClient admin, ControlPlane cp, TestNamespace ns)
      throws Exception {
    try (InstalledChart chart = InstalledChart.install(admin, cp, RELEASE, NAMESPACE)) {
      admin.resource(new ServiceAccountBuilder().withNewMetadata().withNamespace(ns.name()).withName("tenant")
          .endMetadata().build()).create();
      // As much as RBAC can give in a namespace, portforwards/status included.
      admin.resource(new RoleBindingBuilder().withNewMetadata().withNamespace(ns.name()).withName("tenant-admin")
          .endMetadata().withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole")
          .withName("cluster-admin").endRoleRef()
          .addNewSubject().withKind("ServiceAccount").withName("tenant").withNamespace(ns.name()).endSubject()
          .build()).create();
      PortForward pf = admin.resource(PortForwards.of(ns.name(), "web",
          "listen: {port: 8080}, target: {service: {name: web, port: 80}}")).create();
      pf.setStatus(accepted(pf));
      // Status writes without a resourceVersion: an operator running in the test bed adds its finalizer.
      pf.getMetadata().setResourceVersion(null);

      try (KubernetesClient tenant = chart.clientAs(ns.name(), "tenant");
          KubernetesClient operator = chart.asOperator()) {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
            assertThatThrownBy(() -> tenant.resource(pf).dryRun().patchStatus()).hasMessageContaining(STATUS_REFUSED));
        assertThatThrownBy(() -> tenant.resource(pf).patchStatus())
            .isInstanceOf(KubernetesClientException.class)
            .hasMessageContaining(STATUS_REFUSED + " (" + chart.operatorUser() + "), not by system:serviceaccount:"
                + ns.name() + ":tenant");
        assertThat(messages(admin, ns)).as("nothing written").doesNotContain("set by hand");
        // The tenant still edits its own spec: the policy covers the status subresource only.
        tenant.resources(PortForward.class).inNamespace(ns.name()).withName("web")
            .edit(p -> { p.getSpec().getListen().setPort(8081); return p; });

        operator.resource(pf).patchStatus();
        assertThat(messages(admin, ns)).containsExactly("set by hand");

        // SSHTunnel status (who is connected, what was refused) is the operator's word too.
        SshTunnel tunnel = admin.resource(sshTunnel(ns)).create();
        tunnel.setStatus(new SshTunnelStatus());
        tunnel.getStatus().setClientCount(7);
        tunnel.getMetadata().setResourceVersion(null);
        assertThatThrownBy(() -> tenant.resource(tunnel).patchStatus())
            .isInstanceOf(KubernetesClientException.class)
            .hasMessageContaining("SSHTunnel status is written only by the portforward operator (" + chart.operatorUser()
                + "), not by system:serviceaccount:" + ns.name() + ":tenant");
        // With tunnels.enabled false (the default) the operator makes no host key Secrets.
        assertThatThrownBy(() -> operator.resource(new SecretBuilder().withNewMetadata().withNamespace(ns.name())
            .withName("dev-host-key").withLabels(Map.of("app.kubernetes.io/managed-by", "portforward-operator"))
            .endMetadata().build()).create())
            .isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
      }
    }
  }

  @Test
  void theOperatorWritesOnlyObjectsCarryingItsManagedByLabel(KubernetesClient admin, ControlPlane cp,
      TestNamespace ns) throws Exception {
    try (InstalledChart chart = InstalledChart.install(admin, cp, RELEASE, NAMESPACE, "tunnels.enabled=true");
        KubernetesClient operator = chart.asOperator()) {
      Deployment tenantsDeployment = admin.resource(new DeploymentBuilder().withNewMetadata().withNamespace(ns.name())
          .withName("web-relay").addToLabels("app", "web").endMetadata()
          .withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("app", "web").endSelector()
          .withNewTemplate().withNewMetadata().addToLabels("app", "web").endMetadata()
          .withNewSpec().addNewContainer().withName("web").withImage("web").endContainer().endSpec()
          .endTemplate().endSpec().build()).create();
      ConfigMap tenantsConfig = admin.resource(new ConfigMapBuilder().withNewMetadata().withNamespace(ns.name())
          .withName("web-relay").endMetadata().addToData("app.conf", "mine").build()).create();

      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThatThrownBy(() -> operator.apps().deployments().inNamespace(ns.name()).withName("web-relay")
              .dryRun().delete()).hasMessageContaining(NOT_ITS_OWN));
      assertThatThrownBy(() -> operator.apps().deployments().inNamespace(ns.name()).withName("web-relay").edit(d -> {
        d.getMetadata().getLabels().put("app.kubernetes.io/managed-by", "portforward-operator");
        d.getSpec().setReplicas(0);
        return d;
      })).hasMessageContaining(NOT_ITS_OWN + ", labelled app.kubernetes.io/managed-by=portforward-operator before and"
          + " after the change; deployments " + ns.name() + "/web-relay is not one");
      assertThatThrownBy(() -> operator.apps().deployments().inNamespace(ns.name()).withName("web-relay").delete())
          .hasMessageContaining(NOT_ITS_OWN);
      assertThatThrownBy(() -> operator.configMaps().inNamespace(ns.name()).withName("web-relay")
          .edit(c -> { c.getData().put("app.conf", "relay"); return c; })).hasMessageContaining(NOT_ITS_OWN);
      assertThatThrownBy(() -> operator.configMaps().inNamespace(ns.name()).withName("web-relay").delete())
          .hasMessageContaining(NOT_ITS_OWN);
      assertThatThrownBy(() -> operator.resource(new ConfigMapBuilder().withNewMetadata().withNamespace(ns.name())
          .withName("unlabelled").endMetadata().build()).create()).hasMessageContaining(NOT_ITS_OWN);
      // The Deployment controller writes its status; what the tenant wrote is as it was.
      Deployment after = admin.apps().deployments().inNamespace(ns.name()).withName("web-relay").get();
      assertThat(after.getMetadata().getLabels()).isEqualTo(tenantsDeployment.getMetadata().getLabels());
      assertThat(after.getSpec().getReplicas()).isEqualTo(1);
      assertThat(admin.configMaps().inNamespace(ns.name()).withName("web-relay").get().getMetadata()
          .getResourceVersion()).as("unchanged").isEqualTo(tenantsConfig.getMetadata().getResourceVersion());

      Map<String, String> ours = Map.of("app.kubernetes.io/managed-by", "portforward-operator");
      operator.resource(new ConfigMapBuilder().withNewMetadata().withNamespace(ns.name()).withName("other-relay")
          .withLabels(ours).endMetadata().addToData("relay.yaml", "forwards: []").build()).create();
      operator.configMaps().inNamespace(ns.name()).withName("other-relay")
          .edit(c -> { c.getData().put("relay.yaml", "forwards: [] # again"); return c; });
      assertThatThrownBy(() -> operator.configMaps().inNamespace(ns.name()).withName("other-relay")
          .edit(c -> { c.getMetadata().setLabels(Map.of()); return c; }))
          .as("its own object stays labelled").hasMessageContaining(NOT_ITS_OWN);
      assertThat(operator.configMaps().inNamespace(ns.name()).withName("other-relay").delete()).hasSize(1);

      // An SSHTunnel's host key Secret: created once with the label, read by name, never rewritten.
      assertThatThrownBy(() -> operator.resource(new SecretBuilder().withNewMetadata().withNamespace(ns.name())
          .withName("unlabelled-host-key").endMetadata().build()).create()).hasMessageContaining(NOT_ITS_OWN);
      operator.resource(new SecretBuilder().withNewMetadata().withNamespace(ns.name()).withName("dev-host-key")
          .withLabels(ours).endMetadata().addToStringData("ssh_host_ed25519_key", "key").build()).create();
      assertThat(operator.secrets().inNamespace(ns.name()).withName("dev-host-key").get()).isNotNull();
      assertThatThrownBy(() -> operator.secrets().inNamespace(ns.name()).withName("dev-host-key")
          .edit(secret -> { secret.getMetadata().getLabels().put("edited", "yes"); return secret; }))
          .as("no update of Secrets").isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
      assertThatThrownBy(() -> operator.secrets().inNamespace(ns.name()).list())
          .as("no listing of Secrets").isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
      assertThat(operator.resources(SshTunnel.class).inAnyNamespace().list().getItems()).isEmpty();
    }
  }

  /**
   * With gatewayApi.enabled the operator may create and delete PortForwards, but only those a
   * Gateway owns: told to make one in a tenant's name, or to delete or retarget a tenant's, it is
   * refused; its finalizer writes on a tenant's forward still pass. Backend mirrors (Services and
   * EndpointSlices with the mirror label) it writes only with a Gateway as controller owner, and
   * a tenant's Service it cannot turn into one.
   */
  @Test
  void withTheGatewayApiTheOperatorWritesOnlyPortForwardsAGatewayOwns(KubernetesClient admin, ControlPlane cp,
      TestNamespace ns) throws Exception {
    try (InstalledChart chart = InstalledChart.install(admin, cp, RELEASE, NAMESPACE, "gatewayApi.enabled=true");
        KubernetesClient operator = chart.asOperator()) {
      PortForward tenants = admin.resource(PortForwards.of(ns.name(), "tenants",
          "listen: {port: 8080}, target: {service: {name: web, port: 80}}")).create();
      PortForward unowned = PortForwards.of(ns.name(), "made-up",
          "listen: {port: 8081}, target: {service: {name: web, port: 80}}");
      PortForward derived = PortForwards.of(ns.name(), "gw-tcp",
          "listen: {port: 8082}, target: {service: {name: web, port: 80}}");
      derived.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder()
          .withApiVersion("gateway.networking.k8s.io/v1").withKind("Gateway").withName("gw")
          .withUid("00000000-0000-0000-0000-000000000001").withController(true).build()));

      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThatThrownBy(() -> operator.resource(unowned).dryRun().create()).hasMessageContaining(NOT_DERIVED));
      assertThatThrownBy(() -> operator.resource(unowned).create())
          .hasMessageContaining(NOT_DERIVED + "; " + ns.name() + "/made-up is not one");
      assertThatThrownBy(() -> operator.resources(PortForward.class).inNamespace(ns.name()).withName("tenants").delete())
          .hasMessageContaining(NOT_DERIVED);
      assertThatThrownBy(() -> operator.resources(PortForward.class).inNamespace(ns.name()).withName("tenants")
          .edit(pf -> {
            pf.getSpec().getTarget().getService().setName("elsewhere");
            return pf;
          })).hasMessageContaining(NOT_DERIVED);
      // Its metadata (the finalizer the PortForward reconciler holds) it still writes.
      operator.resources(PortForward.class).inNamespace(ns.name()).withName("tenants").edit(pf -> {
        pf.getMetadata().setLabels(Map.of("touched-by", "operator"));
        return pf;
      });
      assertThat(admin.resources(PortForward.class).inNamespace(ns.name()).withName("tenants").get().getSpec()
          .getTarget().getService().getName()).isEqualTo(tenants.getSpec().getTarget().getService().getName());
      // A PortForward a Gateway owns it creates.
      assertThat(operator.resource(derived).dryRun().create().getMetadata().getName()).isEqualTo("gw-tcp");

      // A backend mirror (Service and slice) it writes only with a Gateway as controller owner.
      Map<String, String> mirrorLabels = Map.of("app.kubernetes.io/managed-by", "portforward-operator",
          "gateway.portforward.dev/backend-namespace", "backends");
      Service mirror = new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName("gw-tcp-echo-0123456789")
          .withLabels(mirrorLabels).endMetadata()
          .withNewSpec().addNewPort().withPort(80).endPort().endSpec().build();
      EndpointSlice slice = new EndpointSliceBuilder().withNewMetadata().withNamespace(ns.name())
          .withName("gw-tcp-echo-0123456789-ipv4-0").withLabels(mirrorLabels)
          .addToLabels("kubernetes.io/service-name", "gw-tcp-echo-0123456789").endMetadata()
          .withAddressType("IPv4")
          .addNewEndpoint().withAddresses("10.77.9.9").endEndpoint()
          .build();
      assertThatThrownBy(() -> operator.resource(mirror).dryRun().create())
          .hasMessageContaining(NOT_A_MIRROR + "; services " + ns.name() + "/gw-tcp-echo-0123456789 has none");
      assertThatThrownBy(() -> operator.resource(slice).dryRun().create()).hasMessageContaining(NOT_A_MIRROR);
      mirror.getMetadata().setOwnerReferences(derived.getMetadata().getOwnerReferences());
      slice.getMetadata().setOwnerReferences(derived.getMetadata().getOwnerReferences());
      assertThat(operator.resource(mirror).dryRun().create().getMetadata().getName())
          .isEqualTo("gw-tcp-echo-0123456789");
      assertThat(operator.resource(slice).dryRun().create().getMetadata().getName())
          .isEqualTo("gw-tcp-echo-0123456789-ipv4-0");
      // A tenant's Service it cannot turn into a mirror (take over), Gateway owner or not.
      admin.resource(new ServiceBuilder().withNewMetadata().withNamespace(ns.name()).withName("tenants-svc")
          .endMetadata().withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()).create();
      assertThatThrownBy(() -> operator.services().inNamespace(ns.name()).withName("tenants-svc").edit(svc -> {
        svc.getMetadata().setLabels(mirrorLabels);
        svc.getMetadata().setOwnerReferences(derived.getMetadata().getOwnerReferences());
        return svc;
      })).hasMessageContaining(NOT_ITS_OWN);
    }
  }

  /**
   * The chart's MutatingAdmissionPolicy gives each PortForward the operator's finalizer in its
   * create request (the operator then writes a new forward once, its status), gives it back to an
   * update that drops it, and leaves a forward being deleted alone so that it can go.
   */
  @Test
  void aPortForwardCarriesTheFinalizerFromItsCreation(KubernetesClient admin, ControlPlane cp, TestNamespace ns)
      throws Exception {
    try (InstalledChart chart = InstalledChart.install(admin, cp, RELEASE, NAMESPACE)) {
      PortForward probe = PortForwards.of(ns.name(), "probe",
          "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
      // A new admission policy takes effect once the API server has loaded it; dry runs probe that.
      await().atMost(Duration.ofSeconds(60))
          .until(() -> admin.resource(probe).dryRun().create().getMetadata().getFinalizers().contains(FINALIZER));

      PortForward web = admin.resource(PortForwards.of(ns.name(), "web",
          "listen: {port: 8080}, target: {service: {name: web, port: 80}}")).create();
      assertThat(web.getMetadata().getFinalizers()).containsExactly(FINALIZER);

      PortForward edited = admin.resources(PortForward.class).inNamespace(ns.name()).withName("web")
          .edit(p -> { p.getMetadata().setFinalizers(List.of("example.com/keep")); return p; });
      assertThat(edited.getMetadata().getFinalizers()).containsExactlyInAnyOrder("example.com/keep", FINALIZER);

      admin.resources(PortForward.class).inNamespace(ns.name()).withName("web").delete();
      // example.com/keep holds the forward, whatever an operator in the test bed does meanwhile.
      PortForward deleting = admin.resources(PortForward.class).inNamespace(ns.name()).withName("web")
          .edit(p -> { p.getMetadata().setFinalizers(List.of("example.com/keep")); return p; });
      assertThat(deleting.getMetadata().getFinalizers()).as("not given back while being deleted")
          .containsExactly("example.com/keep");
      admin.resources(PortForward.class).inNamespace(ns.name()).withName("web")
          .edit(p -> { p.getMetadata().setFinalizers(List.of()); return p; });
      await().atMost(Duration.ofSeconds(30))
          .until(() -> admin.resources(PortForward.class).inNamespace(ns.name()).withName("web").get() == null);
    }
  }

  private static SshTunnel sshTunnel(TestNamespace ns) {
    SshTunnel tunnel = new SshTunnel();
    tunnel.getMetadata().setName("dev");
    tunnel.getMetadata().setNamespace(ns.name());
    SshTunnelUser user = new SshTunnelUser();
    user.setName("alice");
    SecretKeyRef keys = new SecretKeyRef();
    keys.setName("alice-keys");
    user.setAuthorizedKeys(keys);
    SshTunnelSpec spec = new SshTunnelSpec();
    spec.setUsers(List.of(user));
    tunnel.setSpec(spec);
    return tunnel;
  }

  private static List<String> messages(KubernetesClient admin, TestNamespace ns) {
    PortForward pf = admin.resources(PortForward.class).inNamespace(ns.name()).withName("web").get();
    return pf.getStatus() == null ? List.of()
        : pf.getStatus().getConditions().stream().map(c -> c.getMessage()).toList();
  }

  private static PortForwardStatus accepted(PortForward pf) {
    PortForwardStatus status = new PortForwardStatus();
    status.setObservedGeneration(pf.getMetadata().getGeneration());
    status.setConditions(List.of(new ConditionBuilder().withType("Accepted").withStatus("True").withReason("Accepted")
        .withMessage("set by hand").withLastTransitionTime("2026-11-30T08:00:00Z")
        .withObservedGeneration(pf.getMetadata().getGeneration()).build()));
    return status;
  }
}
