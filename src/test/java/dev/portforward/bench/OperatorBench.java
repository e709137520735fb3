package dev.portforward.bench;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.awaitility.Awaitility;

/**
 * Time from apply to Accepted for N PortForwards on a real API server, for this operator and for a
 * no-op operator that only writes status (same framework, same API server, same client load), and
 * the operator's resident memory with 0 and N PortForwards. Prints the ratios that matter.
 * Run by bench/operator/run.sh.
 */
public final class OperatorBench {

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
    try (ControlPlane cp = ControlPlane.start(Files.createTempDirectory(target, "bench-"));
        KubernetesClient client = RealCluster.clientFor(cp)) {
      RealCluster.installCrds(client);
      // As the chart installs it: new forwards carry the operator's finalizer from their creation.
      InstalledChart.applyFinalizerPolicy(client, "portforward-operator", namespace(client, "portforward-system"));

      Duration ours;
      ApiCost ourCost;
      long rssIdle;
      long rssLoaded;
      long liveHeap;
      try (RoleProcess operator = RoleProcess.operator(cp, Map.of()).start()) {
        rssIdle = operator.rssKiB();
        String ns = namespace(client, "bench-operator");
        ApiCost before = ApiCost.now(client, operator::cpuTime);
        ours = applyAndAwaitAccepted(client, ns, count);
        ourCost = ApiCost.now(client, operator::cpuTime).minus(before);
        rssLoaded = operator.rssKiB();
        liveHeap = operator.liveHeapKiB();
      }

      Duration noop;
      ApiCost noopCost;
      String ns = namespace(client, "bench-noop");
      String classpath = System.getProperty("java.class.path");
      ProcessBuilder launch = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
          "-Xmx256m", "-cp", classpath, NoopStatusOperator.class.getName(), ns)
          .redirectErrorStream(true)
          .redirectOutput(cp.directory().resolve("noop.log").toFile());
      launch.environment().put("KUBECONFIG", cp.kubeconfig().toString());
      Process baseline = launch.start();
      Supplier<Duration> noopCpu = () -> baseline.info().totalCpuDuration().orElseThrow();
      try {
        ApiCost before = ApiCost.now(client, noopCpu);
        noop = applyAndAwaitAccepted(client, ns, count);
        noopCost = ApiCost.now(client, noopCpu).minus(before);
      } finally {
        baseline.destroy();
        baseline.waitFor(20, TimeUnit.SECONDS);
      }

      System.out.printf("%n%d PortForwards, apply -> Accepted (real API server, 2 cores)%n", count);
      System.out.printf("  portforward-operator  %6d ms%n", ours.toMillis());
      System.out.printf("  no-op status writer   %6d ms%n", noop.toMillis());
      System.out.printf("  ratio                 %6.2fx%n", (double) ours.toMillis() / noop.toMillis());
      System.out.printf("API writes per forward (all clients, the bench's own create among them)%n");
      System.out.printf("  portforward-operator  %s%n", ourCost.writesPer(count));
      System.out.printf("  no-op status writer   %s%n", noopCost.writesPer(count));
      System.out.printf("CPU seconds while applying   operator/writer  kube-apiserver  etcd%n");
      System.out.printf("  portforward-operator  %s%n", ourCost.cpuSeconds());
      System.out.printf("  no-op status writer   %s%n", noopCost.cpuSeconds());
      System.out.printf("operator RSS: %d MiB with 0 PortForwards, %d MiB with %d%n",
          rssIdle / 1024, rssLoaded / 1024, count);
      System.out.printf("operator live heap with %d PortForwards: %d MiB (of -Xmx256m, as RoleProcess starts it)%n",
          count, liveHeap / 1024);
    }
    // The client's event loops are not daemon threads.
    System.exit(0);
  }

  private static String namespace(KubernetesClient client, String name) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    return name;
  }

  /**
   * Creates {@code count} forwards from 4 client threads and waits until all are Accepted, counted
   * in a watch's cache: polling lists of thousands of forwards would load the API server that both
   * operators share.
   */
  private static Duration applyAndAwaitAccepted(KubernetesClient client, String ns, int count) throws Exception {
    try (SharedIndexInformer<PortForward> seen = client.resources(PortForward.class).inNamespace(ns).inform()) {
      return applyAndAwaitAccepted(client, ns, count, seen);
    }
  }

  private static Duration applyAndAwaitAccepted(KubernetesClient client, String ns, int count,
      SharedIndexInformer<PortForward> seen) throws Exception {
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < count; i++) {
      // Below the NodePort range (30000-32767), which the operator reserves.
      PortForward pf = PortForwards.toService(ns, "pf-" + i, 20000 + i, "web", 80, spec -> {});
      pool.execute(() -> client.resource(pf).create());
    }
    pool.shutdown();
    pool.awaitTermination(30, TimeUnit.MINUTES);
    Awaitility.await("all " + count + " Accepted in " + ns)
        .atMost(Duration.ofMinutes(30))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> seen.getStore().list().stream()
            .filter(pf -> PortForwards.condition(pf, "Accepted").filter(c -> "True".equals(c.getStatus())).isPresent())
            .count() == count);
    return Duration.ofNanos(System.nanoTime() - start);
  }

  private OperatorBench() {}
}
