package dev.portforward.bench;

import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;

/**
 * What a cluster of real size costs: {@link HollowNodes} (the real agent, nft replaced by a
 * recorder) against the real API server and the real operator. For each case of hollow nodes and
 * PortForwards it prints the time from applying them all until all are Programmed, the API
 * requests per second (all clients, and the agents' own by kind), the watches each agent holds,
 * the operator's RSS, the agents' heap, and programming latency under churn (a PortForward
 * changed -> every node it selects reports the new generation in place), p50 and p99. Another case
 * measures one agent's heap with 10x the pods in the cluster. Last, on the same footing, real agents
 * ({@link RealAgents}) and real kube-proxies ({@link KubeProxyPeer}), each programming real
 * nftables in a network namespace of its own, under the same churn. Run by bench/scale/run.sh.
 */
public final class ScaleBench {

  static final String NS = "bench";
  /** Forwards select one pool of nodes each, as many pools as this (fewer with fewer nodes). */
  private static final int POOLS = 10;
  private static final int BACKENDS = 10;
  private static final Duration WAIT = Duration.ofMinutes(30);

  public static void main(String[] args) throws Exception {
    List<String> cases = List.of(System.getProperty("bench.cases", "100x1000,1000x1000,100x10000").split(","));
    int churnRate = Integer.getInteger("bench.churn.rate", 2);
    int churnSeconds = Integer.getInteger("bench.churn.seconds", 30);
    List<String> rows = new ArrayList<>();
    for (String c : cases.stream().filter(c -> !c.isBlank()).toList()) {
      String[] nf = c.strip().split("x");
      rows.add(run(Integer.parseInt(nf[0]), Integer.parseInt(nf[1]), churnRate, churnSeconds));
    }
    String pods = podSensitivity(Integer.getInteger("bench.pods.nodes", 10), Integer.getInteger("bench.pods", 1000));
    // The same footing for the agent and kube-proxy: real processes programming real nftables.
    String footing = System.getProperty("bench.real-nft", "10x1000").strip();
    List<String> realNft = new ArrayList<>();
    if (!footing.isEmpty()) {
      int nodes = Integer.parseInt(footing.split("x")[0]);
      int forwards = Integer.parseInt(footing.split("x")[1]);
      realNft.add(RealAgents.run(nodes, forwards, churnRate, churnSeconds));
      realNft.add(KubeProxyPeer.run(nodes, forwards, churnRate, churnSeconds));
    }
    System.out.printf("%nhollow nodes against the real API server and operator (2 cores); churn %d changes/s for %d s%n",
        churnRate, churnSeconds);
    System.out.printf("%-6s %-6s %10s %9s %9s %8s %8s %9s %9s %10s%n", "nodes", "fwds", "programmed", "req/s",
        "agent/s", "op MiB", "agt KiB", "p50 ms", "p99 ms", "churn/s");
    rows.forEach(System.out::println);
    System.out.println(pods);
    realNft.forEach(System.out::println);
    System.exit(0);
  }

