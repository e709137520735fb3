package dev.portforward.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * The upstream Gateway API conformance suite against a real-node cluster: nodes with the project
 * image and the suite's images (echo-basic, coredns) imported, the Gateway API's standard-channel
 * CRDs (src/main/crds/gateway-api/ and the rest from the suite's module), the chart (operator and
 * agents) installed with helm, and the GatewayClass the suite is told to use; then the suite's test
 * binary runs with the cluster's kubeconfig and {@link #suiteFlags}, skipping the tests of
 * {@link SkippedTests}. While the suite runs, it reports once when every pod of the suite's
 * infrastructure namespaces runs and is Ready, and on which node.
 * As a program (test-cluster/gateway-conformance.sh) it starts a cluster of its own, removes it at
 * the end and exits with the suite's exit code; the script builds the suite and the images and
 * passes them in system properties, and its arguments go to the suite:
 * <ul>
 *   <li>{@code conformance.started}: when the run started (ms since the epoch), for the times printed;
 *   <li>{@code conformance.suite}: the suite's test binary;
 *   <li>{@code conformance.images}: the image list gateway-conformance/images.sh prints;
 *   <li>{@code conformance.report}: where the suite writes its report;
 *   <li>{@code conformance.features}, {@code conformance.timeouts}: -supported-features and
 *       -timeout-config-overrides, the defaults when blank;
 *   <li>{@code conformance.nodes}: how many nodes (2 unless set);
 *   <li>{@code conformance.helm-set}: more helm {@code --set} values for the chart, separated by spaces;
 *   <li>{@code conformance.stand-in-gatewayclass}: true to mark the GatewayClass Accepted here,
 *       for checking the test bed before a controller does it (a report from such a run says
 *       nothing about an implementation).
 * </ul>
 * GatewayConformanceSuiteIT runs the same steps ({@link #installAndRunSuite}) on the test run's
 * shared real-node cluster.
 */
public final class GatewayConformance {

  /** The GatewayClass the suite runs against. */
  public static final String GATEWAY_CLASS = "portforward";
  /** The controller that owns the class: the operator's Gateway API controller. */
  public static final String CONTROLLER_NAME = "portforward.dev/gateway-controller";
  /** Where the suite's base manifests put their Gateways, backends and coredns. */
  public static final List<String> INFRASTRUCTURE_NAMESPACES =
      List.of("gateway-conformance-infra", "gateway-conformance-app-backend", "gateway-conformance-web-backend");
  private static final Duration SLOW = Duration.ofMinutes(5);

  private GatewayConformance() {}

  public static void main(String[] extraArgs) {
    int exit;
    try {
      exit = run(extraArgs);
    } catch (Exception e) {
      e.printStackTrace();
      exit = 1;
    }
    // The cluster is torn down; the clients' threads must not keep the JVM alive.
    System.exit(exit);
  }

  private static int run(String[] extraArgs) throws Exception {
    Instant started = Instant.ofEpochMilli(Long.getLong("conformance.started", System.currentTimeMillis()));
    Path suite = Path.of(required("conformance.suite"));
    Map<String, Path> suiteImages = readImageList(Path.of(required("conformance.images")));
    List<String> flags = suiteFlags(Path.of(required("conformance.report")),
        System.getProperty("conformance.features", ""), System.getProperty("conformance.timeouts", ""),
        Arrays.asList(extraArgs));
    List<RealNode.Image> images = new ArrayList<>();
    suiteImages.values().forEach(tar -> images.add(new RealNode.Image(tar, null)));
    images.add(HelmRelease.projectImage());
    int nodes = Integer.getInteger("conformance.nodes", 2);
    // A short name: containerd's socket paths under it must stay within 104 characters.
    Path dir = Files.createTempDirectory(Files.createDirectories(ControlPlane.projectRoot().resolve("target")), "gwc-");
    step(started, "images built; starting " + nodes + " nodes (logs: " + dir + ")");
    try (NodeCluster cluster = NodeCluster.start(dir, nodes, images)) {
      step(started, "nodes Ready: " + cluster.nodes().stream().map(n -> n.name() + " " + n.address()).toList());
      HelmRelease release = new HelmRelease(cluster.controlPlane(), "portforward-operator", "portforward-system");
      List<String> values = new ArrayList<>(List.of("operator.replicas=1"));
      values.addAll(helmSet());
      int exit = installAndRunSuite(cluster, release, values, suite, suiteImages.keySet(), flags,
          Boolean.getBoolean("conformance.stand-in-gatewayclass"), dir, ProcessBuilder.Redirect.INHERIT, started);
      step(started, "suite exited with " + exit + "; tearing down");
      return exit;
    } finally {
      step(started, "done");
    }
  }

  /**
   * On {@code cluster}, whose nodes hold the suite's images ({@code imageNames}) and the project
   * image: installs the Gateway API's standard channel, the chart as {@code release} with
   * {@code helmValues}, and the GatewayClass (marked Accepted here when {@code standIn}), then runs
   * the suite with {@code suiteFlags} in {@code dir}, its output (stdout and stderr) to
   * {@code output}; returns the suite's exit code. Leaves all of it installed.
   */
  public static int installAndRunSuite(NodeCluster cluster, HelmRelease release, List<String> helmValues, Path suite,
      Set<String> imageNames, List<String> suiteFlags, boolean standIn, Path dir, ProcessBuilder.Redirect output,
      Instant started) throws Exception {
    KubernetesClient client = cluster.client();
    for (RealNode node : cluster.nodes()) {
      requireImages(node, imageNames);
    }
    step(started, "the suite's images are in every node's containerd: " + imageNames);
    GatewayApiCrds.install(client);
    installStandardChannel(client);
    release.install(helmValues.toArray(String[]::new));
    int nodes = cluster.nodes().size();
    Awaitility.await("an agent Ready on each of the " + nodes + " nodes").atMost(SLOW)
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> numberReady(client.apps().daemonSets().inNamespace(release.namespace())
            .withName(release.name() + "-agent").get()) == nodes);
    step(started, "chart installed (" + String.join(" ", helmValues) + "), agents Ready");
    applyGatewayClass(client);
    if (standIn) {
      standInAccepted(client);
      step(started, "GatewayClass " + GATEWAY_CLASS + " marked Accepted by this program (stand-in)");
    }
    ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "infrastructure-watch");
      t.setDaemon(true);
      return t;
    });
    AtomicBoolean reported = new AtomicBoolean();
    watcher.scheduleWithFixedDelay(() -> reportInfrastructure(client, started, reported), 2, 2, TimeUnit.SECONDS);
    try {
      return runSuite(suite, cluster.controlPlane(), suiteFlags, dir, output);
    } finally {
      watcher.shutdownNow();
    }
  }

  /**
   * The suite's flags: the two profiles, {@code features} as -supported-features (the profiles'
   * core features when blank), the report's path and implementation block, {@code timeouts} as
   * -timeout-config-overrides (unless blank), then {@code extra} as given, with the tests of
   * {@link SkippedTests} added to its -skip-tests.
   */
  public static List<String> suiteFlags(Path report, String features, String timeouts, List<String> extra)
      throws IOException {
    List<String> flags = new ArrayList<>(List.of(
        "-conformance-profiles=GATEWAY-TCP,GATEWAY-UDP",
        "-supported-features=" + (features.isBlank() ? "Gateway,ReferenceGrant,TCPRoute,UDPRoute" : features),
        // The suite runs in the cluster's work directory: the report's path must not be relative.
        "-report-output=" + report.toAbsolutePath(),
        "-organization=portforward.dev",
        "-project=portforward-operator",
        "-url=https://github.com/portforward-dev/portforward-operator",
        "-version=" + projectVersion(),
        "-contact=https://github.com/portforward-dev/portforward-operator/issues",
        "-mode=default"));
    if (!timeouts.isBlank()) {
      flags.add("-timeout-config-overrides=" + timeouts);
    }
    flags.addAll(extra);
    return SkippedTests.read().addTo(flags);
  }

  /** The project's version, from pom.xml, as the report names it. */
  public static String projectVersion() throws IOException {
    return Files.readAllLines(ControlPlane.projectRoot().resolve("pom.xml")).stream()
        .filter(line -> line.startsWith("  <version>") && line.endsWith("</version>"))
        .map(line -> line.substring("  <version>".length(), line.length() - "</version>".length()))
        .findFirst().orElseThrow(() -> new IllegalStateException("pom.xml names no project version"));
  }

  /** The suite's test binary: what test-cluster/gateway-conformance/build.sh builds or finds in its cache. */
  public static Path buildSuite() throws IOException, InterruptedException {
    return Path.of(runScript("test-cluster/gateway-conformance/build.sh"));
  }

  /** The suite's images by name: what test-cluster/gateway-conformance/images.sh builds or finds in its cache. */
  public static Map<String, Path> buildImages() throws IOException, InterruptedException {
    return readImageList(Path.of(runScript("test-cluster/gateway-conformance/images.sh")));
  }

  /** Runs a build script (which waits for a build of the same pins already running) and returns its last line. */
  private static String runScript(String script) throws IOException, InterruptedException {
    Process build = new ProcessBuilder("bash", ControlPlane.projectRoot().resolve(script).toString())
        .directory(ControlPlane.projectRoot().toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (build.waitFor() != 0) {
      throw new IllegalStateException(script + " failed; see its output above");
    }
    return out.lines().reduce((a, b) -> b).orElseThrow(() -> new IllegalStateException(script + " printed nothing"));
  }

  private static int runSuite(Path suite, ControlPlane cp, List<String> suiteFlags, Path dir,
      ProcessBuilder.Redirect output)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(suite.toString(), "-test.run", "^TestConformance$", "-test.v",
        "-test.timeout", "0", "-gateway-class=" + GATEWAY_CLASS));
    command.addAll(suiteFlags);
    ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
        .redirectInput(ProcessBuilder.Redirect.INHERIT).redirectOutput(output).redirectErrorStream(true);
    builder.environment().put("KUBECONFIG", cp.kubeconfig().toString());
    Process process = builder.start();
    try {
      return process.waitFor();
    } finally {
      process.destroyForcibly();
    }
  }

  /**
   * The rest of the Gateway API's standard channel, from the module the suite is built with
   * (sigs.k8s.io/gateway-api v1.6.3, config/crd/standard/), as users install it with
   * standard-install.yaml: the project's own files (GatewayApiCrds) hold only the kinds it
   * implements, and the suite's Gateway tests apply HTTPRoutes (GatewayModifyListeners) and name
   * other route kinds. Files that are not CRDs (the safe-upgrades admission policy) are left out.
   */
  static void installStandardChannel(KubernetesClient client) throws Exception {
    Set<String> installed = new HashSet<>();
    for (Path file : GatewayApiCrds.files()) {
      installed.add(file.getFileName().toString());
    }
    try (Stream<Path> files = Files.list(standardChannelDir())) {
      for (Path file : files.sorted().toList()) {
        String name = file.getFileName().toString();
        if (name.endsWith(".yaml") && !installed.contains(name)
            && Files.readString(file).contains("\nkind: CustomResourceDefinition\n")) {
          RealCluster.applyCrd(client, file);
        }
      }
    }
  }

  /** config/crd/standard/ of the sigs.k8s.io/gateway-api module pinned in test-cluster/gateway-conformance/go.mod. */
  static Path standardChannelDir() throws IOException, InterruptedException {
    Process go = new ProcessBuilder("go", "mod", "download", "-json", "sigs.k8s.io/gateway-api")
        .directory(ControlPlane.projectRoot().resolve("test-cluster/gateway-conformance").toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    JsonNode module = new ObjectMapper().readTree(go.getInputStream());
    if (go.waitFor() != 0 || module == null || !module.hasNonNull("Dir")) {
      throw new IllegalStateException("go mod download sigs.k8s.io/gateway-api failed; see its output above");
    }
    return Path.of(module.get("Dir").asText(), "config/crd/standard");
  }

  /** The class the suite's manifests name ({GATEWAY_CLASS_NAME}), owned by the operator's controller. */
  static void applyGatewayClass(KubernetesClient client) {
    client.resource("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: %s
        spec:
          controllerName: %s
          description: L4 Gateways by portforward-operator (node DNAT or relay)
        """.formatted(GATEWAY_CLASS, CONTROLLER_NAME)).serverSideApply();
  }

  /** Accepted=True on the class, written here as its controller would; for the test-bed check only. */
  private static void standInAccepted(KubernetesClient client) {
    var classes = client.genericKubernetesResources("gateway.networking.k8s.io/v1", "GatewayClass");
    GenericKubernetesResource gwc = classes.withName(GATEWAY_CLASS).get();
    Map<String, Object> accepted = Map.of("type", "Accepted", "status", "True", "reason", "Accepted",
        "message", "marked by the conformance runner's stand-in: no controller has accepted this class",
        "observedGeneration", gwc.getMetadata().getGeneration(),
        "lastTransitionTime", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    GenericKubernetesResource status = new GenericKubernetesResource();
    status.setApiVersion(gwc.getApiVersion());
    status.setKind(gwc.getKind());
    status.setMetadata(new ObjectMetaBuilder().withName(GATEWAY_CLASS).build());
    status.setAdditionalProperty("status", Map.of("conditions", List.of(accepted)));
    classes.resource(status).subresource("status").patch(new PatchContext.Builder()
        .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager("gateway-conformance-stand-in")
        .withForce(true).build());
  }

  /** Prints, once, every infrastructure pod with its node when all of them run and are Ready. */
  private static void reportInfrastructure(KubernetesClient client, Instant started, AtomicBoolean reported) {
    if (reported.get()) {
      return;
    }
    try {
      List<Pod> pods = new ArrayList<>();
      for (String ns : INFRASTRUCTURE_NAMESPACES) {
        List<Pod> inNamespace = client.pods().inNamespace(ns).list().getItems();
        if (inNamespace.isEmpty()) {
          return;
        }
        pods.addAll(inNamespace);
      }
      if (!pods.stream().allMatch(GatewayConformance::runningAndReady)) {
        return;
      }
      reported.set(true);
      StringBuilder out = new StringBuilder();
      for (Pod pod : pods) {
        out.append(String.format("%n  %-32s %-40s %-7s %s", pod.getMetadata().getNamespace(),
            pod.getMetadata().getName(), pod.getSpec().getNodeName(), pod.getSpec().getContainers().get(0).getImage()));
      }
      step(started, "infrastructure: all " + pods.size() + " pods Running and Ready" + out);
    } catch (RuntimeException e) {
      // The API server is still there while the suite runs; a failed poll is retried at the next.
    }
  }

  private static boolean runningAndReady(Pod pod) {
    return pod.getStatus() != null && "Running".equals(pod.getStatus().getPhase())
        && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** Fails unless the node's containerd holds every image in {@code names}, where the kubelet looks. */
  private static void requireImages(RealNode node, Set<String> names) throws IOException, InterruptedException {
    Set<String> present = new HashSet<>(Arrays.asList(node.ctr("-n", "k8s.io", "images", "ls", "-q").strip().split("\\s+")));
    List<String> missing = names.stream().filter(name -> !present.contains(name)).toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException(node.name() + "'s containerd lacks " + missing + "; it holds " + present);
    }
  }

  /** The lines "<image name> <tarball>" of images.sh's list, by name; the tarballs carry their full names. */
  static Map<String, Path> readImageList(Path list) throws IOException {
    Map<String, Path> images = new LinkedHashMap<>();
    for (String line : Files.readAllLines(list)) {
      if (line.isBlank()) {
        continue;
      }
      String[] fields = line.strip().split("\\s+");
      if (fields.length != 2) {
        throw new IllegalArgumentException(list + ": expected \"<image name> <tarball>\", got: " + line);
      }
      images.put(fields[0], Path.of(fields[1]));
    }
    return images;
  }

  private static List<String> helmSet() {
    String values = System.getProperty("conformance.helm-set", "").strip();
    return values.isEmpty() ? List.of() : List.of(values.split("\\s+"));
  }

  private static String required(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("-D" + property + " is not set (test-cluster/gateway-conformance.sh sets it)");
    }
    return value;
  }

  private static int numberReady(DaemonSet d) {
    return d == null || d.getStatus() == null || d.getStatus().getNumberReady() == null ? 0
        : d.getStatus().getNumberReady();
  }

  private static void step(Instant started, String what) {
    System.out.printf("gateway-conformance [%4d s] %s%n", Duration.between(started, Instant.now()).toSeconds(), what);
  }
}
