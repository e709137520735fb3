package dev.portforward.packaging;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.NodeReportStatus;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.RealCluster;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * With the chart installed, an agent's service account token, bound to its pod on a node, may write
 * that node's report and no other: RBAC alone cannot say "your own node", the chart's
 * ValidatingAdmissionPolicy does, also for the server-side apply the agent writes its status with.
 */
@ExtendWith(RealCluster.class)
class AgentReportPolicyIT {

  private static final String NAMESPACE = "pf-policy-test";

  @Test
  void anAgentWritesOnlyItsOwnNodesReport(KubernetesClient admin, ControlPlane cp) throws Exception {
    try (InstalledChart chart = InstalledChart.install(admin, cp, "agent-test", NAMESPACE)) {
      agentWritesOnlyItsOwnNodesReport(admin, cp);
    }
  }

  private static void agentWritesOnlyItsOwnNodesReport(KubernetesClient admin, ControlPlane cp) throws Exception {
    String node = "policy-node-a";
    admin.resource(new NodeBuilder().withNewMetadata().withName(node).endMetadata().build()).serverSideApply();
    Pod pod = admin.resource(new PodBuilder()
        .withNewMetadata().withNamespace(NAMESPACE).withName("agent-on-a").endMetadata()
        .withNewSpec().withNodeName(node).withServiceAccountName("agent-test-agent")
        .addNewContainer().withName("agent").withImage("agent").endContainer().endSpec()
        .build()).create();
    String token = admin.serviceAccounts().inNamespace(NAMESPACE).withName("agent-test-agent")
        .tokenRequest(new TokenRequestBuilder().withNewSpec()
            .withNewBoundObjectRef().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName())
            .withUid(pod.getMetadata().getUid()).endBoundObjectRef()
            .endSpec().build())
        .getStatus().getToken();

    Config asAgent = new ConfigBuilder(Config.empty())
        .withMasterUrl(cp.url())
        .withCaCertData(java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(cp.caFile())))
        .withOauthToken(token)
        .build();
    try (KubernetesClient agent = new KubernetesClientBuilder().withConfig(asAgent).build()) {
      // A new admission policy takes effect once the API server has loaded it; dry runs probe that.
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThatThrownBy(() -> agent.resource(report("policy-node-b")).dryRun().create())
              .hasMessageContaining("an agent may only write the report of its own node"));
      agent.resource(report(node)).create();
      assertThatThrownBy(() -> agent.resource(report("policy-node-b")).create())
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining("an agent may only write the report of its own node");
      // The agent writes its status with server-side apply: held to its own node's report too,
      // whether the apply would create a report or change another node's status.
      PatchContext apply = new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
          .withFieldManager("portforward-agent").withForce(true).build();
      agent.resource(withStatus(node)).subresource("status").patch(apply);
      assertThatThrownBy(() -> agent.resource(report("policy-node-b")).patch(apply))
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining("an agent may only write the report of its own node");
      admin.resource(report("policy-node-b")).create();
      assertThatThrownBy(() -> agent.resource(withStatus("policy-node-b")).subresource("status").patch(apply))
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining("an agent may only write the report of its own node");
    }
  }

  private static PortForwardNodeReport withStatus(String node) {
    PortForwardNodeReport report = report(node);
    NodeReportStatus status = new NodeReportStatus();
    status.setProgrammed(true);
    report.setStatus(status);
    return report;
  }

  private static PortForwardNodeReport report(String node) {
    PortForwardNodeReport report = new PortForwardNodeReport();
    report.setMetadata(new ObjectMetaBuilder().withName(node).build());
    return report;
  }
}
