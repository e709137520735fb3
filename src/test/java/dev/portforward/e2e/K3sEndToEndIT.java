package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.EchoSession;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RuntimeBuild;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * The operator on a real K3s cluster (kubelet, kube-proxy, pods). Needs a Docker engine; without
 * one each test is skipped, saying so.
 */
class K3sEndToEndIT {

  private static final DockerImageName K3S = DockerImageName.parse("rancher/k3s:v1.33.4-k3s1");
  /** The image test-cluster/image/build.sh writes (tag "ci"), imported into K3s under this name. */
  private static final String IMAGE = "docker.io/library/portforward-operator";
  private static final String APP_IMAGE = "python:3.12-alpine";
  private static final Duration POD_START = Duration.ofMinutes(5);

  /** The quickstart: the packaged operator on this machine, against K3s. */
  @Test
  void quickstartOnK3s() throws Exception {
    assumeDocker();
    try (K3sContainer k3s = new K3sContainer(K3S)) {
      k3s.start();
      Path dir = Files.createTempDirectory("portforward-k3s-");
      Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), k3s.getKubeConfigYaml());
      try (KubernetesClient client = client(k3s)) {
        RealCluster.installCrds(client);
        ProcessBuilder launch = new ProcessBuilder(List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "-Dquarkus.http.port=0", "-Dportforward.leader-election.lease-namespace=default",
                "-jar", ControlPlane.projectRoot().resolve("target/quarkus-app/quarkus-run.jar").toString(),
                "operator"))
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("operator.log").toFile());
        launch.environment().put("KUBECONFIG", kubeconfig.toString());
        Process operator = launch.start();
        try {
          client.load(Files.newInputStream(ControlPlane.projectRoot().resolve("docs/examples/quickstart.yaml")))
              .serverSideApply();
          var pf = PortForwards.awaitAccepted(client, "default", "web");
          assertThat(PortForwards.condition(pf, Conditions.RESOLVED_REFS).orElseThrow().getStatus()).isEqualTo("True");
        } finally {
          operator.destroy();
          operator.waitFor(20, TimeUnit.SECONDS);
        }
      }
    }
  }

  /**
   * Both relay modes with real pods, installed with the chart from the image the build makes: an
   * app bound to 127.0.0.1 reached through the sidecar the webhook injected, and a Service reached
   * through a relay Deployment; each from outside the node, through the agent's DNAT.
   */
  @Test
  void relaySidecarAndRelayDeploymentServeRealPods() throws Exception {
    assumeDocker();
    Path image = ControlPlane.projectRoot().resolve("target/image/portforward-operator.tar");
    if (!Files.exists(image)) {
      assertThat(new ProcessBuilder("bash", "test-cluster/image/build.sh").directory(ControlPlane.projectRoot().toFile())
          .inheritIO().start().waitFor()).as("test-cluster/image/build.sh").isZero();
    }
    try (K3sContainer k3s = new K3sContainer(K3S)) {
      k3s.start();
      k3s.copyFileToContainer(MountableFile.forHostPath(image), "/tmp/portforward-operator.tar");
      ExecResult imported = k3s.execInContainer(
          "ctr", "-n", "k8s.io", "images", "import", "--base-name", IMAGE, "/tmp/portforward-operator.tar");
      assertThat(imported.getExitCode()).as("ctr images import: %s", imported.getStderr()).isZero();
      try (KubernetesClient client = client(k3s)) {
        RealCluster.installCrds(client);
        client.load(new ByteArrayInputStream(chart().getBytes(StandardCharsets.UTF_8))).serverSideApply();
        await("operator and agent ready").atMost(POD_START).ignoreExceptions().until(() ->
            ready(client.apps().deployments().inNamespace("portforward-system").withName("portforward-operator").get())
                && ready(client.apps().daemonSets().inNamespace("portforward-system").withName("portforward-operator-agent").get()));

        client.load(new ByteArrayInputStream(DEMO.getBytes(StandardCharsets.UTF_8))).serverSideApply();
        // Sidecars are injected at pod creation: the PortForward comes first, then its pods.
        PortForwards.awaitAccepted(client, "demo", "local");
        client.load(new ByteArrayInputStream(APPS.getBytes(StandardCharsets.UTF_8))).serverSideApply();
        for (String name : List.of("local", "proxied")) {
          await(name + " ready").atMost(POD_START).until(() -> PortForwards.condition(
              client.resources(dev.portforward.api.v1alpha1.PortForward.class).inNamespace("demo").withName(name).get(),
              Conditions.READY).map(c -> "True".equals(c.getStatus())).orElse(false));
        }
        Pod local = client.pods().inNamespace("demo").withLabel("app", "local").list().getItems().get(0);
        assertThat(local.getSpec().getInitContainers()).extracting(c -> c.getName()).contains("portforward-relay");

        String node = client.nodes().list().getItems().get(0).getStatus().getAddresses().stream()
            .filter(a -> "InternalIP".equals(a.getType())).findFirst().orElseThrow().getAddress();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        for (int port : List.of(29081, 29082)) {
          await("http://" + node + ":" + port).atMost(Duration.ofMinutes(2)).ignoreExceptions().until(() ->
              http.send(HttpRequest.newBuilder(URI.create("http://" + node + ":" + port + "/")).build(),
                  HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
        }
      }
    }
  }

  /**
   * The lifecycle scenarios the real-node ITs run ({@link ChartScenarios}), on K3s with the chart
   * installed by helm: its node's forwards serve, helm upgrade keeps a connection through a DNAT
   * forward, helm uninstall leaves nothing behind. (K3s runs its kubelet inside its own process,
   * so the kubelet and containerd faults stay with the real-node ITs.)
   */
  @Test
  void chartLifecycleOnK3s() throws Exception {
    assumeDocker();
    Path image = ControlPlane.projectRoot().resolve("target/image/portforward-operator.tar");
    if (!Files.exists(image)) {
      assertThat(new ProcessBuilder("bash", "test-cluster/image/build.sh").directory(ControlPlane.projectRoot().toFile())
          .inheritIO().start().waitFor()).as("test-cluster/image/build.sh").isZero();
    }
    RuntimeBuild.Image testapp = RuntimeBuild.find().testapp();
    try (K3sContainer k3s = new K3sContainer(K3S)) {
      k3s.start();
      importImage(k3s, image, IMAGE);
      importImage(k3s, testapp.tar(), null);
      Path kubeconfig = Files.writeString(Files.createTempDirectory("portforward-k3s-").resolve("kubeconfig"),
          k3s.getKubeConfigYaml());
      try (KubernetesClient client = client(k3s)) {
        RealCluster.installCrds(client);
        K3sUnderTest cluster = new K3sUnderTest(k3s, client, kubeconfig, testapp.name());
        cluster.helm("install", "--create-namespace", "--set", "crds.enabled=false");
        List<ChartScenarios.NodeBackends> backends = List.of(ChartScenarios.deployBackends(cluster, cluster.nodes().get(0)));
        ChartScenarios.awaitServing(cluster, backends.get(0));
        ChartScenarios.upgradeKeepsConnections(cluster, backends.get(0));
        ChartScenarios.uninstallLeavesNothing(cluster, backends);
      }
    }
  }

  private static void importImage(K3sContainer k3s, Path tar, String baseName) throws Exception {
    k3s.copyFileToContainer(MountableFile.forHostPath(tar), "/tmp/image.tar");
    List<String> command = new java.util.ArrayList<>(List.of("ctr", "-n", "k8s.io", "images", "import"));
    if (baseName != null) {
      command.addAll(List.of("--base-name", baseName));
    }
    command.add("/tmp/image.tar");
    ExecResult imported = k3s.execInContainer(command.toArray(String[]::new));
    assertThat(imported.getExitCode()).as("ctr images import: %s", imported.getStderr()).isZero();
  }

  /** K3s as a {@link ClusterUnderTest}: this machine is the client, reaching the node's container address. */
  private record K3sUnderTest(K3sContainer k3s, KubernetesClient client, Path kubeconfig, String testImage)
      implements ClusterUnderTest {

    @Override
    public List<String> nodes() {
      return client.nodes().list().getItems().stream().map(n -> n.getMetadata().getName()).toList();
    }

    @Override
    public String nodeAddress(String node) {
      return client.nodes().withName(node).get().getStatus().getAddresses().stream()
          .filter(a -> "InternalIP".equals(a.getType())).findFirst().orElseThrow().getAddress();
    }

    @Override
    public String clientAddress() {
      // The node sees this machine's connections from the container network's gateway.
      return k3s.getContainerInfo().getNetworkSettings().getGateway();
    }

    @Override
    public String fetch(String url) {
      try {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
            .send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
      } catch (Exception e) {
        return "";
      }
    }

    @Override
    public EchoSession connect(String address, int port) throws java.io.IOException {
      return EchoSession.start(List.of("socat", "-", "TCP:" + address + ":" + port + ",connect-timeout=5"));
    }

    @Override
    public String onNode(String node, String... command) throws Exception {
      ExecResult result = k3s.execInContainer(command);
      assertThat(result.getExitCode()).as("%s: %s", String.join(" ", command), result.getStderr()).isZero();
      return result.getStdout();
    }

    @Override
    public String releaseName() {
      return "portforward-operator";
    }

    @Override
    public String releaseNamespace() {
      return "portforward-system";
    }

    @Override
    public void helmUpgrade(String... values) throws Exception {
      List<String> args = new java.util.ArrayList<>(List.of("--set", "crds.enabled=false"));
      for (String value : values) {
        args.addAll(List.of("--set", value));
      }
      helm("upgrade", args.toArray(String[]::new));
    }

    @Override
    public void helmUninstall() throws Exception {
      run(List.of("uninstall", releaseName(), "--namespace", releaseNamespace(), "--wait", "--timeout", "3m"));
    }

    /** helm install or upgrade of the chart with the imported image, one operator replica. */
    void helm(String verb, String... more) throws Exception {
      List<String> args = new java.util.ArrayList<>(List.of(verb, releaseName(),
          ControlPlane.projectRoot().resolve("helm/portforward-operator").toString(), "--namespace", releaseNamespace(),
          "--set", "image.repository=" + IMAGE, "--set", "image.tag=ci", "--set", "image.pullPolicy=Never",
          "--set", "operator.replicas=1"));
      args.addAll(List.of(more));
      run(args);
    }

    private void run(List<String> args) throws Exception {
      List<String> command = new java.util.ArrayList<>(List.of(ControlPlane.binaries().resolve("helm").toString(),
          "--kubeconfig", kubeconfig.toString()));
      command.addAll(args);
      Process helm = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(helm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(helm.waitFor()).as("helm %s: %s", args, out).isZero();
    }
  }

  private static void assumeDocker() {
    assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
        "skipped: no Docker engine on this machine, and the K3s end-to-end tests need one");
  }

  private static KubernetesClient client(K3sContainer k3s) {
    return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build();
  }

  private static boolean ready(Deployment d) {
    return d.getStatus() != null && Objects.equals(d.getStatus().getReadyReplicas(), d.getSpec().getReplicas());
  }

  private static boolean ready(DaemonSet d) {
    return d.getStatus() != null && d.getStatus().getNumberReady() != null && d.getStatus().getNumberReady() > 0
        && d.getStatus().getNumberReady().equals(d.getStatus().getDesiredNumberScheduled());
  }

  /** The chart as users install it, with the imported image. */
  private static String chart() throws Exception {
    Process helm = new ProcessBuilder(ControlPlane.binaries().resolve("helm").toString(), "template", "portforward-operator",
        ControlPlane.projectRoot().resolve("helm/portforward-operator").toString(),
        "--namespace", "portforward-system", "--set", "namespace.create=true",
        "--set", "image.repository=" + IMAGE, "--set", "image.tag=ci", "--set", "image.pullPolicy=Never",
        "--set", "operator.replicas=1")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(helm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(helm.waitFor()).as("helm template").isZero();
    return out;
  }

  private static final String DEMO = """
      apiVersion: v1
      kind: Namespace
      metadata:
        name: demo
        labels: {portforward.dev/sidecar-injection: enabled}
      ---
      apiVersion: portforward.dev/v1alpha1
      kind: PortForward
      metadata: {name: local, namespace: demo}
      spec:
        listen: {port: 29081}
        target: {pods: {selector: {app: local}, port: 8080}}
        relay: {mode: Sidecar}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: demo}
      spec:
        selector: {app: web}
        ports: [{port: 8080, targetPort: 8080}]
      ---
      apiVersion: portforward.dev/v1alpha1
      kind: PortForward
      metadata: {name: proxied, namespace: demo}
      spec:
        listen: {port: 29082}
        target: {service: {name: web, port: 8080}}
        relay: {mode: Deployment, maxConnections: 100}
      """;

  /** Two HTTP servers: "local" only on 127.0.0.1 (reachable through its sidecar), "web" on all addresses. */
  private static final String APPS = """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: local, namespace: demo}
      spec:
        selector: {matchLabels: {app: local}}
        template:
          metadata: {labels: {app: local}}
          spec:
            containers:
            - {name: app, image: %1$s, args: [python, -m, http.server, "8080", --bind, 127.0.0.1]}
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: demo}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
            - {name: app, image: %1$s, args: [python, -m, http.server, "8080"]}
      """.formatted(APP_IMAGE);
}
