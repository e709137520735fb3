package dev.portforward.bench;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.NodeForward.Backend;
import dev.portforward.agent.NodeSync;
import dev.portforward.agent.nft.Nft;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/**
 * The node agent's data plane measured against itself and the plain routed path, in one run, in
 * network namespaces: DNAT throughput vs routing, new-connection rate with 10,000 forwards vs 1,
 * and the time to apply one change with 10,000 forwards vs 100. Run by bench/agent/run.sh.
 */
public final class AgentBench {

  /** The node's address, where every forward listens. */
  private static final List<java.net.InetAddress> NODE = List.of(Cidr.parseAddress(NodeTopology.NODE_IP));

  private static final int MANY = 10_000;

  public static void main(String[] args) throws Exception {
    try (NodeTopology hosts = NodeTopology.create()) {
      NetNs net = hosts.net;
      Nft nft = new Nft(NetNs.inside(hosts.node));
      NodeSync sync = new NodeSync(nft);
      String java = ProcessHandle.current().info().command().orElse("java");
      String classpath = System.getProperty("java.class.path");

      // Applying changes.
      double from100 = timeApply(sync, forwards(100, 0));
      double change100 = medianChange(sync, 100);
      sync.cleanup();
      double from10k = timeApply(sync, forwards(MANY, 0));
      double change10k = medianChange(sync, MANY);

      // Throughput: iperf3 routed straight to the pod, and through the node's DNAT.
      net.spawn(hosts.pod1, "iperf3", "-s", "-p", "5201");
      sync.sync(withBench(forwards(1, 0)));
      // Alternating runs, medians: one run of each on a shared 2-core machine says little.
      List<Double> routedRuns = new ArrayList<>();
      List<Double> dnatRuns = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        routedRuns.add(iperf(net, hosts, NodeTopology.POD1_IP, 5201));
        dnatRuns.add(iperf(net, hosts, NodeTopology.NODE_IP, 15201));
      }
      double routed = median(routedRuns);
      double dnat = median(dnatRuns);

      // New connections per second through the forward, with 1 forward and with 10,000.
      net.spawn(hosts.pod1, java, "-cp", classpath, ConnectRate.class.getName(), "server", "7000");
      sync.sync(withBench(forwards(1, 0)));
      Awaitility.await("connect server up").atMost(Duration.ofSeconds(60))
          .until(() -> hosts.tcpAsk(7000), "x"::equals);
      double rate1 = connectRate(net, hosts, java, classpath);
      sync.sync(withBench(forwards(MANY, 0)));
      double rate10k = connectRate(net, hosts, java, classpath);
      sync.cleanup();

      System.out.printf("%nnode agent data plane (network namespaces, 2 cores)%n");
      System.out.printf("  apply from scratch: 100 forwards %.0f ms, 10,000 forwards %.0f ms%n", from100, from10k);
      System.out.printf("  apply one change (median of 7): with 100 %.0f ms, with 10,000 %.0f ms  ratio %.2fx (goal <= 2x, < 150 ms)%n",
          change100, change10k, change10k / change100);
      System.out.printf("  TCP throughput (median of 5): routed %.2f Gbit/s, DNAT %.2f Gbit/s  ratio %.2fx (goal >= 0.95x)%n",
          routed / 1e9, dnat / 1e9, dnat / routed);
      System.out.printf("  new connections/s:  1 forward %.0f, 10,000 forwards %.0f  ratio %.2fx (goal >= 0.9x)%n",
          rate1, rate10k, rate10k / rate1);
    }
  }

  /** {@code count} forwards on ports 20000+, the first {@code changed} with a different backend. */
  private static List<NodeForward> forwards(int count, int changed) {
    List<NodeForward> forwards = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String backend = i < changed ? NodeTopology.POD2_IP : NodeTopology.POD1_IP;
      forwards.add(new NodeForward("bench", "f" + i, 1, Protocol.TCP, NODE, 20000 + i, List.of(), List.of(),
          List.of(new Backend(Cidr.parseAddress(backend), 8080))));
    }
    return forwards;
  }

  /** Adds the two forwards the measurements use: 15201 to iperf3, 7000 to the connect server. */
  private static List<NodeForward> withBench(List<NodeForward> forwards) {
    List<NodeForward> all = new ArrayList<>(forwards);
    all.add(new NodeForward("bench", "iperf", 1, Protocol.TCP, NODE, 15201, List.of(), List.of(),
        List.of(new Backend(Cidr.parseAddress(NodeTopology.POD1_IP), 5201))));
    all.add(new NodeForward("bench", "connect", 1, Protocol.TCP, NODE, 7000, List.of(), List.of(),
        List.of(new Backend(Cidr.parseAddress(NodeTopology.POD1_IP), 7000))));
    return all;
  }

  /** One forward's backend moves back and forth; the median of 7 such changes. */
  private static double medianChange(NodeSync sync, int count) {
    List<Double> times = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      times.add(timeApply(sync, forwards(count, i % 2 == 0 ? 1 : 0)));
    }
    return median(times);
  }

  private static double median(List<Double> values) {
    return values.stream().sorted().toList().get(values.size() / 2);
  }

  private static double timeApply(NodeSync sync, List<NodeForward> forwards) {
    long start = System.nanoTime();
    NodeSync.Outcome outcome = sync.sync(forwards);
    if (outcome.error() != null) {
      throw new IllegalStateException(outcome.error());
    }
    return (System.nanoTime() - start) / 1e6;
  }

  private static double iperf(NetNs net, NodeTopology hosts, String address, int port) {
    String json = net.exec(hosts.client, "iperf3", "-c", address, "-p", String.valueOf(port), "-t", "3", "-J");
    Matcher m = Pattern.compile("\"sum_received\":\\s*\\{[^}]*\"bits_per_second\":\\s*([0-9.e+]+)").matcher(json);
    if (!m.find()) {
      throw new IllegalStateException("no iperf3 result: " + json);
    }
    return Double.parseDouble(m.group(1));
  }

  private static double connectRate(NetNs net, NodeTopology hosts, String java, String classpath) {
    return Double.parseDouble(net.exec(hosts.client, java, "-cp", classpath, ConnectRate.class.getName(), "client",
        NodeTopology.NODE_IP, "7000", "5").strip());
  }

  private AgentBench() {}
}
