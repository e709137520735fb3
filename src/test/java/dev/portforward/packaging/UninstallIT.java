package dev.portforward.packaging;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.Gateway;
import dev.portforward.api.v1alpha1.GatewayProtocol;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.HomeGateway;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What helm uninstall's pre-delete hook does, run for real: {@code operator --uninstall} under the
 * hook's own service account (the chart's RBAC for it), against the shared operator, a node agent
 * in a network namespace and a real home gateway. Nothing stays behind: no PortForward, no
 * finalizer, no rule, no gateway mapping, no table once the agent stops, and the CRD deletes at once; without an operator the finalizers are
 * removed after the timeout, with a log line saying which forwards were let go.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class UninstallIT {

  private static final String CRD = "portforwards.portforward.dev";
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void uninstallLeavesNoForwardRuleTableOrFinalizerAndTheCrdDeletes(
      KubernetesClient client, TestNamespace ns, ControlPlane cp, RoleProcess operator) throws Exception {
    String release = "u" + ns.name().substring(2);
    try (NodeTopology hosts = NodeTopology.create(); NetNs lan = NetNs.create();
        HomeGateway router = HomeGateway.start(lan, 62); OneNode node = OneNode.create(client, ns)) {
      int port = uniquePort();
      node.forward("web", port, spec -> {
        Gateway gateway = new Gateway();
        gateway.setProtocol(GatewayProtocol.UPnP);
        gateway.setLease("1h");
        spec.setGateway(gateway);
      });
      RoleProcess agent = node.agent(cp, hosts, Map.of("portforward.agent.gateway.address", router.lanAddress()))
          .start();
      String mapping = "th dport " + port + " dnat ip to " + router.hostAddress() + ":" + port;
      List<HasMetadata> hook = applyHookRbac(client, release, ns.name());
      try {
        awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), "pod1"::equals);
        awaitCondition(client, ns.name(), "web", Conditions.GATEWAY_MAPPED, "True", Conditions.Reason.MAPPED);
        await().atMost(WAIT).until(router::dnatRules, rules -> rules.contains(mapping));
        // An agent stopped while it holds a forward (an upgrade) leaves its rules in place.
        agent.terminate();
        agent.exitCode();
        assertThat(hosts.tcpAsk(port)).isEqualTo("pod1");
        agent.start();

        RoleProcess uninstall = RoleProcess.operator(cp,
            InstalledChart.kubeconfigAs(client, cp, ns.name(), release + "-uninstall"), Map.of());
        assertThat(uninstall.runToCompletion("--uninstall")).as("exit code; log: " + uninstall.log()).isZero();

        assertThat(client.resources(PortForward.class).inAnyNamespace().list().getItems()).isEmpty();
        assertThat(hosts.tcpAsk(port)).as("the forward's rules are gone").isEmpty();
        assertThat(Files.readString(uninstall.log())).contains("every PortForward is gone")
            .doesNotContain("still held");
        assertThat(client.resources(dev.portforward.api.v1alpha1.PortForwardNodeReport.class).withName(node.name()).get())
            .as("the node's report, which lists nothing now").isNull();

        // helm then deletes the DaemonSet and the operator's Deployment: the agent, holding no
        // forward, takes its table along; and the CRD deletes without waiting for anyone.
        agent.terminate();
        agent.exitCode();
        assertThat(Files.readString(agent.log())).contains("holds no forward: removed the agent's table on stopping");
        assertThat(hosts.net.exec(hosts.node, "nft", "list", "tables")).doesNotContain("portforward");
        assertThat(router.dnatRules()).as("the gateway mapping is gone").doesNotContain(mapping);
        operator.terminate();
        operator.exitCode();
        client.apiextensions().v1().customResourceDefinitions().withName(CRD).delete();
        await("the CRD is gone").atMost(WAIT)
            .until(() -> client.apiextensions().v1().customResourceDefinitions().withName(CRD).get() == null);
      } finally {
        agent.close();
        client.resourceList(hook).delete();
        RealCluster.installCrds(client);
      }
    }
  }

  @Test
  void withoutAnOperatorTheFinalizersGoAfterTheTimeoutAndTheLogSaysWhich(
      KubernetesClient client, TestNamespace ns, ControlPlane cp, RoleProcess operator) throws Exception {
    String release = "u" + ns.name().substring(2);
    List<HasMetadata> hook = applyHookRbac(client, release, ns.name());
    try {
      client.resource(PortForwards.of(ns.name(), "orphan",
          "listen: {port: " + uniquePort() + "}, target: {service: {name: web, port: 80}}")).create();
      await().atMost(WAIT).until(() -> !client.resources(PortForward.class).inNamespace(ns.name()).withName("orphan")
          .get().getMetadata().getFinalizers().isEmpty());
      operator.terminate();
      operator.exitCode();

      RoleProcess uninstall = RoleProcess.operator(cp,
          InstalledChart.kubeconfigAs(client, cp, ns.name(), release + "-uninstall"),
          Map.of("portforward.uninstall.timeout", "3s"));
      assertThat(uninstall.runToCompletion("--uninstall")).as("exit code; log: " + uninstall.log()).isZero();

      assertThat(client.resources(PortForward.class).inAnyNamespace().list().getItems()).isEmpty();
      assertThat(Files.readString(uninstall.log()).lines()
          .filter(line -> line.contains("still held by the operator's finalizer after 3s (is the operator running?): ")))
          .singleElement().asString().contains(ns.name() + "/orphan", "run `agent --cleanup`");
    } finally {
      client.resourceList(hook).delete();
    }
  }

  /** The hook's service account and RBAC as the chart renders them (the Job itself needs a kubelet). */
  private static List<HasMetadata> applyHookRbac(KubernetesClient client, String release, String namespace)
      throws Exception {
    Process render = new ProcessBuilder(ControlPlane.binaries().resolve("helm").toString(), "template", release,
        ControlPlane.projectRoot().resolve("helm/portforward-operator").toString(), "--namespace", namespace,
        "--kube-version", "1.36.0", "--show-only", "templates/uninstall.yaml")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    List<HasMetadata> objects = client.load(render.getInputStream()).items().stream()
        .filter(o -> !"Job".equals(o.getKind())).toList();
    assertThat(render.waitFor()).isZero();
    assertThat(objects).extracting(HasMetadata::getKind)
        .containsExactly("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding");
    return client.resourceList(objects).createOrReplace();
  }

}