  private static String run(int nodes, int forwards, int churnRate, int churnSeconds) throws Exception {
    int pools = Math.min(POOLS, nodes);
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
    try (ControlPlane cp = ControlPlane.start(Files.createTempDirectory(target, "bench-scale-"));
        KubernetesClient client = RealCluster.clientFor(cp)) {
      RealCluster.installCrds(client);
      namespace(client);
      // As the chart installs it: new forwards carry the operator's finalizer from their creation.
      InstalledChart.applyFinalizerPolicy(client, "portforward-operator", NS);
      backends(client);
      try (RoleProcess operator = RoleProcess.operator(cp, Map.of()).start();
          Latencies latencies = Latencies.watch(client, nodes / pools)) {
        long heapBefore = usedHeapAfterGc();
        HollowNodes hollow = HollowNodes.start(cp, client, nodes, pools);
        try {
          Awaitility.await("every hollow agent reported").atMost(WAIT).pollInterval(Duration.ofSeconds(1))
              .until(() -> client.resources(PortForwardNodeReport.class).list().getItems().size() == nodes);
          Map<String, Long> agentRequestsBefore = hollow.requests();
          long syncsBefore = hollow.syncs();
          long apiBefore = apiRequests(client);
          ApiCost costBefore = ApiCost.now(client, operator::cpuTime);
          long start = System.nanoTime();
          apply(client, forwards, pools);
          Awaitility.await("all " + forwards + " Programmed").atMost(WAIT).pollInterval(Duration.ofMillis(200))
              .until(() -> latencies.programmed() == forwards);
          double programmedSeconds = (System.nanoTime() - start) / 1e9;
          long apiRequests = apiRequests(client) - apiBefore;
          ApiCost programming = ApiCost.now(client, operator::cpuTime).minus(costBefore);
          Map<String, Long> agentRequests = minus(hollow.requests(), agentRequestsBefore);
          long agentTotal = agentRequests.values().stream().mapToLong(Long::longValue).sum();
          long syncsPerAgent = (hollow.syncs() - syncsBefore) / nodes;
          long agentHeapKiB = (usedHeapAfterGc() - heapBefore) / nodes / 1024;
          long operatorMiB = operator.rssKiB() / 1024;

          ApiCost churnBefore = ApiCost.now(client, operator::cpuTime);
          double churnHeld = churn(client, latencies, forwards, churnRate, churnSeconds);
          List<Double> lat = latencies.await(WAIT);
          ApiCost churning = ApiCost.now(client, operator::cpuTime).minus(churnBefore);
          System.out.printf("%n%d hollow nodes, %d PortForwards: agents' requests while programming (all agents):%n",
              nodes, forwards);
          agentRequests.forEach((kind, n) -> System.out.printf("  %-50s %8d%n", kind, n));
          System.out.printf("  watches per agent: %s%n", perAgent(hollow.requests(), nodes));
          System.out.printf("  syncs per agent while programming: %d%n", syncsPerAgent);
          System.out.printf("  API writes per forward while programming: %s%n", programming.writesPer(forwards));
          System.out.printf("  API writes per change under churn: %s%n", churning.writesPer(churnRate * churnSeconds));
          System.out.printf("  CPU seconds (operator, kube-apiserver, etcd) while programming: %s; under churn: %s%n",
              programming.cpuSeconds(), churning.cpuSeconds());
          return String.format("%-6d %-6d %9.1fs %9.0f %9.0f %8d %8d %9.0f %9.0f %10.1f", nodes, forwards,
              programmedSeconds, apiRequests / programmedSeconds, agentTotal / programmedSeconds, operatorMiB,
              agentHeapKiB, percentile(lat, 50), percentile(lat, 99), churnHeld);
        } finally {
          hollow.close();
        }
      }
    }
  }

  /** One agent's heap with {@code pods} and with ten times as many pods in the cluster. */
  private static String podSensitivity(int nodes, int pods) throws Exception {
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
    try (ControlPlane cp = ControlPlane.start(Files.createTempDirectory(target, "bench-scale-"));
        KubernetesClient client = RealCluster.clientFor(cp)) {
      RealCluster.installCrds(client);
      namespace(client);
      fillerPods(client, 0, pods);
      long heapBefore = usedHeapAfterGc();
      try (HollowNodes hollow = HollowNodes.start(cp, client, nodes, 1)) {
        Awaitility.await("every hollow agent reported").atMost(WAIT).pollInterval(Duration.ofSeconds(1))
            .until(() -> client.resources(PortForwardNodeReport.class).list().getItems().size() == nodes);
        long small = settledHeap() - heapBefore;
        fillerPods(client, pods, 10 * pods);
        long large = settledHeap() - heapBefore;
        return String.format("agent heap with %d pods in the cluster: %d KiB; with %d: %d KiB; ratio %.2fx (goal <= 1.1x)",
            pods, small / nodes / 1024, 10 * pods, large / nodes / 1024, (double) large / small);
      }
    }
  }

