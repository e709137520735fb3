package dev.portforward.agent;

import dev.portforward.agent.nft.Nft;
import io.fabric8.kubernetes.client.KubernetesClient;
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

  AgentRole(KubernetesClient client, AgentConfig config) {
    this.client = client;
    this.config = config;
  }

  public int run(String... args) {
    NodeSync sync = new NodeSync(new Nft(config.commandPrefix().orElse(List.of())));
    if (List.of(args).contains("--cleanup")) {
      sync.cleanup();
      return 0;
    }
    String node = config.nodeName().orElseThrow(() -> new IllegalArgumentException(
        "portforward.agent.node-name (environment PORTFORWARD_AGENT_NODE_NAME) is required"));
    try (AgentLoop loop = new AgentLoop(client, node, sync, config.minSyncInterval(), config.resyncPeriod()).start()) {
      Quarkus.waitForExit();
    }
    return 0;
  }
}
