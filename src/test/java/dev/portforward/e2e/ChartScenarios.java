package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.testbed.EchoSession;
import dev.portforward.testbed.PortForwards;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * End-to-end scenarios of the chart on a cluster with real kubelets, shared by the real-node ITs
 * ({@link NodeLifecycleIT}) and the K3s ones ({@link K3sEndToEndIT}): a backend and forwards pinned
 * to each node, a kubelet stopped, node components crashing, helm upgrade under a live
 * connection, and helm uninstall leaving nothing behind.
 */
final class ChartScenarios {

  static final Duration LONG = Duration.ofMinutes(4);
  private static final Duration POLL = Duration.ofSeconds(1);
  /** The label every node carries with its own name. */
  private static final String HOSTNAME = "kubernetes.io/hostname";

  private ChartScenarios() {}

  /**
   * A node's own backends (nginx "web" on 80, a socat echo "echo" on 7000) in their own
   * namespace, and forwards "web" and "echo" to them that only this node carries: traffic through
   * a node never needs another node, so each node's fate shows in its own forwards.
   */
  record NodeBackends(String node, String namespace, int webPort, int echoPort) {}

  static NodeBackends deployBackends(ClusterUnderTest c, String node) {
    KubernetesClient client = c.client();
    String namespace = "lc-" + node + "-" + UUID.randomUUID().toString().substring(0, 6);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build())
        .create();
    client.load(new ByteArrayInputStream(backends(namespace, c.testImage(), node).getBytes(StandardCharsets.UTF_8)))
        .serverSideApply();
    NodeBackends b = new NodeBackends(node, namespace, PortForwards.uniquePort(), PortForwards.uniquePort());
    for (var forward : List.of(List.of("web", b.webPort(), 80), List.of("echo", b.echoPort(), 7000))) {
      client.resource(PortForwards.of(namespace, (String) forward.get(0),
          "listen: {port: %d, nodeSelector: {%s: %s}}, target: {service: {name: %s, port: %d}}, sourceRanges: [\"%s/32\"]"
              .formatted(forward.get(1), HOSTNAME, node, forward.get(0), forward.get(2), c.clientAddress())))
          .serverSideApply();
    }
    return b;
  }

  /** Both forwards of the node Ready, and the node's nginx answering through its forward. */
  static void awaitServing(ClusterUnderTest c, NodeBackends b) {
    for (String name : List.of("web", "echo")) {
      awaitReady(c, b, name);
    }
    await(b.node() + ": nginx answers through the forward").atMost(LONG).pollInterval(POLL)
        .until(() -> c.fetch(webUrl(c, b)), answer -> answer.contains("hostname=web-"));
  }

  /**
   * A kubelet stopped: its node goes NotReady, and the forward only it carries says so (Programmed and
   * Ready False, naming the node and its Ready condition, the node listed as not programmed), while
   * the other nodes' forwards stay Ready and keep forwarding. With the kubelet back, the status
   * recovers and traffic flows through the node again.
   */
  static void kubeletStopped(ClusterUnderTest c, NodeFaults faults, List<NodeBackends> all) throws Exception {
    NodeBackends stopped = all.get(all.size() - 1);
    List<NodeBackends> others = all.subList(0, all.size() - 1);
    KubernetesClient client = c.client();
    faults.stopKubelet(stopped.node());
    try {
      await(stopped.node() + " NotReady").atMost(LONG).pollInterval(POLL)
          .until(() -> !ready(client.nodes().withName(stopped.node()).get()));
      PortForward pf = await(stopped.namespace() + "/web says its node is not Ready").atMost(LONG).pollInterval(POLL)
          .until(() -> forward(client, stopped, "web"), f -> PortForwards.condition(f, Conditions.PROGRAMMED)
              .filter(cond -> "False".equals(cond.getStatus()) && Reason.NODES_NOT_READY.equals(cond.getReason()))
              .isPresent());
      assertThat(PortForwards.condition(pf, Conditions.PROGRAMMED).orElseThrow().getMessage())
          .contains(stopped.node() + ": the node is not Ready (Ready=Unknown, NodeStatusUnknown");
      assertThat(PortForwards.condition(pf, Conditions.READY).orElseThrow())
          .satisfies(cond -> assertThat(cond.getStatus()).isEqualTo("False"))
          .satisfies(cond -> assertThat(cond.getMessage()).contains(stopped.node() + ": the node is not Ready"));
      assertThat(pf.getStatus().getNodes()).singleElement()
          .satisfies(n -> assertThat(n.getName()).isEqualTo(stopped.node()))
          .satisfies(n -> assertThat(n.isProgrammed()).isFalse())
          .satisfies(n -> assertThat(n.getMessage()).contains("Kubelet stopped posting node status"));
      for (NodeBackends other : others) {
        assertThat(PortForwards.condition(forward(client, other, "web"), Conditions.READY).orElseThrow().getStatus())
            .as("%s/web, on a Ready node", other.namespace()).isEqualTo("True");
        assertThat(c.fetch(webUrl(c, other))).as("through %s", other.node()).contains("hostname=web-");
      }
    } finally {
      faults.startKubelet(stopped.node());
    }
    await(stopped.node() + " Ready again").atMost(LONG).pollInterval(POLL)
        .until(() -> ready(client.nodes().withName(stopped.node()).get()));
    awaitServing(c, stopped);
    assertThat(forward(client, stopped, "web").getStatus().getNodes()).extracting(NodeState::isProgrammed)
        .containsExactly(true);
  }

  /**
   * Node components crash and restart: containerd on the first node, the kubelet (SIGKILL) on the
   * last. Afterwards every node is Ready, the agents and backends run and are ready, each forward is
   * Programmed and Ready again, and traffic flows through every node.
   */
  static void componentsRestart(ClusterUnderTest c, NodeFaults faults, List<NodeBackends> all) throws Exception {
    faults.restartContainerd(all.get(0).node());
    awaitEverythingServing(c, all);
    faults.killKubelet(all.get(all.size() - 1).node());
    faults.startKubelet(all.get(all.size() - 1).node());
    awaitEverythingServing(c, all);
  }

  private static void awaitEverythingServing(ClusterUnderTest c, List<NodeBackends> all) {
    KubernetesClient client = c.client();
    await("every node Ready").atMost(LONG).pollInterval(POLL)
        .until(() -> client.nodes().list().getItems().stream().allMatch(ChartScenarios::ready));
    await("an agent ready on every node").atMost(LONG).pollInterval(POLL)
        .until(() -> numberReady(agents(c)) == c.nodes().size());
    for (NodeBackends b : all) {
      await(b.namespace() + ": backends ready").atMost(LONG).pollInterval(POLL)
          .until(() -> client.pods().inNamespace(b.namespace()).list().getItems().stream()
              .filter(ChartScenarios::podReady).count() == 2);
      awaitServing(c, b);
    }
  }

  /**
   * helm upgrade with values that roll the operator and the agents: a TCP connection through a
   * DNAT forward opened before carries bytes both ways after every pod of the release was
   * replaced, and new connections work.
   */
  static void upgradeKeepsConnections(ClusterUnderTest c, NodeBackends b) throws Exception {
    KubernetesClient client = c.client();
    awaitReady(c, b, "echo");
    EchoSession session = connectEchoing(c, b);
    try {
      Set<String> before = releasePods(c);
      // Led by a letter: eight hex digits that happen to be all digits reach helm as a number,
      // which the chart's schema refuses for an annotation.
      String rollout = "r" + UUID.randomUUID().toString().substring(0, 8);
      c.helmUpgrade("operator.podAnnotations.rollout=" + rollout, "agent.podAnnotations.rollout=" + rollout);
      // Every pod of the release starts again, one after the other: generous on a loaded machine.
      await("the operator and every agent replaced and ready").atMost(Duration.ofMinutes(8)).pollInterval(POLL)
          .conditionEvaluationListener(condition -> {
            if (condition.getRemainingTimeInMS() < POLL.toMillis() * 2) {
              System.out.println("release pods after the upgrade: " + podSummary(c));
            }
          })
          .until(() -> {
        List<Pod> pods = client.pods().inNamespace(c.releaseNamespace()).list().getItems();
        return pods.stream().noneMatch(p -> before.contains(p.getMetadata().getUid()))
            && numberReady(agents(c)) == c.nodes().size()
            && agents(c).getStatus().getUpdatedNumberScheduled() == c.nodes().size()
            && readyReplicas(client.apps().deployments().inNamespace(c.releaseNamespace())
                .withName(c.releaseName()).get()) == operatorReplicas(c);
      });
      for (int i = 0; i < 3; i++) {
        assertThat(session.echoes("after the upgrade " + i)).as("the connection opened before the upgrade").isTrue();
      }
    } finally {
      session.close();
    }
    awaitReady(c, b, "echo");
    EchoSession fresh = connectEchoing(c, b);
    fresh.close();
  }

  /**
   * helm uninstall: the hook deletes every PortForward through the running operator and agents,
   * so no project table is left on any node, no PortForward or its finalizer, no relay object, no
   * node report, and in the release namespace nothing of the project's.
   */
  static void uninstallLeavesNothing(ClusterUnderTest c, List<NodeBackends> all) throws Exception {
    KubernetesClient client = c.client();
    for (NodeBackends b : all) {
      assertThat(c.onNode(b.node(), "nft", "list", "tables")).as("%s while installed", b.node())
          .contains("portforward");
    }
    c.helmUninstall();
    assertThat(client.resources(PortForward.class).inAnyNamespace().list().getItems()).as("PortForwards").isEmpty();
    for (String node : c.nodes()) {
      await(node + ": no table of the project").atMost(Duration.ofMinutes(1)).pollInterval(POLL)
          .until(() -> c.onNode(node, "nft", "list", "tables"), tables -> !tables.contains("portforward"));
    }
    await("no pod of the release").atMost(Duration.ofMinutes(2)).pollInterval(POLL)
        .until(() -> client.pods().inNamespace(c.releaseNamespace()).list().getItems().isEmpty());
    assertThat(client.resources(PortForwardNodeReport.class).list().getItems()).as("node reports").isEmpty();
    List<String> left = new ArrayList<>();
    Stream.of(client.apps().deployments(), client.apps().daemonSets(), client.services(), client.configMaps(),
            client.secrets(), client.serviceAccounts(), client.rbac().roles(), client.rbac().roleBindings(),
            client.batch().v1().jobs(), client.leases())
        .flatMap(op -> op.inNamespace(c.releaseNamespace()).list().getItems().stream())
        .map(ChartScenarios::describe)
        .forEach(left::add);
    Stream.of(client.rbac().clusterRoles(), client.rbac().clusterRoleBindings(),
            client.admissionRegistration().v1().mutatingWebhookConfigurations(),
            client.admissionRegistration().v1().validatingAdmissionPolicies(),
            client.admissionRegistration().v1().validatingAdmissionPolicyBindings())
        .flatMap(op -> op.list().getItems().stream())
        .filter(o -> o.getMetadata().getName().startsWith(c.releaseName()))
        .forEach(o -> left.add(describe(o)));
    // No typed client for admissionregistration.k8s.io/v1's mutating policies (new in Kubernetes 1.36).
    Stream.of("MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding")
        .flatMap(kind -> client.genericKubernetesResources("admissionregistration.k8s.io/v1", kind).list().getItems()
            .stream())
        .filter(o -> o.getMetadata().getName().startsWith(c.releaseName()))
        .forEach(o -> left.add(describe(o)));
    // Kubernetes puts the first two in every namespace, and helm leaves a --create-namespace
    // namespace in place; the leader-election Lease stays, as every controller's does (the running
    // operator renews it until helm deletes it, so no hook can take it first): it goes with the namespace.
    assertThat(left).as("left by the release").containsExactlyInAnyOrder(
        "ConfigMap/kube-root-ca.crt", "ServiceAccount/default", "Lease/portforward-operator");
  }

  static void deleteBackends(ClusterUnderTest c, List<NodeBackends> all) {
    for (NodeBackends b : all) {
      c.client().namespaces().withName(b.namespace()).delete();
    }
  }

  private static EchoSession connectEchoing(ClusterUnderTest c, NodeBackends b) throws Exception {
    return await("an echo through " + b.namespace() + "/echo").atMost(LONG).pollInterval(POLL).until(() -> {
      EchoSession s = c.connect(c.nodeAddress(b.node()), b.echoPort());
      if (s.echoes("hello " + UUID.randomUUID())) {
        return s;
      }
      s.close();
      return null;
    }, s -> s != null);
  }

  private static void awaitReady(ClusterUnderTest c, NodeBackends b, String name) {
    await(b.namespace() + "/" + name + " Ready").atMost(LONG).pollInterval(POLL)
        .until(() -> forward(c.client(), b, name), f -> f != null && f.getStatus() != null
            && f.getMetadata().getGeneration().equals(f.getStatus().getObservedGeneration())
            && PortForwards.condition(f, Conditions.READY).filter(cond -> "True".equals(cond.getStatus())).isPresent());
  }

  private static PortForward forward(KubernetesClient client, NodeBackends b, String name) {
    return client.resources(PortForward.class).inNamespace(b.namespace()).withName(name).get();
  }

  private static String webUrl(ClusterUnderTest c, NodeBackends b) {
    return "http://" + c.nodeAddress(b.node()) + ":" + b.webPort() + "/";
  }

  private static Set<String> releasePods(ClusterUnderTest c) {
    return c.client().pods().inNamespace(c.releaseNamespace()).list().getItems().stream()
        .map(p -> p.getMetadata().getUid()).collect(Collectors.toSet());
  }

  /** The release's pods with their node, readiness and age, for a failure to show what was left to do. */
  private static String podSummary(ClusterUnderTest c) {
    return c.client().pods().inNamespace(c.releaseNamespace()).list().getItems().stream()
        .map(p -> p.getMetadata().getName() + "@" + p.getSpec().getNodeName() + " ready=" + podReady(p)
            + " created=" + p.getMetadata().getCreationTimestamp()
            + (p.getMetadata().getDeletionTimestamp() == null ? "" : " deleting"))
        .collect(Collectors.joining(", "));
  }

  private static DaemonSet agents(ClusterUnderTest c) {
    return c.client().apps().daemonSets().inNamespace(c.releaseNamespace()).withName(c.releaseName() + "-agent").get();
  }

  private static int operatorReplicas(ClusterUnderTest c) {
    Deployment d = c.client().apps().deployments().inNamespace(c.releaseNamespace()).withName(c.releaseName()).get();
    return d == null || d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
  }

  static int readyReplicas(Deployment d) {
    return d == null || d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0
        : d.getStatus().getReadyReplicas();
  }

  static int numberReady(DaemonSet d) {
    return d == null || d.getStatus() == null || d.getStatus().getNumberReady() == null ? 0
        : d.getStatus().getNumberReady();
  }

  static boolean ready(Node node) {
    return node != null && node.getStatus() != null && node.getStatus().getConditions() != null
        && node.getStatus().getConditions().stream()
            .anyMatch(cond -> "Ready".equals(cond.getType()) && "True".equals(cond.getStatus()));
  }

  private static boolean podReady(Pod p) {
    return p.getMetadata().getDeletionTimestamp() == null && p.getStatus() != null
        && p.getStatus().getConditions() != null && p.getStatus().getConditions().stream()
            .anyMatch(cond -> "Ready".equals(cond.getType()) && "True".equals(cond.getStatus()));
  }

  private static String describe(HasMetadata o) {
    return o.getKind() + "/" + o.getMetadata().getName();
  }

  /** nginx "web" and a socat echo "echo", each one pod on {@code node} behind a Service of its name. */
  private static String backends(String namespace, String image, String node) {
    return """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: %1$s}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              nodeSelector: {%3$s: %4$s}
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: %2$s
                imagePullPolicy: Never
                ports: [{containerPort: 80, name: http}]
                readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 2}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: %1$s}
        spec:
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: http}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: echo, namespace: %1$s}
        spec:
          selector: {matchLabels: {app: echo}}
          template:
            metadata: {labels: {app: echo}}
            spec:
              nodeSelector: {%3$s: %4$s}
              terminationGracePeriodSeconds: 1
              containers:
              - name: echo
                image: %2$s
                imagePullPolicy: Never
                command: [socat, "TCP-LISTEN:7000,fork,reuseaddr", "EXEC:cat"]
                ports: [{containerPort: 7000, name: echo}]
                readinessProbe: {tcpSocket: {port: 7000}, periodSeconds: 2}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: %1$s}
        spec:
          selector: {app: echo}
          ports: [{name: echo, port: 7000, targetPort: echo}]
        """.formatted(namespace, image, HOSTNAME, node);
  }
}
