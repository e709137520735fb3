package dev.portforward.bench;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NodeCluster;
import dev.portforward.testbed.NodeNetwork;
import dev.portforward.testbed.RealCluster;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;

/**
 * The peer of {@link RealAgents}: real kube-proxies in nftables mode, each in a network namespace
 * of its own on the nodes' network, against a real API server. The bench plays the EndpointSlice
 * controller: N selectorless Services with one slice of 10 endpoints each, and under churn a
 * slice's port changed, stamped with {@code endpoints.kubernetes.io/last-change-trigger-time} as
 * the controller does. A change counts as programmed when every kube-proxy's nftables holds the
 * DNAT to the new port, read from {@code nft monitor} in each namespace as the kernel commits it.
 * Also read: kube-proxy's own network programming SLI histogram, RSS and CPU.
 */
final class KubeProxyPeer implements AutoCloseable {

  private static final String NS = ScaleBench.NS;
  private static final int ENDPOINTS = 10;
  private static final int FIRST_PORT = 20000;
  private static final int CHURN_PORT = 40000;
  private static final Duration WAIT = Duration.ofMinutes(30);
  /** Where the Services' endpoints are; nothing is ever sent there. */
  private static final String ENDPOINT_PREFIX = "10.201.0.";
  /**
   * The port of a DNAT to an endpoint: "dnat to 10.201.0.1:80", or in a Service's map,
   * "dnat ip to numgen random mod 10 map { 0 : 10.201.0.1 . 80, ...".
   */
  private static final Pattern DNAT = Pattern.compile(
      "dnat .*?" + Pattern.quote(ENDPOINT_PREFIX) + "\\d+(?::| \\. )(\\d+)");
  private static final Pattern SLI_BUCKET = Pattern.compile(
      "^kubeproxy_network_programming_duration_seconds_bucket\\{.*le=\"([^\"]+)\".*\\} (\\S+)$");

  private final NodeNetwork network;
  private final ControlPlane cp;
  private final KubernetesClient client;
  private final List<String> namespaces = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private final List<Process> proxies = new ArrayList<>();
  /** DNAT port -> kube-proxy namespace -> when its nft monitor first showed a rule to that port. */
  private final Map<Integer, Map<String, Long>> seen = new ConcurrentHashMap<>();

  private KubeProxyPeer(NodeNetwork network, ControlPlane cp) {
    this.network = network;
    this.cp = cp;
    this.client = RealCluster.clientFor(cp);
  }

  /** One line for the bench's output: {@code proxies} kube-proxies, {@code services} Services, the same churn. */
  static String run(int proxies, int services, int churnRate, int churnSeconds) throws Exception {
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
    Path dir = Files.createTempDirectory(target, "bench-kube-proxy-");
    NodeNetwork network = NodeNetwork.create();
    List<String> names = IntStream.rangeClosed(1, proxies).mapToObj(i -> "proxy" + i).toList();
    try (network;
        ControlPlane cp = ControlPlane.startForNodes(Files.createDirectories(dir.resolve("control-plane")),
            new ControlPlane.NodeAccess(network.hostAddress(), names, NodeCluster.SERVICE_CIDR));
        KubeProxyPeer peer = new KubeProxyPeer(network, cp)) {
      ScaleBench.namespace(peer.client);
      for (int i = 1; i <= proxies; i++) {
        peer.startProxy(i, names.get(i - 1), dir);
      }
      long start = System.nanoTime();
      for (int j = 0; j < services; j++) {
        peer.service(j);
      }
      List<Integer> firstPorts = IntStream.range(0, services).mapToObj(j -> FIRST_PORT + j).toList();
      Awaitility.await("every kube-proxy programmed " + services + " Services").atMost(WAIT)
          .pollInterval(Duration.ofMillis(200)).until(() -> firstPorts.stream().allMatch(peer::everywhere));
      double programmed = (firstPorts.stream().mapToLong(peer::lastSeen).max().orElseThrow() - start) / 1e9;

      Map<Double, Long> sliBefore = peer.sliHistogram();
      ApiCost costBefore = ApiCost.now(peer.client, peer::proxiesCpu);
      Map<Integer, Long> changed = peer.churn(services, churnRate, churnSeconds);
      Awaitility.await("every change programmed by every kube-proxy").atMost(WAIT)
          .pollInterval(Duration.ofMillis(200)).until(() -> changed.keySet().stream().allMatch(peer::everywhere));
      ApiCost churning = ApiCost.now(peer.client, peer::proxiesCpu).minus(costBefore);
      List<Double> millis = changed.entrySet().stream()
          .map(e -> (peer.lastSeen(e.getKey()) - e.getValue()) / 1e6).toList();
      Map<Double, Long> sli = minus(peer.sliHistogram(), sliBefore);
      List<Long> rss = peer.proxies.stream().map(KubeProxyPeer::rssKiB).sorted().toList();
      return String.format("kube-proxy %s (nftables mode), %d nodes x %d Services: programmed in %.1f s; "
              + "p50 %.0f ms, p99 %.0f ms (nft monitor, %d changes); its own SLI histogram p50 <= %s s, "
              + "p99 <= %s s; RSS per kube-proxy %d MiB [%d-%d]; "
              + "CPU seconds (all kube-proxies, kube-apiserver, etcd) under churn: %s",
          version(cp), proxies, services, programmed, ScaleBench.percentile(millis, 50),
          ScaleBench.percentile(millis, 99), millis.size(), bucket(sli, 50), bucket(sli, 99),
          rss.get(rss.size() / 2) / 1024, rss.get(0) / 1024, rss.get(rss.size() - 1) / 1024,
          churning.cpuSecondsInLine());
    }
  }

