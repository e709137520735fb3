package dev.portforward.agent;

import dev.portforward.agent.nft.Nft;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.common.Cidr;
import dev.portforward.common.DeniedRange;
import dev.portforward.common.RoleReadiness;
import dev.portforward.gateway.DefaultRoute;
import dev.portforward.gateway.Gateways;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.NetUtil;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.Reception;
import java.net.InetAddress;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The node agent role: programs this node's forwards until stopped. Stopping leaves the rules in
 * place (established flows and new ones keep working while the agent restarts), unless the node
 * holds no forward, when the then empty table goes too (an uninstall leaves none);
 * {@code agent --cleanup} removes the agent's table whatever it holds.
 */
@ApplicationScoped
public class AgentRole {

  private static final Logger LOG = Logger.getLogger(AgentRole.class);

  private final KubernetesClient client;
  private final AgentConfig config;
  private final RoleReadiness readiness;
  private final MeterRegistry metrics;
  private volatile AgentLoop loop;

  AgentRole(KubernetesClient client, AgentConfig config, RoleReadiness readiness, MeterRegistry metrics) {
    this.client = client;
    this.config = config;
    this.readiness = readiness;
    this.metrics = metrics;
  }

  public int run(String... args) {
    NodeSync sync = new NodeSync(new Nft(config.commandPrefix().orElse(List.of())));
    GatewayMappings gateway = gatewayMappings();
    if (List.of(args).contains("--cleanup")) {
      sync.cleanup();
      try (gateway) {
        return removeGatewayMappings(gateway);
      }
    }
    String node = config.nodeName().orElseThrow(() -> new IllegalArgumentException(
        "portforward.agent.node-name (environment PORTFORWARD_AGENT_NODE_NAME) is required"));
    NodePlanner.Policy policy = policy();
    loop = new AgentLoop(client, node, sync, gateway, policy, config.minSyncInterval(), config.resyncPeriod(), metrics)
        .start();
    readiness.use("agent", loop::isProgrammed);
    Quarkus.waitForExit();
    return 0;
  }

  /**
   * SIGTERM: the loop stops inside the shutdown, which the JVM waits for (the main thread is not
   * waited for), and before Quarkus closes the client: an empty table and its gateway mappings
   * are removed whole.
   */
  void stopOnShutdown(@Observes(notifyObserver = Reception.IF_EXISTS) ShutdownEvent event) {
    if (loop != null) {
      loop.close();
    }
  }

  /** What the admin allows this node; a denylist entry that is no CIDR stops the agent at start-up. */
  private NodePlanner.Policy policy() {
    List<DeniedRange> denylist = config.targetDenylist().orElse(List.of()).stream().map(text -> {
      try {
        return new DeniedRange(Cidr.parse(text.strip()),
            "in the cluster's target denylist (chart value policy.targetDenylist)");
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("portforward.agent.target-denylist: " + e.getMessage(), e);
      }
    }).toList();
    LOG.infof("control-plane nodes carry forwards: %s; backends may be this node's addresses: %s; target denylist: %s",
        config.controlPlaneNodes(), config.nodeAddressTargets(), denylist.stream().map(d -> d.cidr().toString()).toList());
    return new NodePlanner.Policy(config.controlPlaneNodes(), denylist, config.nodeAddressTargets());
  }

  /**
   * Gateway mappings toward the configured gateway (checked now, so a bad setting stops the agent
   * at start-up), or else the node's default gateway, read whenever it is needed.
   */
  private GatewayMappings gatewayMappings() {
    AgentConfig.GatewaySettings settings = config.gateway();
    Optional<InetAddress> configured = settings.address().map(address -> {
      if (!NetUtil.isValidIpV4Address(address)) {
        throw new IllegalArgumentException("portforward.agent.gateway.address must be an IPv4 address, got " + address);
      }
      return Cidr.parseAddress(address);
    });
    Clock clock = Clock.systemUTC();
    return new GatewayMappings(() -> configured.or(DefaultRoute::gateway),
        address -> new Gateways(address, settings.discoveryTimeout(), clock), clock, settings.checkPeriod());
  }

  /**
   * Removes the gateway mappings the node's report lists, where the API server and the gateway
   * answer; mappings it cannot reach run out with their lease. Returns 0, or 1 when a listed
   * mapping could not be removed.
   */
  private int removeGatewayMappings(GatewayMappings gateway) {
    Optional<String> node = config.nodeName();
    if (node.isEmpty()) {
      return 0;
    }
    try {
      PortForwardNodeReport report = client.resources(PortForwardNodeReport.class).withName(node.get()).get();
      return report == null || gateway.removeAll(GatewayMappings.reported(report.getStatus()).values()) == 0 ? 0 : 1;
    } catch (KubernetesClientException e) {
      LOG.warnf("could not read node %s's report to remove its gateway mappings: %s", node.get(), e.getMessage());
      return 0;
    }
  }
}