  static void namespace(KubernetesClient client) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
  }

  static void apply(KubernetesClient client, int forwards, int pools) throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int j = 0; j < forwards; j++) {
      PortForward pf = PortForwards.of(NS, "pf-" + j, """
          listen: {port: %d, nodeSelector: {%s: %s}},
          target: {pods: {selector: {app: backend}, port: 8080}}"""
          .formatted(20000 + j, HollowNodes.POOL_LABEL, HollowNodes.pool(j % pools)));
      pool.execute(() -> retrying(() -> {
        try {
          return client.resource(pf).create();
        } catch (KubernetesClientException e) {
          // A create that timed out may have been stored all the same.
          if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
            return pf;
          }
          throw e;
        }
      }));
    }
    pool.shutdown();
    pool.awaitTermination(1, TimeUnit.HOURS);
  }

  /** A request to an API server that the bench itself saturates may time out: try again, a few times. */
  private static <T> T retrying(Supplier<T> request) {
    for (int attempt = 1; ; attempt++) {
      try {
        return request.get();
      } catch (KubernetesClientException e) {
        if (attempt == 5) {
          throw e;
        }
      }
    }
  }

  /**
   * Changes {@code rate} forwards per second (their target port, so a new generation) for
   * {@code seconds}, each change recorded for its latency; returns the rate actually held.
   */
  static double churn(KubernetesClient client, Latencies latencies, int forwards, int rate, int seconds)
      throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    long start = System.nanoTime();
    int total = rate * seconds;
    for (int k = 0; k < total; k++) {
      long due = start + (long) (k * 1e9 / rate);
      long wait = due - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      String name = "pf-" + (k * 7919 % forwards);
      pool.execute(() -> {
        long changed = System.nanoTime();
        PortForward pf = retrying(() -> client.resources(PortForward.class).inNamespace(NS).withName(name).edit(f -> {
          var pods = f.getSpec().getTarget().getPods();
          pods.setPort(pods.getPort() == 8080 ? 8081 : 8080);
          return f;
        }));
        latencies.expect(name, pf.getMetadata().getGeneration(), changed);
      });
    }
    pool.shutdown();
    pool.awaitTermination(1, TimeUnit.HOURS);
    return total / ((System.nanoTime() - start) / 1e9);
  }

  /** The pods every forward's target selects; their addresses are never dialled. */
  static void backends(KubernetesClient client) {
    for (int i = 0; i < BACKENDS; i++) {
      readyPod(client, "backend-" + i, "backend", "10.201.0." + (i + 1));
    }
  }

  /** A Pod as a kubelet would report it; applied, so that a retry after a timeout ends the same. */
  private static Pod readyPod(KubernetesClient client, String name, String app, String ip) {
    Pod pod = client.resource(new PodBuilder().withNewMetadata().withNamespace(NS).withName(name)
        .addToLabels("app", app).endMetadata()
        .withNewSpec().addNewContainer().withName("c").withImage("c").endContainer().endSpec().build())
        .serverSideApply();
    pod.setStatus(new PodStatusBuilder().withPhase("Running").withPodIP(ip).addNewPodIP().withIp(ip).endPodIP()
        .addNewCondition().withType("Ready").withStatus("True").endCondition().build());
    return client.resource(pod).updateStatus();
  }

  /** Pods no forward selects, as the rest of a cluster's workload. */
  private static void fillerPods(KubernetesClient client, int from, int to) throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    IntStream.range(from, to).forEach(i -> pool.execute(() ->
        retrying(() -> readyPod(client, "filler-" + i, "filler", "10.202." + (i / 250) + "." + (i % 250 + 1)))));
    pool.shutdown();
    pool.awaitTermination(1, TimeUnit.HOURS);
  }

  /** The API server's own count of requests served, all clients. */
  private static long apiRequests(KubernetesClient client) {
    return client.raw("/metrics").lines()
        .filter(line -> line.startsWith("apiserver_request_total{"))
        .mapToLong(line -> (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
  }

  private static Map<String, Long> minus(Map<String, Long> after, Map<String, Long> before) {
    Map<String, Long> diff = new java.util.TreeMap<>();
    after.forEach((kind, n) -> diff.put(kind, n - before.getOrDefault(kind, 0L)));
    return diff;
  }

  private static String perAgent(Map<String, Long> requests, int nodes) {
    Map<String, Long> watches = new java.util.TreeMap<>();
    requests.forEach((kind, n) -> {
      if (kind.startsWith("WATCH ")) {
        watches.put(kind.substring(6), n / nodes);
      }
    });
    return watches.toString();
  }

  private static long usedHeapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** The heap once the agents' caches have taken in what changed: two readings 2 s apart within 2%. */
  private static long settledHeap() {
    long[] last = {usedHeapAfterGc()};
    Awaitility.await("the agents' heap settles").atMost(WAIT).pollDelay(Duration.ofSeconds(2))
        .pollInterval(Duration.ofSeconds(2)).until(() -> {
          long now = usedHeapAfterGc();
          boolean settled = Math.abs(now - last[0]) < 0.02 * now;
          last[0] = now;
          return settled;
        });
    return last[0];
  }

  static double percentile(List<Double> values, int p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
  }

  /**
   * Reads the node reports as they change: how many forwards every selected node reports in place,
   * and for each expected change the time until the last of its nodes reported it.
   */
  static final class Latencies implements AutoCloseable {
    private final int nodesPerForward;
    private final SharedIndexInformer<PortForwardNodeReport> reports;
    /** forward name -> nodes reporting it in place at its latest generation seen. */
    private final Map<String, Set<String>> inPlace = new ConcurrentHashMap<>();
    /** forward name -> the generation each node last reported in place. */
    private final Map<String, Map<String, Long>> reported = new ConcurrentHashMap<>();
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final List<Double> millis = Collections.synchronizedList(new ArrayList<>());

    private record Pending(long generation, long changed) {}

    private Latencies(KubernetesClient client, int nodesPerForward) {
      this.nodesPerForward = nodesPerForward;
      this.reports = client.resources(PortForwardNodeReport.class).inform(new ResourceEventHandler<>() {
        @Override public void onAdd(PortForwardNodeReport report) {
          seen(report);
        }

        @Override public void onUpdate(PortForwardNodeReport before, PortForwardNodeReport after) {
          seen(after);
        }

        @Override public void onDelete(PortForwardNodeReport report, boolean unknown) {}
      });
    }

    static Latencies watch(KubernetesClient client, int nodesPerForward) {
      return new Latencies(client, nodesPerForward);
    }

    private void seen(PortForwardNodeReport report) {
      if (report.getStatus() == null || report.getStatus().getForwards() == null) {
        return;
      }
      long now = System.nanoTime();
      String node = report.getMetadata().getName();
      for (ForwardReport f : report.getStatus().getForwards()) {
        if (f.isProgrammed()) {
          reported.computeIfAbsent(f.getName(), k -> new ConcurrentHashMap<>()).put(node, f.getGeneration());
          inPlace.computeIfAbsent(f.getName(), k -> ConcurrentHashMap.newKeySet()).add(node);
          check(f.getName(), now);
        }
      }
    }

    void expect(String name, long generation, long changed) {
      pending.merge(name, new Pending(generation, changed), (old, next) -> old.generation() >= generation ? old : next);
      check(name, System.nanoTime());
    }

    private synchronized void check(String name, long now) {
      Pending p = pending.get(name);
      Map<String, Long> generations = reported.getOrDefault(name, Map.of());
      if (p != null && generations.values().stream().filter(g -> g >= p.generation()).count() >= nodesPerForward) {
        pending.remove(name);
        millis.add((now - p.changed()) / 1e6);
      }
    }

    /** Forwards reported in place by as many nodes as each selects. */
    long programmed() {
      return inPlace.values().stream().filter(nodes -> nodes.size() >= nodesPerForward).count();
    }

    List<Double> await(Duration wait) {
      Awaitility.await("every change reported by all its nodes").atMost(wait).pollInterval(Duration.ofMillis(200))
          .until(pending::isEmpty);
      return List.copyOf(millis);
    }

    @Override
    public void close() {
      reports.close();
    }
  }

  private ScaleBench() {}
}
