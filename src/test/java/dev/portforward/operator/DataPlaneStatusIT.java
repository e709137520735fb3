package dev.portforward.operator;

import static dev.portforward.operator.PortForwardOperatorIT.endpointSlice;
import static dev.portforward.operator.PortForwardOperatorIT.reconciles;
import static dev.portforward.operator.PortForwardOperatorIT.service;
import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.toService;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.NodeReportStatus;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.testbed.ArgoHealth;
import dev.portforward.testbed.KStatus;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Programmed, Ready, endpoints and nodes come from the node agents' reports. Each test plays the
 * agents itself, writing the reports they would write, on Node objects of its own.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class DataPlaneStatusIT {

  private KubernetesClient client;
  private List<Node> nodes = List.of();

  @Test
  void programmedAndReadyFollowTheReportsOfEverySelectedNode(KubernetesClient client, TestNamespace ns) {
    this.client = client;
    Map<String, String> label = Map.of("portforward.dev/test", ns.name());
    String n1 = ns.name() + "-a";
    String n2 = ns.name() + "-b";
    nodes = List.of(node(n1, label), node(n2, label));
    client.resource(service(ns.name(), "web", 80)).create();
    client.resource(endpointSlice(ns.name(), "web", "10.244.0.5", 8080)).create();
    int port = uniquePort();
    client.resource(toService(ns.name(), "web", port, "web", 80, spec -> spec.getListen().setNodeSelector(label)))
        .create();

    PortForward pf = awaitCondition(client, ns.name(), "web", Conditions.PROGRAMMED, "False", Reason.AWAITING_DATA_PLANE);
    assertThat(condition(pf, Conditions.READY).orElseThrow().getStatus()).isEqualTo("False");
    assertThat(pf.getStatus().getNodes()).extracting(NodeState::getMessage)
        .containsOnly("no agent reports from this node");
    assertThat(ArgoHealth.of(pf).status()).as("Argo CD health").isEqualTo("Progressing");

    report(n1, true, null, forward(ns, "web", 1, true, null, "192.0.2.1"));
    pf = awaitCondition(client, ns.name(), "web", Conditions.PROGRAMMED, "False", Reason.NODES_NOT_PROGRAMMED);
    assertThat(condition(pf, Conditions.PROGRAMMED).orElseThrow().getMessage())
        .isEqualTo("programmed on 1 of 2 node(s); " + n2 + ": no agent reports from this node");
    assertThat(ArgoHealth.of(pf).status()).as("Argo CD health").isEqualTo("Progressing");

    report(n2, true, null, forward(ns, "web", 1, true, null, "192.0.2.2"));
    pf = awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Reason.READY);
    assertThat(condition(pf, Conditions.PROGRAMMED).orElseThrow().getMessage()).isEqualTo("programmed on 2 node(s)");
    assertThat(condition(pf, Conditions.READY).orElseThrow().getMessage())
        .isEqualTo("traffic can flow: programmed on 2 node(s), 1 ready backend(s)");
    assertThat(pf.getStatus().getEndpoints()).extracting(Endpoint::getNode, Endpoint::getAddress, Endpoint::getPort)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(n1, "192.0.2.1", port),
            org.assertj.core.groups.Tuple.tuple(n2, "192.0.2.2", port));
    assertThat(pf.getStatus().getEndpointsSummary()).isEqualTo("192.0.2.1:" + port + ",192.0.2.2:" + port);
    assertThat(pf.getStatus().getNodes()).allMatch(NodeState::isProgrammed);
    assertThat(ArgoHealth.of(pf)).as("Argo CD health")
        .isEqualTo(new ArgoHealth.Health("Healthy", "traffic can flow: programmed on 2 node(s), 1 ready backend(s)"));
    assertThat(KStatus.of(pf)).as("kstatus (Flux's wait)").isEqualTo(new KStatus.Result("Current", "Resource is Ready"));

    report(n1, false, "nft: transaction failed: table busy", forward(ns, "web", 1, false, "rules not applied", "192.0.2.1"));
    pf = awaitCondition(client, ns.name(), "web", Conditions.PROGRAMMED, "False", Reason.NODES_NOT_PROGRAMMED);
    assertThat(condition(pf, Conditions.PROGRAMMED).orElseThrow().getMessage()).endsWith(n1 + ": rules not applied");
    assertThat(pf.getStatus().getEndpoints()).extracting(Endpoint::getNode).containsExactly(n2);
    assertThat(condition(pf, Conditions.READY).orElseThrow().getStatus()).isEqualTo("False");
    assertThat(ArgoHealth.of(pf)).as("Argo CD health: a node's data plane refuses")
        .isEqualTo(new ArgoHealth.Health("Degraded", "node " + n1 + ": rules not applied"));
  }

  @Test
  void aNewGenerationIsNotProgrammedUntilTheAgentsSayItIs(KubernetesClient client, TestNamespace ns) {
    this.client = client;
    Map<String, String> label = Map.of("portforward.dev/test", ns.name());
    String n1 = ns.name() + "-a";
    nodes = List.of(node(n1, label));
    client.resource(service(ns.name(), "web", 80)).create();
    client.resource(toService(ns.name(), "web", uniquePort(), "web", 80, spec -> spec.getListen().setNodeSelector(label)))
        .create();
    report(n1, true, null, forward(ns, "web", 1, true, null, "192.0.2.1"));
    PortForward pf = awaitCondition(client, ns.name(), "web", Conditions.READY, "False", Reason.NO_READY_BACKENDS);
    assertThat(condition(pf, Conditions.PROGRAMMED).orElseThrow().getStatus()).isEqualTo("True");
    assertThat(ArgoHealth.of(pf).status()).as("Argo CD health: no ready backend").isEqualTo("Degraded");

    pf.getSpec().getListen().setPort(uniquePort());
    PortForward edited = client.resource(pf).update();
    // As the API server answers the edit, before the operator has seen the new generation.
    assertThat(KStatus.of(edited)).as("kstatus of a new generation").isEqualTo(new KStatus.Result("InProgress",
        "PortForward generation is 2, but latest observed generation is 1"));

    pf = awaitCondition(client, ns.name(), "web", Conditions.PROGRAMMED, "False", Reason.NODES_NOT_PROGRAMMED);
    assertThat(condition(pf, Conditions.PROGRAMMED).orElseThrow().getMessage())
        .endsWith(n1 + ": the agent has not programmed generation 2 yet");
    assertThat(ArgoHealth.of(pf).status()).as("Argo CD health").isEqualTo("Progressing");
    assertThat(KStatus.of(pf).status()).as("kstatus: observed, not Ready yet").isEqualTo("InProgress");
    assertThat(pf.getStatus().getEndpoints()).isEmpty();
  }

  /**
   * An agent lists every forward on its node in one report; a new version of it wakes only the
   * forwards whose entry changed, so the operator's work does not grow with nodes times forwards.
   * Counted with the operator's per-forward reconcile metric: b is reconciled once, for its own
   * change, not for a's change before it.
   */
  @Test
  void aReportWakesOnlyTheForwardsWhoseEntryChanged(KubernetesClient client, TestNamespace ns, RoleProcess operator)
      throws Exception {
    this.client = client;
    Map<String, String> label = Map.of("portforward.dev/test", ns.name());
    String n1 = ns.name() + "-a";
    nodes = List.of(node(n1, label));
    client.resource(service(ns.name(), "web", 80)).create();
    for (String name : List.of("a", "b")) {
      client.resource(toService(ns.name(), name, uniquePort(), "web", 80, spec -> spec.getListen().setNodeSelector(label)))
          .create();
    }
    report(n1, true, null, forward(ns, "a", 1, true, null, "192.0.2.1"), forward(ns, "b", 1, true, null, "192.0.2.1"));
    awaitCondition(client, ns.name(), "a", Conditions.PROGRAMMED, "True", Reason.PROGRAMMED);
    awaitCondition(client, ns.name(), "b", Conditions.PROGRAMMED, "True", Reason.PROGRAMMED);
    double before = awaitSettled(operator, ns, "b");

    report(n1, false, null, forward(ns, "a", 1, false, "rules not applied", "192.0.2.1"),
        forward(ns, "b", 1, true, null, "192.0.2.1"));
    awaitCondition(client, ns.name(), "a", Conditions.PROGRAMMED, "False", Reason.NODES_NOT_PROGRAMMED);
    report(n1, false, null, forward(ns, "a", 1, false, "rules not applied", "192.0.2.1"),
        forward(ns, "b", 1, false, "rules not applied", "192.0.2.1"));
    awaitCondition(client, ns.name(), "b", Conditions.PROGRAMMED, "False", Reason.NODES_NOT_PROGRAMMED);

    assertThat(awaitSettled(operator, ns, "b")).as("reconciles of b after a's change and then its own")
        .isEqualTo(before + 1);
  }

  /** The forward's reconcile count once two readings a metrics scrape apart agree. */
  private static double awaitSettled(RoleProcess operator, TestNamespace ns, String name) {
    double[] last = {-1};
    return Awaitility.await(name + "'s reconcile count settles").atMost(PortForwards.WAIT)
        .until(() -> {
          double previous = last[0];
          last[0] = reconciles(operator, ns.name(), name);
          return previous == last[0] ? last[0] : null;
        }, Objects::nonNull);
  }

  @AfterEach
  void removeNodes() {
    nodes.forEach(n -> client.resource(n).delete());
  }

  private Node node(String name, Map<String, String> labels) {
    return client.resource(new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata().build())
        .create();
  }

  /** Writes a node's report as its agent would: owned by the Node, status only. */
  private void report(String node, boolean programmed, String message, ForwardReport... forwards) {
    Node owner = client.nodes().withName(node).get();
    PortForwardNodeReport report = client.resources(PortForwardNodeReport.class).withName(node).get();
    if (report == null) {
      report = new PortForwardNodeReport();
      report.setMetadata(new ObjectMetaBuilder().withName(node)
          .addNewOwnerReference().withApiVersion("v1").withKind("Node").withName(node)
          .withUid(owner.getMetadata().getUid()).endOwnerReference().build());
      report = client.resource(report).create();
    }
    NodeReportStatus status = new NodeReportStatus();
    status.setProgrammed(programmed);
    status.setMessage(message);
    status.setLastSyncTime(Instant.now().toString());
    status.setForwards(List.of(forwards));
    report.setStatus(status);
    client.resource(report).updateStatus();
  }

  private static ForwardReport forward(TestNamespace ns, String name, long generation, boolean programmed,
      String message, String address) {
    ForwardReport forward = new ForwardReport();
    forward.setNamespace(ns.name());
    forward.setName(name);
    forward.setGeneration(generation);
    forward.setProgrammed(programmed);
    forward.setMessage(message);
    forward.setAddresses(List.of(address));
    return forward;
  }
}
