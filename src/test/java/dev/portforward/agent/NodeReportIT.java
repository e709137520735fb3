package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.agent.nft.Nft;
import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The node's report is written only when it says something new, with server-side apply of its
 * status: resyncs that find nothing to do leave it alone (the same resourceVersion), and a change
 * it must report is written.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class NodeReportIT {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Pattern SYNCS = Pattern.compile("portforward_agent_sync_seconds_count(\\{[^}]*})? ([0-9.]+)");

  @Test
  void theReportIsWrittenOnlyWhenItSaysSomethingNew(KubernetesClient client, TestNamespace ns, ControlPlane cp)
      throws Exception {
    try (NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(client, ns)) {
      int port = uniquePort();
      node.forward("web", port);
      RoleProcess agent = node.agent(cp, hosts, Map.of("portforward.agent.resync-period", "1s")).start();
      try {
        awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), "pod1"::equals);
        PortForwardNodeReport first = report(client, node);
        String version = first.getMetadata().getResourceVersion();
        // One server-side apply of the status per change, by the agent's own field manager.
        assertThat(first.getMetadata().getManagedFields())
            .anySatisfy(fields -> {
              assertThat(fields.getManager()).isEqualTo("portforward-agent");
              assertThat(fields.getOperation()).isEqualTo("Apply");
              assertThat(fields.getSubresource()).isEqualTo("status");
            })
            .noneSatisfy(fields -> assertThat(fields.getOperation()).isEqualTo("Update"));
        assertThat(first.getMetadata().getOwnerReferences()).singleElement()
            .satisfies(owner -> assertThat(owner.getKind() + "/" + owner.getName()).isEqualTo("Node/" + node.name()));

        double before = syncs(agent);
        try {
          await("five resyncs").atMost(WAIT).until(() -> syncs(agent) >= before + 5);
        } catch (ConditionTimeoutException e) {
          throw new AssertionError("five resyncs: " + (syncs(agent) - before) + " in " + WAIT.toSeconds()
              + " s; the agent's sync thread: " + agent.threadStack("agent-sync"), e);
        }
        assertThat(report(client, node).getMetadata().getResourceVersion()).as("resyncs that find nothing new")
            .isEqualTo(version);

        // Something new: a second forward, which the report lists.
        node.forward("api", uniquePort());
        await().atMost(WAIT).until(() -> report(client, node).getStatus().getForwards().size(), n -> n == 2);
        assertThat(report(client, node).getMetadata().getResourceVersion()).isNotEqualTo(version);

        // A forward that selects the node and cannot be programmed there (it listens on an address
        // the node does not have) is counted for the alert "forwards not programmed".
        assertThat(agent.gauge("portforward_agent_forwards_unprogrammed")).isZero();
        node.forward("elsewhere", uniquePort(), spec -> spec.getListen().setAddresses(List.of("192.0.2.77")));
        await().atMost(WAIT).until(() -> agent.gauge("portforward_agent_forwards_unprogrammed"), n -> n == 1);
      } finally {
        agent.close();
      }
    }
  }

  @Test
  void aSyncThatThrowsAnErrorLeavesTheResyncsRunning(KubernetesClient client, TestNamespace ns) {
    try (OneNode node = OneNode.create(client, ns)) {
      // Once armed, the next listing of the table (a periodic resync's check for drift) throws an
      // Error, as a thread the JVM could not start would; every other command succeeds.
      AtomicBoolean armed = new AtomicBoolean();
      AtomicBoolean thrown = new AtomicBoolean();
      Nft nft = new Nft((stdin, withErrors, command) -> {
        if (armed.get() && command.contains("list") && thrown.compareAndSet(false, true)) {
          throw new OutOfMemoryError("unable to create native thread");
        }
        return "";
      });
      SimpleMeterRegistry metrics = new SimpleMeterRegistry();
      GatewayMappings noGateway = new GatewayMappings(Optional::empty, address -> {
        throw new IllegalStateException("no gateway");
      }, Clock.systemUTC(), Duration.ofHours(1));
      try (AgentLoop agent = new AgentLoop(client, node.name(), new NodeSync(nft), noGateway,
          NodePlanner.Policy.DEFAULT, Duration.ofMillis(100), Duration.ofMillis(200), metrics).start()) {
        await("first resyncs").atMost(WAIT).until(() -> metrics.timer("portforward.agent.sync").count() >= 2);
        armed.set(true);
        await("the Error").atMost(WAIT).untilTrue(thrown);
        long after = metrics.timer("portforward.agent.sync").count();
        await("resyncs after the Error").atMost(WAIT)
            .until(() -> metrics.timer("portforward.agent.sync").count() >= after + 3);
      }
    }
  }

  private static PortForwardNodeReport report(KubernetesClient client, OneNode node) {
    return client.resources(PortForwardNodeReport.class).withName(node.name()).get();
  }

  private static double syncs(RoleProcess agent) throws Exception {
    Matcher m = SYNCS.matcher(agent.get("/q/metrics").body());
    return m.find() ? Double.parseDouble(m.group(2)) : 0;
  }
}