  /**
   * A node namespace on the nodes' network with its Node object, {@code nft monitor} recording the
   * DNAT rules committed there, and kube-proxy in nftables mode.
   */
  private void startProxy(int index, String name, Path dir) throws IOException {
    String ns = network.prefix() + "-" + name;
    NodeNetwork.run("ip", "netns", "add", ns);
    namespaces.add(ns);
    NodeNetwork.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    network.plug(ns, network.prefix() + "h" + index, network.nodeAddress(index));
    // A Node's status is kept on create (as a kubelet registers); kube-proxy reads its address there.
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).endMetadata()
        .withStatus(new NodeStatusBuilder().addNewAddress().withType("InternalIP")
            .withAddress(network.nodeAddress(index)).endAddress().build()).build()).create();

    Process monitor = new ProcessBuilder("ip", "netns", "exec", ns, "stdbuf", "-oL", "nft", "monitor")
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    processes.add(monitor);
    Thread reader = new Thread(() -> record(ns, monitor), "nft-monitor-" + name);
    reader.setDaemon(true);
    reader.start();

    Path config = dir.resolve(name + ".yaml");
    // conntrack: all zero, so that kube-proxy leaves the machine-wide conntrack settings alone.
    Files.writeString(config, """
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        mode: nftables
        clientConnection: {kubeconfig: %s}
        hostnameOverride: %s
        clusterCIDR: %s
        conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
        """.formatted(cp.kubeconfig(), name, network.clusterCidr()));
    Process proxy = new ProcessBuilder("ip", "netns", "exec", ns,
        cp.binDirectory().resolve("kube-proxy").toString(), "--config=" + config)
        .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
    processes.add(proxy);
    proxies.add(proxy);
  }

  private void record(String ns, Process monitor) {
    try (BufferedReader lines = new BufferedReader(
        new InputStreamReader(monitor.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = lines.readLine()) != null; ) {
        long now = System.nanoTime();
        Matcher m = DNAT.matcher(line);
        if (line.startsWith("add rule") && m.find()) {
          seen.computeIfAbsent(Integer.parseInt(m.group(1)), p -> new ConcurrentHashMap<>()).putIfAbsent(ns, now);
        }
      }
    } catch (IOException e) {
      // The monitor was stopped.
    }
  }

  private boolean everywhere(int port) {
    return seen.getOrDefault(port, Map.of()).size() == namespaces.size();
  }

  private long lastSeen(int port) {
    return seen.get(port).values().stream().mapToLong(Long::longValue).max().orElseThrow();
  }

  /** Service {@code j}: selectorless, with one slice of {@link #ENDPOINTS} endpoints on port FIRST_PORT + j. */
  private void service(int j) {
    String name = "svc-" + j;
    client.services().resource(new ServiceBuilder().withNewMetadata().withNamespace(NS).withName(name).endMetadata()
        .withNewSpec().addNewPort().withProtocol("TCP").withPort(80).endPort().endSpec().build()).create();
    client.resource(slice(name, FIRST_PORT + j)).create();
  }

  private static EndpointSlice slice(String service, int port) {
    EndpointSliceBuilder slice = new EndpointSliceBuilder().withNewMetadata().withNamespace(NS).withName(service)
        .addToLabels("kubernetes.io/service-name", service)
        .addToLabels("endpointslice.kubernetes.io/managed-by", "bench.portforward.dev")
        .addToAnnotations("endpoints.kubernetes.io/last-change-trigger-time", Instant.now().toString())
        .endMetadata()
        .withAddressType("IPv4")
        .addNewPort().withName("").withProtocol("TCP").withPort(port).endPort();
    for (int e = 1; e <= ENDPOINTS; e++) {
      slice.addNewEndpoint().withAddresses(ENDPOINT_PREFIX + e).withNewConditions().withReady(true).endConditions()
          .endEndpoint();
    }
    return slice.build();
  }

  /**
   * Changes {@code rate} slices per second (a new port each) for {@code seconds}, as the hollow
   * nodes' churn changes a forward's target port; returns each new port and when it was written.
   */
  private Map<Integer, Long> churn(int services, int rate, int seconds) throws InterruptedException {
    Map<Integer, Long> changed = new TreeMap<>();
    long start = System.nanoTime();
    for (int k = 0; k < rate * seconds; k++) {
      long wait = start + (long) (k * 1e9 / rate) - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      String service = "svc-" + (k * 7919 % services);
      long now = System.nanoTime();
      client.resource(slice(service, CHURN_PORT + k)).update();
      changed.put(CHURN_PORT + k, now);
    }
    return changed;
  }

  /** Upper bound (seconds) -> cumulative count, summed over every kube-proxy's /metrics. */
  private Map<Double, Long> sliHistogram() throws IOException, InterruptedException {
    Map<Double, Long> buckets = new TreeMap<>();
    for (String ns : namespaces) {
      Process curl = new ProcessBuilder("ip", "netns", "exec", ns, "curl", "-sf", "http://127.0.0.1:10249/metrics")
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String metrics = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      curl.waitFor();
      metrics.lines().map(SLI_BUCKET::matcher).filter(Matcher::matches).forEach(m -> buckets.merge(
          m.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(1)),
          (long) Double.parseDouble(m.group(2)), Long::sum));
    }
    return buckets;
  }

  private static Map<Double, Long> minus(Map<Double, Long> after, Map<Double, Long> before) {
    Map<Double, Long> diff = new TreeMap<>();
    after.forEach((le, n) -> diff.put(le, n - before.getOrDefault(le, 0L)));
    return diff;
  }

  /** The least bucket bound that holds {@code p}% of the observations, or "-" for none. */
  private static String bucket(Map<Double, Long> cumulative, int p) {
    long total = cumulative.getOrDefault(Double.POSITIVE_INFINITY, 0L);
    return cumulative.entrySet().stream().filter(e -> total > 0 && e.getValue() * 100 >= (long) p * total)
        .map(e -> e.getKey().toString()).findFirst().orElse("-");
  }

  private Duration proxiesCpu() {
    return proxies.stream().map(p -> p.info().totalCpuDuration().orElse(Duration.ZERO))
        .reduce(Duration.ZERO, Duration::plus);
  }

  private static long rssKiB(Process process) {
    // The process started is ip netns exec, which execs kube-proxy in place: the same pid.
    try {
      return Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status")).stream()
          .filter(line -> line.startsWith("VmRSS:")).mapToLong(line -> Long.parseLong(line.replaceAll("[^0-9]", "")))
          .findFirst().orElseThrow();
    } catch (IOException e) {
      return 0;
    }
  }

  private static String version(ControlPlane cp) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cp.binDirectory().resolve("kube-proxy").toString(), "--version")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    p.waitFor();
    return out.substring(out.lastIndexOf(' ') + 1);
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.destroyForcibly();
    }
    for (Process p : processes) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    // Deleting a namespace deletes its nftables and the veth into the bridge.
    for (String ns : namespaces) {
      NodeNetwork.run("ip", "netns", "del", ns);
    }
    client.close();
  }
}
