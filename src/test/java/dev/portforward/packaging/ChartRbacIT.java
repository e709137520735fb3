package dev.portforward.packaging;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.common.ForwardSlices;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.ReadyPods;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The chart's RBAC and admission policies suffice: the operator runs under the chart's operator
 * service account and the agent under the chart's agent account (its token bound to a pod on its
 * node, as the kubelet mounts it), against the real API server, and a forward goes all the way:
 * finalizer and status written, a relay Deployment's objects made, a pods target's backends
 * published as EndpointSlices, the node's report written, rules programmed (a pods target's too,
 * by an agent that may not read pods), traffic through, and the deletion finished by the data plane.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class ChartRbacIT {

  private static final String RELEASE = "rbac-test";
  private static final String NAMESPACE = "pf-rbac-test";
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void theOperatorAndTheAgentWorkUnderTheChartsOwnServiceAccounts(KubernetesClient admin, TestNamespace ns,
      ControlPlane cp, RoleProcess sharedOperator) throws Exception {
    // The chart's status policy lets only its own operator write status: the shared one steps aside.
    sharedOperator.terminate();
    sharedOperator.exitCode();
    try (InstalledChart chart = InstalledChart.install(admin, cp, RELEASE, NAMESPACE);
        NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(admin, ns)) {
      Map<String, String> settings = new HashMap<>(SharedOperator.TEST_SETTINGS);
      settings.put("portforward.leader-election.lease-namespace", NAMESPACE);
      RoleProcess operator = RoleProcess.operator(cp,
          InstalledChart.kubeconfigAs(admin, cp, NAMESPACE, RELEASE), settings);
      RoleProcess agent = RoleProcess.agent(cp, cp.kubeconfigWithToken("chart-agent", agentToken(admin, node)), Map.of(
          "portforward.agent.node-name", node.name(),
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node))));
      try {
        operator.start();
        agent.start();
        int port = uniquePort();
        node.forward("web", port);
        // A pods target: the agent, which may not read pods, programs it from the slices the
        // operator publishes.
        ReadyPods.create(admin, ns, "echo", NodeTopology.POD1_IP);
        int podsPort = uniquePort();
        admin.resource(PortForwards.of(ns.name(), "by-pods", ("listen: {port: %d, nodeSelector: {portforward.dev/test: %s}},"
            + " target: {pods: {selector: {app: echo}, port: 8080}}").formatted(podsPort, ns.name()))).create();
        admin.resource(PortForwards.of(ns.name(), "relayed", ("listen: {port: %d}, target: {external: {host: 203.0.113.7,"
            + " port: 443}}, relay: {mode: Deployment}").formatted(uniquePort()))).create();

        PortForward web = awaitCondition(admin, ns.name(), "web", Conditions.READY, "True", Conditions.Reason.READY);
        assertThat(web.getMetadata().getFinalizers()).containsExactly("portforwards.portforward.dev/finalizer");
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), "pod1"::equals);
        awaitCondition(admin, ns.name(), "by-pods", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(podsPort), "pod1"::equals);
        assertThat(admin.discovery().v1().endpointSlices().inNamespace(ns.name())
                .withLabel(ForwardSlices.FORWARD_LABEL, "by-pods").list().getItems())
            .singleElement().satisfies(slice -> {
              assertThat(slice.getMetadata().getLabels()).doesNotContainKey("kubernetes.io/service-name");
              assertThat(slice.getEndpoints()).singleElement()
                  .satisfies(e -> assertThat(e.getAddresses()).containsExactly(NodeTopology.POD1_IP));
            });
        assertThat(admin.authorization().v1().subjectAccessReview().create(new SubjectAccessReviewBuilder()
                .withNewSpec().withUser("system:serviceaccount:" + NAMESPACE + ":" + RELEASE + "-agent")
                .withNewResourceAttributes().withResource("pods").withVerb("watch").endResourceAttributes()
                .endSpec().build()).getStatus().getAllowed())
            .as("the chart's agent may not watch pods").isFalse();
        await().atMost(WAIT).until(() -> !admin.v1().events().inNamespace(ns.name()).list().getItems().isEmpty());
        awaitCondition(admin, ns.name(), "relayed", Conditions.PROGRAMMED, "False", Conditions.Reason.RELAY_NOT_READY);
        assertThat(admin.apps().deployments().inNamespace(ns.name()).withName("relayed-relay").get()).isNotNull();
        assertThat(admin.configMaps().inNamespace(ns.name()).withName("relayed-relay").get()).isNotNull();
        assertThat(admin.services().inNamespace(ns.name()).withName("relayed-relay").get()).isNotNull();

        admin.resources(PortForward.class).inNamespace(ns.name()).withName("web").delete();
        await().atMost(WAIT).untilAsserted(() -> assertThat(
                admin.resources(PortForward.class).inNamespace(ns.name()).withName("web").get())
            .as(() -> "node report: " + Serialization.asYaml(
                admin.resources(PortForwardNodeReport.class).withName(node.name()).get().getStatus()))
            .isNull());
        assertThat(hosts.tcpAsk(port)).as("the agent removed the rules before the object went").isEmpty();
        assertThat(operator.isAlive()).isTrue();
        assertThat(agent.isAlive()).isTrue();
      } finally {
        agent.close();
        operator.close();
      }
    }
  }

  /** A token of the chart's agent account bound to a pod on the node, as the kubelet mounts one. */
  private static String agentToken(KubernetesClient admin, OneNode node) {
    Pod pod = admin.resource(new PodBuilder()
        .withNewMetadata().withNamespace(NAMESPACE).withName("agent-" + node.name()).endMetadata()
        .withNewSpec().withNodeName(node.name()).withServiceAccountName(RELEASE + "-agent")
        .addNewContainer().withName("agent").withImage("agent").endContainer().endSpec()
        .build()).create();
    return admin.serviceAccounts().inNamespace(NAMESPACE).withName(RELEASE + "-agent")
        .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L)
            .withNewBoundObjectRef().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName())
            .withUid(pod.getMetadata().getUid()).endBoundObjectRef()
            .endSpec().build())
        .getStatus().getToken();
  }
}
