package dev.portforward.bench;

import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;

/**
 * The agent on the same footing as {@link KubeProxyPeer}: real agent processes, each programming
 * real nftables in a network namespace of its own, with the real operator and API server; every
 * PortForward selects every node (as every Service is on every kube-proxy), and the churn is the
 * hollow nodes' (a forward's target port changed -> every node reports the new generation in place).
 */
final class RealAgents {

  private static final Duration WAIT = Duration.ofMinutes(30);

  private RealAgents() {}

  /** One line for the bench's output: {@code nodes} agents, {@code forwards} PortForwards. */
  static String run(int nodes, int forwards, int churnRate, int churnSeconds) throws Exception {
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
    try (NetNs net = NetNs.create();
        ControlPlane cp = ControlPlane.start(Files.createTempDirectory(target, "bench-real-agents-"));
        KubernetesClient client = RealCluster.clientFor(cp)) {
      RealCluster.installCrds(client);
      ScaleBench.namespace(client);
      InstalledChart.applyFinalizerPolicy(client, "portforward-operator", ScaleBench.NS);
      ScaleBench.backends(client);
      List<RoleProcess> agents = new ArrayList<>();
      try (RoleProcess operator = RoleProcess.operator(cp, Map.of()).start();
          ScaleBench.Latencies latencies = ScaleBench.Latencies.watch(client, nodes)) {
        for (int i = 1; i <= nodes; i++) {
          agents.add(agent(cp, client, net, i));
        }
        Awaitility.await("every agent reported").atMost(WAIT).pollInterval(Duration.ofSeconds(1))
            .until(() -> client.resources(PortForwardNodeReport.class).list().getItems().size() == nodes);
        long start = System.nanoTime();
        ScaleBench.apply(client, forwards, 1);
        Awaitility.await("all " + forwards + " Programmed").atMost(WAIT).pollInterval(Duration.ofMillis(200))
            .until(() -> latencies.programmed() == forwards);
        double programmed = (System.nanoTime() - start) / 1e9;

        ApiCost before = ApiCost.now(client, () -> cpu(agents));
        Duration operatorBefore = operator.cpuTime();
        double[] syncsBefore = syncs(agents);
        double held = ScaleBench.churn(client, latencies, forwards, churnRate, churnSeconds);
        List<Double> millis = latencies.await(WAIT);
        ApiCost churning = ApiCost.now(client, () -> cpu(agents)).minus(before);
        Duration operatorCpu = operator.cpuTime().minus(operatorBefore);
        double[] syncsAfter = syncs(agents);
        double syncCount = syncsAfter[0] - syncsBefore[0];
        List<Long> rss = agents.stream().map(RealAgents::rssKiB).sorted().toList();
        return String.format("portforward agents (real nftables), %d nodes x %d PortForwards: programmed in %.1f s; "
                + "p50 %.0f ms, p99 %.0f ms (node reports, %d changes at %.1f/s); RSS per agent %d MiB [%d-%d]; "
                + "operator %d MiB; CPU seconds (all agents, kube-apiserver, etcd) under churn: %s, operator %.1f; "
                + "syncs per agent %.0f, %.0f ms each on average (the nft and conntrack commands included); "
                + "API writes per change: %s",
            nodes, forwards, programmed, ScaleBench.percentile(millis, 50), ScaleBench.percentile(millis, 99),
            millis.size(), held, rss.get(rss.size() / 2) / 1024, rss.get(0) / 1024, rss.get(rss.size() - 1) / 1024,
            operator.rssKiB() / 1024, churning.cpuSecondsInLine(),
            operatorCpu.toMillis() / 1000.0, syncCount / nodes, (syncsAfter[1] - syncsBefore[1]) * 1000 / syncCount,
            churning.writesPer(churnRate * churnSeconds));
      } finally {
        for (RoleProcess agent : agents) {
          agent.close();
        }
      }
    }
  }

  /**
   * Node {@code i}: its Node object (InternalIP 10.200.0.i, which only the rules name: nothing is
   * sent there) and an agent running nft and conntrack inside a namespace of its own.
   */
  private static RoleProcess agent(ControlPlane cp, KubernetesClient client, NetNs net, int i) throws IOException {
    String name = "node-" + i;
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
        .addToLabels(HollowNodes.POOL_LABEL, HollowNodes.pool(0)).endMetadata()
        .withStatus(new NodeStatusBuilder().addNewAddress().withType("InternalIP").withAddress("10.200.0." + i)
            .endAddress().addNewCondition().withType("Ready").withStatus("True").endCondition().build())
        .build()).create();
    return RoleProcess.agent(cp, Map.of(
        "portforward.agent.node-name", name,
        "portforward.agent.command-prefix", String.join(",", NetNs.inside(net.host(name))))).start();
  }

  /** The agents' syncs so far, all together: [count, seconds spent]. */
  private static double[] syncs(List<RoleProcess> agents) throws IOException, InterruptedException {
    double[] total = new double[2];
    for (RoleProcess agent : agents) {
      total[0] += agent.gauge("portforward_agent_sync_seconds_count");
      total[1] += agent.gauge("portforward_agent_sync_seconds_sum");
    }
    return total;
  }

  private static Duration cpu(List<RoleProcess> agents) {
    return agents.stream().map(RoleProcess::cpuTime).reduce(Duration.ZERO, Duration::plus);
  }

  private static long rssKiB(RoleProcess process) {
    try {
      return process.rssKiB();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
