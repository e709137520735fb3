package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.WAIT;
import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.common.RelayNames;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * relay.mode Deployment end to end: the operator creates the relay ConfigMap, Deployment and
 * Service; the Deployment controller makes a Pod, which this test plays the kubelet for: it runs
 * the relay with the container's arguments and the ConfigMap's content in the pod's network
 * namespace and reports the pod Ready. A node agent DNATs the listen port to the relay, which
 * dials an external backend. The backend is at 203.0.113.10 (allowed by the test policy), an
 * address only the namespaces of this test have.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class RelayDeploymentIT {

  private static final String BACKEND_IP = "203.0.113.10";
  private static final int BACKEND_PORT = 7000;

  @Test
  void aRelayDeploymentCarriesTrafficReloadsWithoutDroppingItAndGoesWithItsPortForward(
      KubernetesClient client, TestNamespace ns, ControlPlane cp) throws Exception {
    try (NodeTopology hosts = topology()) {
      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      Node node = node(client, ns, label);
      RoleProcess agent = agent(cp, hosts, node);
      try {
        int port = uniquePort();
        PortForward pf = client.resource(relayed(ns, "web", port, BACKEND_IP, spec -> {
          spec.getListen().setNodeSelector(label);
          spec.getRelay().setMaxConnections(100);
        })).create();

        // The three objects, owned by the PortForward; the pods run restricted.
        await().atMost(WAIT).until(() -> client.configMaps().inNamespace(ns.name()).withName("web-relay").get() != null
            && client.apps().deployments().inNamespace(ns.name()).withName("web-relay").get() != null
            && client.services().inNamespace(ns.name()).withName("web-relay").get() != null);
        ConfigMap config = client.configMaps().inNamespace(ns.name()).withName("web-relay").get();
        Deployment deployment = client.apps().deployments().inNamespace(ns.name()).withName("web-relay").get();
        Service service = client.services().inNamespace(ns.name()).withName("web-relay").get();
        for (HasMetadata owned : List.of(config, deployment, service)) {
          assertThat(owned.getMetadata().getOwnerReferences()).extracting(
                  OwnerReference::getKind, OwnerReference::getName, OwnerReference::getUid, OwnerReference::getController)
              .containsExactly(org.assertj.core.groups.Tuple.tuple("PortForward", "web", pf.getMetadata().getUid(), true));
        }
        assertThat(config.getData().get(RelayNames.CONFIG_KEY))
            .contains("host: " + BACKEND_IP, "port: " + RelayNames.RELAY_PORT, "maxConnections: 100");
        assertThat(service.getSpec().getPorts()).extracting(p -> p.getPort()).containsExactly(RelayNames.RELAY_PORT);
        assertRestricted(deployment.getSpec().getTemplate().getSpec());

        // No relay pod is ready yet: not programmed, and the status says why.
        PortForward waiting = awaitCondition(client, ns.name(), "web", Conditions.PROGRAMMED, "False", Reason.RELAY_NOT_READY);
        assertThat(condition(waiting, Conditions.PROGRAMMED).orElseThrow().getMessage())
            .startsWith("relay Deployment web-relay: 0/1 replicas ready");

        Path configDir = runRelayPod(client, ns, cp, hosts, "web-relay");

        PortForward ready = awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Reason.READY);
        assertThat(condition(ready, Conditions.PROGRAMMED).orElseThrow().getMessage())
            .isEqualTo("programmed on 1 node(s), relay Deployment web-relay: 1/1 replicas ready");
        assertThat(ready.getStatus().getEndpointsSummary()).isEqualTo(NodeTopology.NODE_IP + ":" + port);

        // client -> node DNAT -> relay -> external backend, and back.
        Process session = hosts.net.spawn(hosts.client, "socat", "-",
            "TCP:" + NodeTopology.NODE_IP + ":" + port + ",retry=50,interval=0.2");
        Writer toBackend = session.outputWriter();
        BufferedReader fromBackend = session.inputReader();
        toBackend.write("before\n");
        toBackend.flush();
        assertThat(fromBackend.readLine()).isEqualTo("before");

        // A new limit and idle timeout: the ConfigMap changes, the pod template does not.
        long generation = deployment.getMetadata().getGeneration();
        client.resources(PortForward.class).inNamespace(ns.name()).withName("web").edit(p -> {
          p.getSpec().getRelay().setMaxConnections(5);
          p.getSpec().getRelay().setIdleTimeout("10m");
          return p;
        });
        String updated = await().atMost(WAIT).until(
            () -> client.configMaps().inNamespace(ns.name()).withName("web-relay").get().getData().get(RelayNames.CONFIG_KEY),
            text -> text.contains("maxConnections: 5"));
        assertThat(updated).contains("idleTimeout: 10m");
        assertThat(client.apps().deployments().inNamespace(ns.name()).withName("web-relay").get().getMetadata()
            .getGeneration()).as("the pod template is untouched, so no pod is replaced").isEqualTo(generation);

        // The kubelet swaps the mounted file; the relay reloads it and the connection lives on.
        writeAtomically(configDir, updated);
        await().atMost(WAIT).until(() -> relayMetrics(hosts),
            m -> m.contains("portforward_relay_config_reloads_total{result=\"applied\"} 1.0"));
        toBackend.write("after a reload\n");
        toBackend.flush();
        assertThat(fromBackend.readLine()).isEqualTo("after a reload");

        // The PortForward goes, and the garbage collector takes its relay objects along.
        client.resource(ready).delete();
        await().atMost(WAIT).until(() -> client.configMaps().inNamespace(ns.name()).withName("web-relay").get() == null
            && client.apps().deployments().inNamespace(ns.name()).withName("web-relay").get() == null
            && client.services().inNamespace(ns.name()).withName("web-relay").get() == null);
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  @Test
  void aSocks5RelayReachesAllowedDestinationsAndNeverTheOperatorsDenylist(
      KubernetesClient client, TestNamespace ns, ControlPlane cp) throws Exception {
    try (NodeTopology hosts = topology()) {
      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      Node node = node(client, ns, label);
      RoleProcess agent = agent(cp, hosts, node);
      try {
        int port = uniquePort();
        // 198.51.100.0/24 is allowed here but in the operator's denylist, which the relay is told.
        PortForward pf = PortForwards.of(ns.name(), "socks", """
            listen: {port: %d}, sourceRanges: [%s/32],
            relay: {mode: Socks5, socks5: {allowedDestinations: [203.0.113.0/24, 198.51.100.0/24]}}
            """.formatted(port, NodeTopology.CLIENT_IP));
        pf.getSpec().getListen().setNodeSelector(label);
        client.resource(pf).create();
        await().atMost(WAIT).until(() -> client.apps().deployments().inNamespace(ns.name()).withName("socks-relay").get() != null);
        runRelayPod(client, ns, cp, hosts, "socks-relay");
        awaitCondition(client, ns.name(), "socks", Conditions.READY, "True", Reason.READY);

        // greeting (no auth), CONNECT to an IPv4 address, then data: 05 00, 05 00 00 01 ..., "hello\n".
        assertThat(socks(hosts, port, "\\xcb\\x00\\x71\\x0a")).startsWith("0500050000").endsWith("68656c6c6f0a");
        // 198.51.100.7: refused with reply 02 (not allowed by ruleset).
        assertThat(socks(hosts, port, "\\xc6\\x33\\x64\\x07")).startsWith("05000502");
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  /**
   * A target given by name is resolved once by the operator (through the test operators' hosts
   * file), checked, and dialled at that address: the relay's config carries the address, and the
   * relay, whose pod cannot resolve the name, reaches the backend. A name that resolves into the
   * denylist is refused naming the address.
   */
  @Test
  void anExternalNameIsDialledAtTheAddressTheOperatorChecked(KubernetesClient client, TestNamespace ns,
      ControlPlane cp) throws Exception {
    client.resource(relayed(ns, "denied", uniquePort(), SharedOperator.DENIED_NAME, spec -> { })).create();
    PortForward denied = awaitCondition(client, ns.name(), "denied", Conditions.ACCEPTED, "False",
        Reason.TARGET_DENIED);
    assertThat(condition(denied, Conditions.ACCEPTED).orElseThrow().getMessage()).contains("198.51.100.7");

    try (NodeTopology hosts = topology()) {
      Map<String, String> label = Map.of("portforward.dev/test", ns.name());
      Node node = node(client, ns, label);
      RoleProcess agent = agent(cp, hosts, node);
      try {
        int port = uniquePort();
        client.resource(relayed(ns, "named", port, SharedOperator.BACKEND_NAME,
            spec -> spec.getListen().setNodeSelector(label))).create();
        String config = await().atMost(WAIT).until(() -> client.configMaps().inNamespace(ns.name())
            .withName("named-relay").get(), Objects::nonNull).getData().get(RelayNames.CONFIG_KEY);
        assertThat(config).contains("host: " + BACKEND_IP).doesNotContain(SharedOperator.BACKEND_NAME);

        runRelayPod(client, ns, cp, hosts, "named-relay");
        awaitCondition(client, ns.name(), "named", Conditions.READY, "True", Reason.READY);
        Process session = hosts.net.spawn(hosts.client, "socat", "-",
            "TCP:" + NodeTopology.NODE_IP + ":" + port + ",retry=50,interval=0.2");
        session.outputWriter().write("by name\n");
        session.outputWriter().flush();
        assertThat(session.inputReader().readLine()).isEqualTo("by name");
      } finally {
        agent.close();
        client.resource(node).delete();
      }
    }
  }

  @Test
  void anExternalTargetInTheDenylistGetsNoRelay(KubernetesClient client, TestNamespace ns) {
    client.resource(relayed(ns, "denied", uniquePort(), "198.51.100.7", spec -> { })).create();

    PortForward pf = awaitCondition(client, ns.name(), "denied", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED);

    assertThat(condition(pf, Conditions.ACCEPTED).orElseThrow().getMessage()).contains("198.51.100.7");
    assertThat(client.apps().deployments().inNamespace(ns.name()).list().getItems()).isEmpty();
    assertThat(client.configMaps().inNamespace(ns.name()).withName("denied-relay").get()).isNull();
    assertThat(client.services().inNamespace(ns.name()).list().getItems()).isEmpty();
  }

  @Test
  void aHandEditedRelayObjectIsPutBack(KubernetesClient client, TestNamespace ns) {
    client.resource(relayed(ns, "kept", uniquePort(), BACKEND_IP, spec -> { })).create();
    ConfigMap config = await().atMost(WAIT).until(
        () -> client.configMaps().inNamespace(ns.name()).withName("kept-relay").get(), Objects::nonNull);
    String operatorsConfig = config.getData().get(RelayNames.CONFIG_KEY);
    await().atMost(WAIT).until(() -> client.apps().deployments().inNamespace(ns.name()).withName("kept-relay").get(),
        Objects::nonNull);

    client.configMaps().inNamespace(ns.name()).withName("kept-relay")
        .edit(cm -> { cm.getData().put(RelayNames.CONFIG_KEY, "forwards: []\n"); return cm; });
    client.apps().deployments().inNamespace(ns.name()).withName("kept-relay").scale(3);

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(client.configMaps().inNamespace(ns.name()).withName("kept-relay").get().getData())
          .containsEntry(RelayNames.CONFIG_KEY, operatorsConfig);
      assertThat(client.apps().deployments().inNamespace(ns.name()).withName("kept-relay").get().getSpec().getReplicas())
          .isEqualTo(1);
    });

    // Deleted by hand, each comes back (a new object: a new uid).
    List<HasMetadata> before = relayObjects(client, ns, "kept-relay");
    before.forEach(object -> client.resource(object).withGracePeriod(0).delete());
    await().atMost(WAIT).untilAsserted(() -> assertThat(relayObjects(client, ns, "kept-relay"))
        .allSatisfy(object -> assertThat(object).isNotNull())
        .extracting(object -> object.getMetadata().getUid())
        .doesNotContainAnyElementsOf(before.stream().map(object -> object.getMetadata().getUid()).toList()));
    assertThat(client.configMaps().inNamespace(ns.name()).withName("kept-relay").get().getData())
        .containsEntry(RelayNames.CONFIG_KEY, operatorsConfig);
  }

  /** A target that stops resolving refuses nothing it has: the relay objects stay as they are. */
  @Test
  void aTargetThatStopsResolvingKeepsItsRelayObjects(KubernetesClient client, TestNamespace ns) {
    client.resource(PortForwardOperatorIT.service(ns.name(), "backend", 80)).create();
    client.resource(PortForwards.of(ns.name(), "steady", "listen: {port: %d}, target: {service: {name: backend, port: 80}},"
        .formatted(uniquePort()) + " relay: {mode: Deployment}")).create();
    List<HasMetadata> before = await().atMost(WAIT).until(() -> relayObjects(client, ns, "steady-relay"),
        objects -> objects.stream().allMatch(Objects::nonNull));

    client.services().inNamespace(ns.name()).withName("backend").delete();
    awaitCondition(client, ns.name(), "steady", Conditions.RESOLVED_REFS, "False", Reason.SERVICE_NOT_FOUND);

    await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(10)).until(
        () -> relayObjects(client, ns, "steady-relay"),
        objects -> objects.stream().allMatch(Objects::nonNull) && objects.stream().map(o -> o.getMetadata().getUid())
            .toList().equals(before.stream().map(o -> o.getMetadata().getUid()).toList()));
  }

  /** The relay ConfigMap, Deployment and Service named {@code name} (null where missing). */
  private static List<HasMetadata> relayObjects(KubernetesClient client, TestNamespace ns, String name) {
    return Arrays.asList(client.configMaps().inNamespace(ns.name()).withName(name).get(),
        client.apps().deployments().inNamespace(ns.name()).withName(name).get(),
        client.services().inNamespace(ns.name()).withName(name).get());
  }

  @Test
  void aTenantsObjectUnderARelayNameIsNeverTakenOver(KubernetesClient client, TestNamespace ns) {
    client.resource(new DeploymentBuilder().withNewMetadata().withNamespace(ns.name())
        .withName("web-relay").addToLabels("app", "web").endMetadata()
        .withNewSpec().withReplicas(2).withNewSelector().addToMatchLabels("app", "web").endSelector()
        .withNewTemplate().withNewMetadata().addToLabels("app", "web").endMetadata()
        .withNewSpec().addNewContainer().withName("web").withImage("web:1").endContainer().endSpec()
        .endTemplate().endSpec().build()).create();
    client.resource(new ConfigMapBuilder().withNewMetadata().withNamespace(ns.name()).withName("shop-relay")
        .endMetadata().addToData("shop.conf", "mine").build()).create();

    client.resource(relayed(ns, "web", uniquePort(), BACKEND_IP, spec -> { })).create();
    client.resource(relayed(ns, "shop", uniquePort(), BACKEND_IP, spec -> { })).create();

    PortForward web = awaitCondition(client, ns.name(), "web", Conditions.ACCEPTED, "False",
        Reason.RELAY_OBJECT_CONFLICT);
    assertThat(condition(web, Conditions.ACCEPTED).orElseThrow().getMessage()).startsWith("Deployment " + ns.name()
        + "/web-relay exists and is not managed by this PortForward; rename or delete it");
    PortForward shop = awaitCondition(client, ns.name(), "shop", Conditions.ACCEPTED, "False",
        Reason.RELAY_OBJECT_CONFLICT);
    assertThat(condition(shop, Conditions.ACCEPTED).orElseThrow().getMessage())
        .startsWith("ConfigMap " + ns.name() + "/shop-relay exists and is not managed by this PortForward");
    assertUntouched(client.apps().deployments().inNamespace(ns.name()).withName("web-relay").get());
    assertThat(client.configMaps().inNamespace(ns.name()).withName("web-relay").get())
        .as("a refused forward gets no relay object").isNull();

    // Once the tenant's object is gone, the forward gets its relay (the operator looks again by itself).
    client.configMaps().inNamespace(ns.name()).withName("shop-relay").delete();
    awaitCondition(client, ns.name(), "shop", Conditions.ACCEPTED, "True", Reason.ACCEPTED);
    await().atMost(WAIT).untilAsserted(() -> assertThat(client.configMaps().inNamespace(ns.name())
        .withName("shop-relay").get().getMetadata().getOwnerReferences())
        .extracting(OwnerReference::getUid).containsExactly(shop.getMetadata().getUid()));

    // Deleting the forward leaves the tenant's Deployment as it was: nothing made it an owner.
    client.resources(PortForward.class).inNamespace(ns.name()).withName("web").delete();
    await().atMost(WAIT).until(() -> client.resources(PortForward.class).inNamespace(ns.name()).withName("web")
        .get() == null);
    assertUntouched(client.apps().deployments().inNamespace(ns.name()).withName("web-relay").get());
  }

  /** As the tenant made it (the Deployment controller writes only its status): never applied over. */
  private static void assertUntouched(Deployment deployment) {
    assertThat(deployment.getMetadata().getLabels()).isEqualTo(Map.of("app", "web"));
    assertThat(deployment.getMetadata().getOwnerReferences()).isEmpty();
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("web:1");
    assertThat(deployment.getMetadata().getManagedFields()).extracting(ManagedFieldsEntry::getOperation)
        .doesNotContain("Apply");
  }

  /** NodeTopology, with pod2 also playing the external host at 203.0.113.10 (an echo server). */
  private static NodeTopology topology() throws IOException {
    NodeTopology hosts = NodeTopology.create();
    hosts.net.exec(hosts.pod2, "ip", "addr", "add", BACKEND_IP + "/32", "dev", "lo");
    hosts.net.exec(hosts.node, "ip", "route", "add", BACKEND_IP + "/32", "via", NodeTopology.POD2_IP);
    hosts.net.spawn(hosts.pod2, "socat", "TCP-LISTEN:" + BACKEND_PORT + ",bind=" + BACKEND_IP + ",fork,reuseaddr",
        "EXEC:cat");
    return hosts;
  }

  private static Node node(KubernetesClient client, TestNamespace ns, Map<String, String> labels) {
    Node node = client.resource(new NodeBuilder().withNewMetadata().withName(ns.name() + "-node").withLabels(labels)
        .endMetadata().build()).create();
    node.setStatus(new NodeStatusBuilder().addNewAddress().withType("InternalIP").withAddress(NodeTopology.NODE_IP)
        .endAddress().build());
    return client.resource(node).updateStatus();
  }

  private static RoleProcess agent(ControlPlane cp, NodeTopology hosts, Node node) throws IOException {
    return RoleProcess.agent(cp, Map.of(
        "portforward.agent.node-name", node.getMetadata().getName(),
        "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node)))).start();
  }

  /**
   * Plays the kubelet and the EndpointSlice controller for the Pod the Deployment controller made
   * from the relay Deployment: runs the relay in pod1's namespace with the ConfigMap's content in a
   * directory (returned), reports the Pod Ready at pod1's address and lists it in a slice.
   */
  private static Path runRelayPod(KubernetesClient client, TestNamespace ns, ControlPlane cp, NodeTopology hosts,
      String relay) throws IOException {
    Pod pod = await().atMost(WAIT).until(() -> client.pods().inNamespace(ns.name())
        .withLabel(RelayNames.RELAY_LABEL, relay).list().getItems(), pods -> pods.size() == 1).get(0);
    Deployment deployment = client.apps().deployments().inNamespace(ns.name()).withName(relay).get();
    Path configDir = Files.createTempDirectory(cp.directory(), "relay-config-");
    writeAtomically(configDir, client.configMaps().inNamespace(ns.name()).withName(relay).get().getData()
        .get(RelayNames.CONFIG_KEY));
    startRelay(hosts, deployment.getSpec().getTemplate().getSpec().getContainers().get(0), configDir);
    pod.setStatus(new PodStatusBuilder().withPhase("Running").withPodIP(NodeTopology.POD1_IP)
        .addNewPodIP().withIp(NodeTopology.POD1_IP).endPodIP()
        .addNewCondition().withType("Ready").withStatus("True").endCondition().build());
    client.resource(pod).updateStatus();
    client.resource(new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName(relay + "-1")
        .addToLabels("kubernetes.io/service-name", relay).endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("relay").withPort(RelayNames.RELAY_PORT).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses(NodeTopology.POD1_IP).withNewConditions().withReady(true).endConditions()
        .endEndpoint()
        .build()).create();
    return configDir;
  }

  /**
   * One SOCKS5 exchange from the client through the node's port: greeting, CONNECT to the IPv4
   * address {@code address} (printf escapes) port 7000, "hello"; returns what came back, in hex.
   */
  private static String socks(NodeTopology hosts, int port, String address) {
    return hosts.net.exec(hosts.client, "bash", "-c",
        "printf '\\x05\\x01\\x00\\x05\\x01\\x00\\x01" + address + "\\x1b\\x58hello\\n' | socat -T3 - TCP:"
            + NodeTopology.NODE_IP + ":" + port + ",retry=50,interval=0.2 | od -An -tx1 | tr -d ' \\n'");
  }

  private static PortForward relayed(TestNamespace ns, String name, int port, String host,
      Consumer<PortForwardSpec> customize) {
    PortForward pf = PortForwards.of(ns.name(), name, "listen: {port: %d}, target: {external: {host: %s, port: %d}},"
        .formatted(port, host, BACKEND_PORT) + " relay: {mode: Deployment}");
    customize.accept(pf.getSpec());
    return pf;
  }

  private static void assertRestricted(PodSpec pod) {
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    Container relay = pod.getContainers().get(0);
    SecurityContext sc = relay.getSecurityContext();
    assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
    assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
    assertThat(sc.getRunAsNonRoot()).isTrue();
    assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(sc.getCapabilities().getAdd()).isNullOrEmpty();
    assertThat(sc.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    assertThat(relay.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
    assertThat(relay.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
  }

  /**
   * The relay container as the kubelet would run it: its arguments and environment, with the
   * mounted ConfigMap directory at {@code configDir}, in pod1's network namespace.
   */
  private static void startRelay(NodeTopology hosts, Container container, Path configDir) throws IOException {
    String mount = container.getVolumeMounts().stream().filter(m -> "config".equals(m.getName())).findFirst()
        .orElseThrow().getMountPath();
    List<String> command = new ArrayList<>(List.of("bash", "-c", "exec \"$@\" >" + configDir.resolveSibling(
        configDir.getFileName() + ".log") + " 2>&1", "relay", "env"));
    // As the kubelet fills in the downward API: this pod's address is the one the test gives it.
    container.getEnv().forEach(e -> command.add(e.getName() + "="
        + (e.getValueFrom() != null && "status.podIP".equals(e.getValueFrom().getFieldRef().getFieldPath())
            ? NodeTopology.POD1_IP : e.getValue())));
    command.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx128m", "-jar",
        ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar").toString()));
    container.getArgs().forEach(a -> command.add(a.replace(mount, configDir.toString())));
    hosts.net.spawn(hosts.pod1, command.toArray(String[]::new));
    await("relay ready").atMost(WAIT).ignoreExceptions().until(() -> hosts.net.exec(hosts.pod1, "curl", "-sf",
        "http://127.0.0.1:" + RelayNames.MANAGEMENT_PORT + "/q/health/ready").contains("UP"));
  }

  private static String relayMetrics(NodeTopology hosts) {
    return hosts.net.exec(hosts.pod1, "curl", "-sf", "http://127.0.0.1:" + RelayNames.MANAGEMENT_PORT + "/q/metrics");
  }

  /** As the kubelet updates a mounted ConfigMap: the new file replaces the old one at once. */
  private static void writeAtomically(Path dir, String content) throws IOException {
    Path next = dir.resolveSibling(dir.getFileName() + ".next");
    Files.writeString(next, content);
    Files.move(next, dir.resolve(RelayNames.CONFIG_KEY), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
