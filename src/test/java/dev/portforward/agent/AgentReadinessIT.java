package dev.portforward.agent;

import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import dev.portforward.testbed.NodeTopology;
import dev.portforward.testbed.OneNode;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The agent is ready only while its node's rules are in place: a real agent process whose nft
 * transactions fail (nft under a wrapper that refuses every {@code nft -f} while a flag file
 * exists, as a kernel refusing a batch would) turns not ready, keeps the rules it had, and turns
 * ready again once a sync puts the rules in place.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class AgentReadinessIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void readinessDropsWhileTheRulesCannotBeAppliedAndReturnsOnceTheyAre(KubernetesClient client, TestNamespace ns,
      ControlPlane cp) throws Exception {
    Path flag = Files.createTempFile("nft-fails-", "");
    Files.delete(flag);
    Path wrapper = Files.createTempFile("nft-wrapper-", ".sh", PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    try (NodeTopology hosts = NodeTopology.create(); OneNode node = OneNode.create(client, ns)) {
      Files.writeString(wrapper, "#!/bin/bash\n"
          + "if [ -e " + flag + " ] && [ \"$1\" = nft ] && [ \"$2\" = -f ]; then\n"
          + "  echo 'Error: injected' >&2; exit 1\n"
          + "fi\n"
          + "exec " + String.join(" ", NetNs.inside(hosts.node)) + " \"$@\"\n");
      int port = uniquePort();
      node.forward("web", port);
      RoleProcess agent = RoleProcess.agent(cp, Map.of(
          "portforward.agent.node-name", node.name(),
          "portforward.agent.command-prefix", wrapper.toString(),
          "portforward.agent.resync-period", "1s")).start();
      try {
        awaitCondition(client, ns.name(), "web", Conditions.READY, "True", Conditions.Reason.READY);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(port), "pod1"::equals);
        assertThat(readiness(agent)).isEqualTo(200);

        // A change the kernel refuses to apply: not ready, and the rules in place keep working.
        Files.createFile(flag);
        int apiPort = uniquePort();
        node.forward("api", apiPort);
        await("not ready while nft fails").atMost(WAIT).until(() -> readiness(agent), status -> status == 503);
        assertThat(hosts.tcpAsk(port)).as("the previous rules stay in force").isEqualTo("pod1");
        assertThat(Files.readString(agent.log())).contains("applying the ruleset failed", "injected");
        await("still not ready at the next resyncs").during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
            .until(() -> readiness(agent), status -> status == 503);

        // The kernel accepts again: the next sync puts the rules in place and the agent is ready.
        Files.delete(flag);
        await("ready again").atMost(WAIT).until(() -> readiness(agent), status -> status == 200);
        await().atMost(WAIT).until(() -> hosts.tcpAsk(apiPort), "pod1"::equals);
      } finally {
        agent.close();
      }
    } finally {
      Files.deleteIfExists(flag);
      Files.deleteIfExists(wrapper);
    }
  }

  private static int readiness(RoleProcess agent) throws Exception {
    return agent.get("/q/health/ready").statusCode();
  }
}
