package dev.portforward.agent;

import dev.portforward.agent.nft.Nft;
import dev.portforward.common.RoleReadiness;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/**
 * The node agent role: programs this node's forwards until stopped. Stopping leaves the rules in
 * place (established flows and new ones keep working while the agent restarts); only
 * {@code agent --cleanup} removes the agent's table.
 */
@ApplicationScoped
public class AgentRole {

  private final KubernetesClient client;
  private final AgentConfig config;
  private final RoleReadiness readiness;
  private final MeterRegistry metrics;

  AgentRole(KubernetesClient client, AgentConfig config, RoleReadiness readiness, MeterRegistry metrics) {
    this.client = client;
    this.config = config;
    this.readiness = readiness;
    this.metrics = metrics;
  }

  public int run(String... args) {
    NodeSync sync = new NodeSync(new Nft(config.commandPrefix().orElse(List.of())));
    if (List.of(args).contains("--cleanup")) {
      sync.cleanup();
      return 0;
    }
    String node = config.nodeName().orElseThrow(() -> new IllegalArgumentException(
        "portforward.agent.node-name (environment PORTFORWARD_AGENT_NODE_NAME) is required"));
    try (AgentLoop loop = new AgentLoop(client, node, sync, config.minSyncInterval(), config.resyncPeriod(), metrics)
        .start()) {
      readiness.use("agent", loop::isProgrammed);
      Quarkus.waitForExit();
    }
    return 0;
  }
}
