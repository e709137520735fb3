package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.Sidecars;
import dev.portforward.testbed.HelmRelease;
import dev.portforward.testbed.NodeCluster;
import dev.portforward.testbed.NodeNetwork;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealNode;
import dev.portforward.testbed.RealNodes;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every way a PortForward carries traffic, on real pods of two real nodes, with real traffic from
 * a client namespace outside the nodes, through one helm release of the chart: kernel DNAT to
 * backends on both nodes (the client's address kept for the backend on the node the client
 * dialled, the node's address for the one on the other node, whose reply must come back through
 * the DNAT), a rollout of the backend Deployment, a relay Deployment with sourceRanges (its pod
 * on one node), a sidecar injected by the chart's webhook next to an app bound to 127.0.0.1, a
 * SOCKS5 relay and a UDP forward.
 */
@ExtendWith(RealNodes.class)
class RelayModesOnRealNodesIT {

  private static final Duration SLOW = Duration.ofMinutes(4);
  private static final int CONNECTION_REFUSED = 7; // curl's exit code
  private static final String SOCKS_USER = "alice";
  private static final String SOCKS_PASSWORD = "wonderland-" + UUID.randomUUID().toString().substring(0, 8);

  private static HelmRelease release;
  private static NodeNetwork.Client outside;
  private static String testapp;

