package dev.portforward.testbed;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.awaitility.Awaitility;

/**
 * The project's main job on one machine: a real cluster (control plane and one real node, or two
 * with --nodes 2), the chart installed with helm, a demo backend (two nginx pods behind Service
 * "web") and the quickstart PortForward (docs/examples/quickstart.yaml) exposing it on port 8080
 * of every node. Prints a curl line that reaches the backend through the forward from this
 * machine, and the kubeconfig; stays up until interrupted, then removes everything it made.
 * Started by test-cluster/run-local.sh.
 */
public final class LocalRun {

  private static final int LISTEN_PORT = 8080;

  public static void main(String[] args) {
    try {
      run(args.length == 2 && args[0].equals("--nodes") ? Integer.parseInt(args[1]) : 1);
    } catch (Exception e) {
      // The cluster is already torn down; the clients' threads must not keep the JVM alive.
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(int nodes) throws Exception {
    long started = Long.getLong("local.started", System.currentTimeMillis());
    Path dir = Files.createTempDirectory("portforward-local-");
    RealNode.Image image = HelmRelease.projectImage();
    try (NodeCluster cluster = NodeCluster.start(dir, nodes, List.of(image))) {
      ControlPlane cp = cluster.controlPlane();
      KubernetesClient client = cluster.client();
      HelmRelease release = new HelmRelease(cp, "portforward-operator", "portforward-system");
      // One operator replica: leader election is not what a first look needs, and it starts faster.
      release.install("operator.replicas=1");
      client.load(new ByteArrayInputStream(DemoBackend.manifest("default", cluster.runtime().testapp().name(), 2)
          .getBytes(StandardCharsets.UTF_8))).serverSideApply();
      for (HasMetadata item : quickstartPortForward(client)) {
        client.resource(item).serverSideApply();
      }
      String url = "http://" + cluster.nodes().get(0).address() + ":" + LISTEN_PORT + "/";
      String answer = awaitForwarded(url);
      System.out.printf("%nfirst forwarded answer after %d s: %s%n", (System.currentTimeMillis() - started) / 1000,
          answer.strip());
      System.out.printf("%nnodes:         %s%ncontrol plane: %s%nkubeconfig:    %s%nlogs:          %s%n",
          cluster.nodes().stream().map(n -> n.name() + " " + n.address()).toList(), cp.url(), cp.kubeconfig(), dir);
      System.out.printf("%ntry:%n  curl %s%n  %s --kubeconfig %s get portforwards,pods -A -o wide%n%n",
          url, cp.kubectl(), cp.kubeconfig());
      kubectl(cp, "get", "portforward", "web", "-n", "default");
      System.out.println("\nrunning until interrupted (Ctrl-C)");
      new CountDownLatch(1).await();
    }
  }

  /** The PortForward of docs/examples/quickstart.yaml (its Service and EndpointSlice stand in for pods). */
  private static List<HasMetadata> quickstartPortForward(KubernetesClient client) throws Exception {
    List<HasMetadata> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(ControlPlane.projectRoot().resolve("docs/examples/quickstart.yaml"))) {
      for (HasMetadata item : client.load(in).items()) {
        if (item.getKind().equals("PortForward")) {
          out.add(item);
        }
      }
    }
    return out;
  }

  private static String awaitForwarded(String url) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest get = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build();
    String[] body = new String[1];
    Awaitility.await("an answer through the forward at " + url)
        .atMost(Duration.ofMinutes(5))
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptions()
        .until(() -> {
          HttpResponse<String> response = http.send(get, HttpResponse.BodyHandlers.ofString());
          body[0] = response.body();
          return response.statusCode() == 200;
        });
    return body[0];
  }

  private static void kubectl(ControlPlane cp, String... args) throws Exception {
    List<String> command =
        new ArrayList<>(List.of(cp.kubectl().toString(), "--kubeconfig", cp.kubeconfig().toString()));
    command.addAll(List.of(args));
    new ProcessBuilder(command).inheritIO().start().waitFor();
  }

  private LocalRun() {}
}
