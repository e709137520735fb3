package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.WAIT;
import static dev.portforward.testbed.PortForwards.awaitAccepted;
import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.Sidecars;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * relay.mode Sidecar end to end: the real API server calls the operator's webhook over TLS (a
 * certificate the operator issued, trusted through the caBundle it applied) and the pod gets the
 * relay sidecar; then, as no kubelet runs, the test runs that sidecar's relay from the injected
 * container's args, env and mounted config in the pod's network namespace, and traffic goes
 * client -> node DNAT (agent) -> sidecar relay -> an app bound to 127.0.0.1 only. Pods on the
 * node's network get no sidecar, and a second forward on the same pod port is refused.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class SidecarWebhookIT {

  private static final int APP_PORT = 9080;
  private static final Map<String, String> WEB = Map.of("app", "web");

  @Test
  void podsGetTheRelaySidecarAndTrafficReachesAnAppBoundToLoopback(
      KubernetesClient client, TestNamespace ns, ControlPlane cp) throws Exception {
    String other = ns.name() + "-other";
    String configuration = "pf-sidecar-" + ns.name();
    client.namespaces().withName(ns.name()).edit(n -> new NamespaceBuilder(n).editMetadata()
        .addToLabels("portforward.dev/sidecar-injection", "enabled").endMetadata().build());
    client.resource(new NamespaceBuilder().withNewMetadata().withName(other).endMetadata().build()).create();
    int webhookPort = ControlPlane.freePort();
    client.resource(webhookConfiguration(configuration, webhookPort, "Ignore")).create();

    // A second operator replica serves the webhook (every replica does); the shared one leads.
    Map<String, String> settings = new HashMap<>(SharedOperator.TEST_SETTINGS);
    settings.putAll(Map.of(
        "portforward.webhook.enabled", "true",
        "portforward.webhook.host", "127.0.0.1",
        "portforward.webhook.port", String.valueOf(webhookPort),
        "portforward.webhook.namespace", ns.name(),
        "portforward.webhook.configuration-name", configuration,
        // Short-lived, so that the test sees renewals.
        "portforward.webhook.certificate-validity", "90s",
        "portforward.relay.image", "relay:test"));
    RoleProcess webhook = RoleProcess.operator(cp, settings);
    Node node = null;
    try (NodeTopology hosts = NodeTopology.create()) {
      webhook.start();
      await("caBundle applied").atMost(WAIT).until(() -> caBundle(client, configuration) != null);
      assertThat(ignoredByGitOps(client, configuration)).as("what the ignore rules of docs/gitops leave alone")
          .containsExactly(caBundle(client, configuration), caBundle(client, configuration));
      assertThat(secretData(client, ns.name())).containsKeys("ca.crt", "tls.crt", "tls.key");
      awaitServiceAccount(client, ns.name());
      awaitServiceAccount(client, other);

      // A pod from before the forward: nothing to inject yet.
      Pod before = create(client, pod(ns.name(), "before", WEB));
      assertThat(Sidecars.hasContainer(before)).isFalse();

      Map<String, String> nodeLabel = Map.of("portforward.dev/test", ns.name());
      int listenPort = uniquePort();
      client.resource(sidecarForward(ns.name(), "web", listenPort, nodeLabel)).create();
      client.resource(sidecarForward(other, "web", uniquePort(), nodeLabel)).create();
      awaitAccepted(client, ns.name(), "web");
      awaitAccepted(client, other, "web");

      Pod web = create(client, pod(ns.name(), "web-1", WEB));
      Pod db = create(client, pod(ns.name(), "db", Map.of("app", "db")));
      Pod elsewhere = create(client, pod(other, "web-1", WEB));
      assertThat(Sidecars.carries(web, "web")).as("selected pod in a labelled namespace").isTrue();
      assertThat(Sidecars.hasContainer(db)).as("pod no forward selects").isFalse();
      Map<String, String> optedOut = new HashMap<>(WEB);
      optedOut.put("portforward.dev/sidecar-injection", "disabled");
      Map<String, String> chartsOwn = new HashMap<>(WEB);
      chartsOwn.put("app.kubernetes.io/name", "portforward-operator");
      for (Pod skipped : List.of(create(client, pod(ns.name(), "opted-out", optedOut)),
          create(client, pod(ns.name(), "charts-own", chartsOwn)))) {
        assertThat(Sidecars.hasContainer(skipped)).as("selected pod %s: opted out, or the chart's own",
            skipped.getMetadata().getName()).isFalse();
        client.resource(skipped).withGracePeriod(0).delete();
      }
      assertThat(Sidecars.hasContainer(elsewhere)).as("namespace without the injection label").isFalse();

      // A hostNetwork pod never gets the sidecar (its 127.0.0.1 is the node's); the status says why.
      Pod onNode = create(client, new PodBuilder(pod(ns.name(), "on-node", WEB)).editSpec().withHostNetwork(true)
          .endSpec().build());
      assertThat(Sidecars.hasContainer(onNode)).as("hostNetwork pod").isFalse();
      await().atMost(WAIT).untilAsserted(() -> assertThat(condition(
          client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get(), Conditions.PROGRAMMED)
          .orElseThrow().getMessage()).contains("use hostNetwork and never get the relay sidecar", ": on-node;"));
      client.resource(onNode).withGracePeriod(0).delete();

      // A later forward on the same pod port is refused naming the earlier, which alone is injected.
      client.resource(sidecarForward(ns.name(), "web-late", uniquePort(), nodeLabel)).create();
      PortForward late = awaitCondition(client, ns.name(), "web-late", Conditions.ACCEPTED, "False",
          Conditions.Reason.PORT_CONFLICT);
      assertThat(condition(late, Conditions.ACCEPTED).orElseThrow().getMessage())
          .contains("pod port " + APP_PORT + " of pod ", "is already relayed by Sidecar PortForward web (");
      Pod second = create(client, pod(ns.name(), "web-2", WEB));
      assertThat(Sidecars.servedBy(second)).containsExactly("web");
      client.resource(second).withGracePeriod(0).delete();

      // The certificate is renewed when a third of its life is left, and the server switches to
      // it without a restart; the API server keeps trusting the webhook. The renewal's time is
      // read from the certificates: the new one is issued its validity (90 s) before it ends.
      String firstCert = await("serving the Secret's certificate").atMost(WAIT)
          .until(() -> secretData(client, ns.name()).get("tls.crt"),
              pem -> served(webhookPort).equals(certificate(pem)));
      await("certificate renewed").atMost(Duration.ofMinutes(2))
          .until(() -> !firstCert.equals(secretData(client, ns.name()).get("tls.crt")));
      X509Certificate first = certificate(firstCert);
      X509Certificate renewed = certificate(secretData(client, ns.name()).get("tls.crt"));
      Instant firstEnd = first.getNotAfter().toInstant();
      Duration firstLife = Duration.between(first.getNotBefore().toInstant(), firstEnd);
      Instant renewedAt = renewed.getNotAfter().toInstant().minus(Duration.ofSeconds(90));
      assertThat(renewedAt).as("renewed once a third of the first certificate's life is left, not before")
          .isAfterOrEqualTo(firstEnd.minus(firstLife.dividedBy(3)).minusSeconds(1))
          .isBefore(firstEnd);
      await("the server presents the renewed certificate").atMost(WAIT).until(() -> served(webhookPort),
          cert -> !cert.equals(first) && cert.equals(certificate(secretData(client, ns.name()).get("tls.crt"))));
      // The served certificate's expiry is exported for the alert, and follows each renewal.
      long firstUntil = notAfter(firstCert);
      await("the served certificate's expiry in the metrics").atMost(WAIT).until(() -> {
        long current = notAfter(secretData(client, ns.name()).get("tls.crt"));
        return current > firstUntil
            && webhook.gauge("portforward_operator_webhook_certificate_expiry_timestamp_seconds") == current;
      });
      await("caBundle holds the new and the previous CA").atMost(WAIT).until(() ->
          new String(Base64.getDecoder().decode(caBundle(client, configuration))).split("BEGIN CERTIFICATE").length == 3);
      Pod afterRenewal = create(client, pod(ns.name(), "after-renewal", WEB));
      assertThat(Sidecars.carries(afterRenewal, "web")).isTrue();
      client.resource(afterRenewal).withGracePeriod(0).delete();

      // The pod from before is named as needing a restart (once the deleted pods have left the status).
      awaitCondition(client, ns.name(), "web", Conditions.PROGRAMMED, "False", Conditions.Reason.SIDECARS_MISSING);
      await().atMost(WAIT).untilAsserted(() -> assertThat(condition(
          client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get(), Conditions.PROGRAMMED)
          .orElseThrow().getMessage())
          .contains("without the relay sidecar: before;", "restart them")
          .contains("relay sidecar is not ready: web-1;"));

      // The webhook is down: unrelated pods are created as ever, and with failurePolicy Ignore so
      // are selected ones, which the status then names.
      webhook.kill();
      assertThat(Sidecars.hasContainer(create(client, pod(other, "during-outage", WEB)))).isFalse();
      assertThat(Sidecars.hasContainer(create(client, pod(ns.name(), "missed", WEB)))).isFalse();
      await().atMost(WAIT).untilAsserted(() -> assertThat(condition(
          client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get(), Conditions.PROGRAMMED)
          .orElseThrow().getMessage()).contains("without the relay sidecar: before, missed;"));
      // With failurePolicy Fail, selected namespaces wait for the webhook; others still do not.
      setFailurePolicy(client, configuration, "Fail");
      Pod attempt = new PodBuilder(pod(ns.name(), null, WEB)).editMetadata().withGenerateName("attempt-")
          .addToLabels("attempt", "fail").endMetadata().build();
      await().atMost(WAIT).untilAsserted(() -> assertThatThrownBy(() -> create(client, attempt))
          .isInstanceOf(KubernetesClientException.class).hasMessageContaining("failed calling webhook"));
      create(client, pod(other, "still-fine", WEB));
      setFailurePolicy(client, configuration, "Ignore");
      // Restarted, as the status asks (and any attempt admitted before Fail took effect).
      client.pods().inNamespace(ns.name()).withLabel("attempt", "fail").withGracePeriod(0).delete();
      for (String restarted : List.of("before", "missed")) {
        client.pods().inNamespace(ns.name()).withName(restarted).withGracePeriod(0).delete();
      }

      // Traffic: the app listens on 127.0.0.1 only, in the pod's network namespace.
      hosts.net.spawn(hosts.pod1, "socat", "TCP-LISTEN:" + APP_PORT + ",bind=127.0.0.1,fork,reuseaddr",
          "SYSTEM:echo local-only");
      node = client.resource(new NodeBuilder().withNewMetadata().withName(ns.name() + "-node")
          .withLabels(nodeLabel).endMetadata().build()).create();
      node.setStatus(new NodeStatusBuilder().addNewAddress().withType("InternalIP")
          .withAddress(NodeTopology.NODE_IP).endAddress().build());
      client.resource(node).updateStatus();
      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", node.getMetadata().getName(),
          "portforward.agent.command-prefix", String.join(",", NetNs.inside(hosts.node))));
      Process relay = null;
      try {
        agent.start();
        web = running(client, web, NodeTopology.POD1_IP, false);
        relay = runSidecar(client, hosts, web, cp.directory());
        // The relay listens on the pod's address, next to the app on 127.0.0.1, and reaches it.
        await("relay sidecar serving").atMost(WAIT)
            .until(() -> ask(hosts, hosts.node, NodeTopology.POD1_IP, APP_PORT), "local-only"::equals);
        // Now the kubelet would see the sidecar, and so the pod, ready: the agent DNATs to it.
        running(client, web, NodeTopology.POD1_IP, true);
        awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(listenPort), "local-only"::equals);
      } finally {
        if (relay != null) {
          relay.descendants().forEach(ProcessHandle::destroyForcibly);
          relay.destroyForcibly();
        }
        agent.close();
      }
    } finally {
      webhook.close();
      if (node != null) {
        client.resource(node).delete();
      }
      client.resource(webhookConfiguration(configuration, webhookPort, "Ignore")).delete();
      client.namespaces().withName(other).delete();
    }
  }

  /**
   * Starts what the kubelet would start for the injected container: its args, its env (the
   * downward API's status.podIP resolved), its projected config files from the ConfigMaps, in the
   * pod's network namespace.
   */
  private static Process runSidecar(KubernetesClient client, NodeTopology hosts, Pod pod, Path logs) throws Exception {
    Container container = pod.getSpec().getInitContainers().stream()
        .filter(c -> Sidecars.CONTAINER.equals(c.getName())).findFirst().orElseThrow();
    String mount = container.getVolumeMounts().stream()
        .filter(m -> m.getMountPath().equals(container.getArgs().get(container.getArgs().indexOf("--config") + 1)))
        .findFirst().orElseThrow().getName();
    Path configDir = Files.createTempDirectory(logs, "sidecar-config-");
    List<VolumeProjection> sources = pod.getSpec().getVolumes().stream().filter(v -> v.getName().equals(mount))
        .findFirst().orElseThrow().getProjected().getSources();
    for (VolumeProjection source : sources) {
      String name = source.getConfigMap().getName();
      ConfigMap config = await("ConfigMap " + name).atMost(WAIT).until(
          () -> client.configMaps().inNamespace(pod.getMetadata().getNamespace()).withName(name).get(), Objects::nonNull);
      source.getConfigMap().getItems().forEach(item -> write(configDir.resolve(item.getPath()),
          config.getData().get(item.getKey())));
    }

    List<String> args = new ArrayList<>(container.getArgs());
    args.set(args.indexOf("--config") + 1, configDir.toString());
    List<String> command = new ArrayList<>(NetNs.inside(hosts.pod1));
    command.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx128m", "-jar",
        ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar").toString()));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(logs.resolve("sidecar-relay.log").toFile());
    for (EnvVar env : container.getEnv()) {
      builder.environment().put(env.getName(), env.getValueFrom() != null
          && "status.podIP".equals(env.getValueFrom().getFieldRef().getFieldPath())
          ? pod.getStatus().getPodIP() : env.getValue());
    }
    return builder.start();
  }

  /** The pod as the kubelet reports it: running at {@code ip}, its sidecar ready or not. */
  private static Pod running(KubernetesClient client, Pod pod, String ip, boolean sidecarReady) {
    Pod fresh = client.resource(pod).get();
    fresh.setStatus(new PodStatusBuilder().withPhase("Running").withPodIP(ip).addNewPodIP().withIp(ip).endPodIP()
        .addNewCondition().withType("Ready").withStatus(sidecarReady ? "True" : "False").endCondition()
        .addNewInitContainerStatus().withName(Sidecars.CONTAINER).withReady(sidecarReady).withRestartCount(0)
        .withImage("relay:test").withImageID("").endInitContainerStatus()
        .build());
    return client.resource(fresh).updateStatus();
  }

  private static PortForward sidecarForward(String namespace, String name, int port, Map<String, String> nodes) {
    PortForward pf = PortForwards.of(namespace, name, "listen: {port: %d}, target: {pods: {port: %d}}, relay: {mode: Sidecar}"
        .formatted(port, APP_PORT));
    pf.getSpec().getListen().setNodeSelector(nodes);
    pf.getSpec().getTarget().getPods().setSelector(WEB);
    return pf;
  }

  /** As the chart installs it, but calling the test's operator process on loopback. */
  /**
   * The chart's own webhook configuration (its namespace and object selectors, policies), renamed
   * and pointed at the test's operator process on loopback instead of the in-cluster Service.
   */
  private static MutatingWebhookConfiguration webhookConfiguration(String name, int port, String failurePolicy)
      throws Exception {
    Process render = new ProcessBuilder(ControlPlane.binaries().resolve("helm").toString(), "template", "chart",
        ControlPlane.projectRoot().resolve("helm/portforward-operator").toString(), "--kube-version", "1.36.0",
        "--show-only", "templates/sidecar-injection.yaml").redirectError(ProcessBuilder.Redirect.INHERIT).start();
    MutatingWebhookConfiguration chart;
    try (KubernetesClient offline = new io.fabric8.kubernetes.client.KubernetesClientBuilder().build()) {
      chart = offline.load(render.getInputStream()).items().stream()
          .filter(MutatingWebhookConfiguration.class::isInstance).map(MutatingWebhookConfiguration.class::cast)
          .findFirst().orElseThrow();
    }
    assertThat(render.waitFor()).isZero();
    chart.getMetadata().setName(name);
    chart.getWebhooks().get(0).setClientConfig(new io.fabric8.kubernetes.api.model.admissionregistration.v1
        .WebhookClientConfigBuilder().withUrl("https://127.0.0.1:" + port + "/mutate-pods").build());
    chart.getWebhooks().get(0).setFailurePolicy(failurePolicy);
    return chart;
  }

  private static void setFailurePolicy(KubernetesClient client, String configuration, String policy) {
    client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(configuration).edit(c -> {
      c.getWebhooks().get(0).setFailurePolicy(policy);
      return c;
    });
  }

  /** Asks {@code address:port} over TCP from inside {@code ns}; the answer, or "" when refused. */
  private static String ask(NodeTopology hosts, String ns, String address, int port) {
    try {
      return hosts.net.exec(ns, "socat", "-T2", "-", "TCP:" + address + ":" + port + ",connect-timeout=1").strip();
    } catch (IllegalStateException refused) {
      return "";
    }
  }

  private static Map<String, String> secretData(KubernetesClient client, String namespace) {
    return client.secrets().inNamespace(namespace).withName("portforward-operator-webhook-tls").get().getData();
  }

  /**
   * What the ignore rules docs/gitops ships select in the live configuration: Argo CD's
   * jqPathExpressions (run by jq; Argo CD runs gojq) and Flux's driftDetection JSON pointers.
   */
  private static List<String> ignoredByGitOps(KubernetesClient client, String configuration) throws Exception {
    MutatingWebhookConfiguration live =
        client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(configuration).get();
    JsonNode liveJson = Serialization.jsonMapper().valueToTree(live);
    Path gitops = ControlPlane.projectRoot().resolve("docs/gitops");
    YAMLMapper yaml = new YAMLMapper();
    List<String> selected = new ArrayList<>();
    JsonNode argo = yaml.readTree(Files.readString(gitops.resolve("argocd/operator.yaml")));
    for (JsonNode rule : argo.at("/spec/ignoreDifferences")) {
      if (rule.path("kind").asText().equals(live.getKind())) {
        assertThat(rule.path("name").asText()).as("the chart's configuration, named after the release")
            .isEqualTo("portforward-operator");
        for (JsonNode expression : rule.path("jqPathExpressions")) {
          Process jq = new ProcessBuilder("jq", "-r", expression.asText()).start();
          try (var in = jq.getOutputStream()) {
            in.write(Serialization.asJson(live).getBytes(StandardCharsets.UTF_8));
          }
          selected.add(new String(jq.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip());
          assertThat(jq.waitFor()).as("jq " + expression.asText()).isZero();
        }
      }
    }
    for (String document : Files.readString(gitops.resolve("flux/operator.yaml")).split("(?m)^---$")) {
      for (JsonNode rule : yaml.readTree(document).at("/spec/driftDetection/ignore")) {
        if (rule.at("/target/kind").asText().equals(live.getKind())) {
          rule.path("paths").forEach(pointer -> selected.add(liveJson.at(pointer.asText()).asText()));
        }
      }
    }
    return selected;
  }

  /** The expiry of the serving certificate of a Secret's base64 tls.crt, in seconds since the epoch. */
  private static long notAfter(String tlsCrt) {
    return certificate(tlsCrt).getNotAfter().toInstant().getEpochSecond();
  }

  /** The certificate the webhook presents in a TLS handshake on {@code port}. */
  private static X509Certificate served(int port) {
    X509Certificate[] presented = new X509Certificate[1];
    X509TrustManager recorder = new X509TrustManager() {
      @Override public void checkClientTrusted(X509Certificate[] chain, String authType) {
        throw new UnsupportedOperationException();
      }

      @Override public void checkServerTrusted(X509Certificate[] chain, String authType) {
        presented[0] = chain[0]; // Only recorded: which certificate is served is the question here.
      }

      @Override public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
    try {
      SSLContext tls = SSLContext.getInstance("TLS");
      tls.init(null, new TrustManager[] {recorder}, null);
      try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
        socket.setSoTimeout(10_000);
        socket.startHandshake();
      }
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return presented[0];
  }

  /** A certificate as a Secret holds it (base64 of PEM). */
  private static X509Certificate certificate(String secretData) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new java.io.ByteArrayInputStream(Base64.getDecoder().decode(secretData)));
    } catch (java.security.cert.CertificateException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static String caBundle(KubernetesClient client, String configuration) {
    return client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(configuration).get()
        .getWebhooks().get(0).getClientConfig().getCaBundle();
  }

  private static Pod pod(String namespace, String name, Map<String, String> labels) {
    return new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name).withLabels(labels).endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("app").endContainer().endSpec().build();
  }

  private static Pod create(KubernetesClient client, Pod pod) {
    return client.resource(pod).create();
  }

  /** Pods need the namespace's default service account, which the controller manager creates. */
  private static void awaitServiceAccount(KubernetesClient client, String namespace) {
    client.serviceAccounts().inNamespace(namespace).withName("default")
        .waitUntilCondition(Objects::nonNull, WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