  @BeforeAll
  static void installChart(NodeCluster cluster, KubernetesClient client) throws Exception {
    assumeTrue(cluster.nodes().size() >= 2, "needs two nodes (-Dtestbed.nodes=2)");
    testapp = cluster.runtime().testapp().name();
    RealNode.Image image = HelmRelease.projectImage();
    for (RealNode node : cluster.nodes()) {
      node.importImage(image);
    }
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    release = new HelmRelease(cluster.controlPlane(), "pf-" + suffix, "pf-system-" + suffix);
    // failurePolicy Fail: a pod the webhook could not answer for (its first calls can take more
    // than the default 5 s on a loaded machine) is retried by its ReplicaSet, never created bare.
    release.install("crds.enabled=false", "policy.socks5=true", "sidecarInjection.failurePolicy=Fail",
        "sidecarInjection.timeoutSeconds=30");
    outside = cluster.network().client(cluster.nodes().size());
    await("an agent ready on each of the " + cluster.nodes().size() + " nodes").atMost(SLOW)
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> numberReady(client.apps().daemonSets().inNamespace(release.namespace())
            .withName(release.name() + "-agent").get()) == cluster.nodes().size());
  }

  @AfterAll
  static void uninstallChart() throws Exception {
    if (release != null) {
      release.uninstall();
    }
  }

  @Test
  void dnatReachesBackendsOnBothNodesAndFollowsARollout(NodeCluster cluster, KubernetesClient client,
      TestNamespace ns) {
    apply(client, app(ns.name(), "web", 2, "", true) + service(ns.name(), "web", "TCP", 80, 80));
    Map<String, String> nodeOfPod = awaitPods(client, ns.name(), "web", 2, Set.of());
    assertThat(new HashSet<>(nodeOfPod.values())).as("one backend on each node").hasSize(2);
    int port = PortForwards.uniquePort();
    client.resource(PortForwards.of(ns.name(), "web", "listen: {port: %d}, target: {service: {name: web, port: 80}},"
        .formatted(port) + " sourceRanges: [\"%s/32\"]".formatted(outside.address()))).serverSideApply();

    for (RealNode node : cluster.nodes().subList(0, 2)) {
      Map<String, String> answers = answersFromEveryPod(node, port, nodeOfPod.keySet());
      answers.forEach((pod, answer) -> {
        boolean here = nodeOfPod.get(pod).equals(node.name());
        assertThat(answer)
            .as("%s, on %s, dialled through %s: %s", pod, nodeOfPod.get(pod), node.name(),
                here ? "the backend on the dialled node sees the client's own address"
                    : "the backend on the other node sees the dialled node's address (masqueraded)")
            .contains("client=" + (here ? outside.address() : node.address()) + ":");
      });
    }

    // A rollout: new pods (a changed template), the old ones gone, new connections reach the new ones.
    client.apps().deployments().inNamespace(ns.name()).withName("web")
        .edit(d -> {
          d.getSpec().getTemplate().getMetadata().setAnnotations(Map.of("rollout", "2"));
          return d;
        });
    Map<String, String> rolledOut = awaitPods(client, ns.name(), "web", 2, nodeOfPod.keySet());
    await("the old pods are gone").atMost(SLOW).pollInterval(Duration.ofSeconds(1))
        .until(() -> client.pods().inNamespace(ns.name()).withLabel("app", "web").list().getItems().stream()
            .map(p -> p.getMetadata().getName()).noneMatch(nodeOfPod::containsKey));
    RealNode first = cluster.nodes().get(0);
    answersFromEveryPod(first, port, rolledOut.keySet());
    for (int i = 0; i < 6; i++) {
      assertThat(curl(url(first, port))).as("a new connection after the rollout")
          .matches(answer -> rolledOut.keySet().stream().anyMatch(pod -> answer.contains("hostname=" + pod + " ")));
    }
  }

  @Test
  void aRelayDeploymentWithSourceRangesCarriesConnectionsFromEveryNode(NodeCluster cluster, KubernetesClient client,
      TestNamespace ns) {
    apply(client, app(ns.name(), "web", 1, "", false) + service(ns.name(), "web", "TCP", 80, 80));
    String backend = awaitPods(client, ns.name(), "web", 1, Set.of()).keySet().iterator().next();
    int port = PortForwards.uniquePort();
    // sourceRanges: the relay pod on the other node sees the dialled node's address, which it
    // admits (the node's kernel checked the client), besides the client's own.
    client.resource(PortForwards.of(ns.name(), "relayed", """
        listen: {port: %d}, target: {service: {name: web, port: 80}}, relay: {mode: Deployment},
        sourceRanges: ["%s/32"]
        """.formatted(port, outside.address()))).serverSideApply();

    for (RealNode node : cluster.nodes().subList(0, 2)) {
      await("the backend answers through the relay, dialled at " + node.name()).atMost(SLOW)
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> curl(url(node, port)), answer -> answer.contains("hostname=" + backend + " "));
    }
  }

  @Test
  void anInjectedSidecarReachesAnAppBoundToLoopbackOnly(NodeCluster cluster, KubernetesClient client,
      TestNamespace ns) throws Exception {
    client.namespaces().withName(ns.name()).edit(n -> {
      n.getMetadata().setLabels(Map.of("portforward.dev/sidecar-injection", "enabled"));
      return n;
    });
    int port = PortForwards.uniquePort();
    apply(client, service(ns.name(), "local", "TCP", 8080, 8080));
    // A second Sidecar forward on the same pods, pod port 8081, deleted below.
    apply(client, """
        apiVersion: v1
        kind: Service
        metadata: {name: local-extra, namespace: %s}
        spec:
          selector: {app: local}
          ports: [{name: p, protocol: TCP, port: 8081, targetPort: 8081}]
        """.formatted(ns.name()));
    client.resource(PortForwards.of(ns.name(), "local", """
        listen: {port: %d}, target: {service: {name: local, port: 8080}}, relay: {mode: Sidecar}
        """.formatted(port))).serverSideApply();
    client.resource(PortForwards.of(ns.name(), "extra", """
        listen: {port: %d}, target: {service: {name: local-extra, port: 8081}}, relay: {mode: Sidecar}
        """.formatted(PortForwards.uniquePort()))).serverSideApply();
    for (String name : List.of("local", "extra")) {
      await("the sidecar forward " + name + " accepted").atMost(SLOW).pollInterval(Duration.ofSeconds(1))
          .until(() -> client.resources(PortForward.class).inNamespace(ns.name()).withName(name).get(),
              pf -> PortForwards.condition(pf, Conditions.ACCEPTED).filter(c -> "True".equals(c.getStatus()))
                  .isPresent());
    }
    // nginx listening on 127.0.0.1:8080 only: nothing but the sidecar reaches it from outside the pod.
    apply(client, app(ns.name(), "local", 1, "127.0.0.1:8080", false));

    Map<String, String> pods = awaitPods(client, ns.name(), "local", 1, Set.of());
    Pod pod = client.pods().inNamespace(ns.name()).withName(pods.keySet().iterator().next()).get();
    assertThat(pod.getSpec().getInitContainers()).as("the webhook injected the relay sidecar")
        .anyMatch(c -> Sidecars.CONTAINER.equals(c.getName()));
    for (RealNode node : cluster.nodes().subList(0, 2)) {
      await("the loopback-bound app answers through its sidecar, dialled at " + node.name()).atMost(SLOW)
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> curl(url(node, port)), answer -> answer.contains("hostname=" + pod.getMetadata().getName() + " ")
              && answer.contains("server=127.0.0.1:8080"));
    }

    // A deleted PortForward's file leaves the sidecar through the kubelet's own update of the
    // projected ConfigMap volume, and the relay closes that forward's listener: pod port 8081
    // goes from accepting (the relay takes the connection, nothing serves 127.0.0.1:8081) to
    // refusing; the other forward keeps answering.
    String podIp = pod.getStatus().getPodIP();
    assertThat(curlExitCode(podIp, 8081)).as("the sidecar listens on pod port 8081").isNotEqualTo(CONNECTION_REFUSED);
    client.resources(PortForward.class).inNamespace(ns.name()).withName("extra").delete();
    await("the sidecar closes the deleted forward's listener").atMost(SLOW).pollInterval(Duration.ofSeconds(2))
        .until(() -> curlExitCode(podIp, 8081) == CONNECTION_REFUSED);
    assertThat(curl(url(cluster.nodes().get(0), port))).contains("server=127.0.0.1:8080");
  }

  /** curl's exit code for http://ip:port/, asked from the host, which routes to every pod. */
  private static int curlExitCode(String ip, int port) throws Exception {
    Process curl = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "--max-time", "5",
        "http://" + ip + ":" + port + "/").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    return curl.waitFor();
  }

  @Test
  void aSocks5RelayCarriesCurlToAPod(NodeCluster cluster, KubernetesClient client, TestNamespace ns) {
    apply(client, app(ns.name(), "web", 1, "", false));
    String backend = awaitPods(client, ns.name(), "web", 1, Set.of()).keySet().iterator().next();
    String backendIp = client.pods().inNamespace(ns.name()).withName(backend).get().getStatus().getPodIP();
    apply(client, """
        apiVersion: v1
        kind: Secret
        metadata: {name: socks-users, namespace: %s}
        stringData: {%s: %s}
        """.formatted(ns.name(), SOCKS_USER, SOCKS_PASSWORD));
    int port = PortForwards.uniquePort();
    client.resource(PortForwards.of(ns.name(), "socks", """
        listen: {port: %d},
        relay: {mode: Socks5, socks5: {allowedDestinations: ["%s"], usersSecretName: socks-users}}
        """.formatted(port, cluster.network().clusterCidr()))).serverSideApply();

    for (RealNode node : cluster.nodes().subList(0, 2)) {
      await("curl through the SOCKS5 relay, dialled at " + node.name()).atMost(SLOW).pollInterval(Duration.ofSeconds(1))
          .until(() -> run("curl", "-sS", "--max-time", "5", "--socks5-hostname", node.address() + ":" + port,
                  "--proxy-user", SOCKS_USER + ":" + SOCKS_PASSWORD, "http://" + backendIp + "/"),
              answer -> answer.contains("hostname=" + backend + " "));
    }
    assertThat(run("curl", "-sS", "--max-time", "5", "--socks5-hostname", cluster.nodes().get(0).address() + ":" + port,
        "--proxy-user", SOCKS_USER + ":wrong", "http://" + backendIp + "/"))
        .as("a wrong password gets nothing").doesNotContain("hostname=");
  }

  @Test
  void aUdpForwardAnswersFromBothNodes(NodeCluster cluster, KubernetesClient client, TestNamespace ns) {
    apply(client, app(ns.name(), "echo", 1, "", false, "socat", "UDP-LISTEN:9053,fork,reuseaddr", "SYSTEM:hostname")
        + service(ns.name(), "echo", "UDP", 53, 9053));
    String backend = awaitPods(client, ns.name(), "echo", 1, Set.of()).keySet().iterator().next();
    int port = PortForwards.uniquePort();
    client.resource(PortForwards.of(ns.name(), "echo", """
        listen: {port: %d}, protocol: UDP, target: {service: {name: echo, port: 53}}
        """.formatted(port))).serverSideApply();

    for (RealNode node : cluster.nodes().subList(0, 2)) {
      await("the UDP backend answers, dialled at " + node.name()).atMost(SLOW).pollInterval(Duration.ofSeconds(1))
          .until(() -> run("sh", "-c", "echo ping | socat -T 3 - UDP:" + node.address() + ":" + port),
              answer -> answer.strip().equals(backend));
    }
  }

  /** Asks through {@code node} until every one of {@code pods} has answered; their answers by pod. */
  private static Map<String, String> answersFromEveryPod(RealNode node, int port, Set<String> pods) {
    Map<String, String> answers = new HashMap<>();
    await("every backend answers through " + node.name()).atMost(SLOW).pollInterval(Duration.ofMillis(200))
        .until(() -> {
          String answer = curl(url(node, port));
          pods.stream().filter(pod -> answer.contains("hostname=" + pod + " ")).findFirst()
              .ifPresent(pod -> answers.put(pod, answer));
          return answers.keySet().containsAll(pods);
        });
    return answers;
  }

  private static String url(RealNode node, int port) {
    return "http://" + node.address() + ":" + port + "/";
  }

  private static String curl(String url) {
    return run("curl", "-sS", "--max-time", "5", url);
  }

  /** Runs {@code command} in the client namespace outside the nodes; its output, or "" when it fails. */
  private static String run(String... command) {
    try {
      List<String> full = new java.util.ArrayList<>(List.of("ip", "netns", "exec", outside.namespace()));
      full.addAll(List.of(command));
      return NodeNetwork.run(full.toArray(String[]::new));
    } catch (IllegalStateException e) {
      return "";
    }
  }

  private static void apply(KubernetesClient client, String yaml) {
    client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).serverSideApply();
  }

  /**
   * A Deployment of the test image, label app={@code name}: nginx answering on {@code listen}
   * ("" for port 80, then with a readiness probe), or {@code command}; {@code spread}: at most
   * one pod per node.
   */
  private static String app(String namespace, String name, int replicas, String listen, boolean spread,
      String... command) {
    List<String> container = new java.util.ArrayList<>(List.of("name: app", "image: " + testapp,
        "imagePullPolicy: Never"));
    if (!listen.isEmpty()) {
      container.add("env: [{name: HTTP_PORT, value: \"" + listen + "\"}]");
    }
    if (command.length > 0) {
      container.add(java.util.Arrays.stream(command).map(c -> "\"" + c + "\"")
          .collect(Collectors.joining(", ", "command: [", "]")));
    } else if (listen.isEmpty()) {
      container.add("readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 2}");
    }
    String affinity = !spread ? "" : "affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution:"
        + " [{labelSelector: {matchLabels: {app: " + name + "}}, topologyKey: kubernetes.io/hostname}]}}, ";
    // One pod per node leaves no room for a surge pod: a rollout replaces one pod at a time.
    String strategy = !spread ? "" : "  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}\n";
    return """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: %1$s, namespace: %2$s}
        spec:
          replicas: %3$d
        %6$s  selector: {matchLabels: {app: %1$s}}
          template:
            metadata: {labels: {app: %1$s}}
            spec: {terminationGracePeriodSeconds: 1, %4$scontainers: [{%5$s}]}
        ---
        """.formatted(name, namespace, replicas, affinity, String.join(", ", container), strategy);
  }

  private static String service(String namespace, String name, String protocol, int port, int targetPort) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %1$s, namespace: %2$s}
        spec:
          selector: {app: %1$s}
          ports: [{name: p, protocol: %3$s, port: %4$d, targetPort: %5$d}]
        ---
        """.formatted(name, namespace, protocol, port, targetPort);
  }

  /** Waits for {@code count} Ready pods of app {@code name}, none of {@code old}; their nodes by pod name. */
  private static Map<String, String> awaitPods(KubernetesClient client, String namespace, String name, int count,
      Set<String> old) {
    Predicate<Pod> fresh = p -> p.getMetadata().getDeletionTimestamp() == null && !old.contains(p.getMetadata().getName())
        && p.getStatus() != null && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream().anyMatch(RelayModesOnRealNodesIT::isReady);
    await(count + " " + name + " pods Ready in " + namespace).atMost(SLOW).pollInterval(Duration.ofMillis(500))
        .until(() -> client.pods().inNamespace(namespace).withLabel("app", name).list().getItems().stream()
            .filter(fresh).count() == count);
    return client.pods().inNamespace(namespace).withLabel("app", name).list().getItems().stream().filter(fresh)
        .collect(Collectors.toMap(p -> p.getMetadata().getName(), p -> p.getSpec().getNodeName()));
  }

  private static boolean isReady(PodCondition c) {
    return "Ready".equals(c.getType()) && "True".equals(c.getStatus());
  }

  private static int numberReady(DaemonSet d) {
    return d == null || d.getStatus() == null || d.getStatus().getNumberReady() == null ? 0
        : d.getStatus().getNumberReady();
  }
}
