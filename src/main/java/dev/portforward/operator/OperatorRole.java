package dev.portforward.operator;

import dev.portforward.common.RoleReadiness;
import dev.portforward.operator.gatewayapi.GatewayApiControllers;
import dev.portforward.operator.sidecar.SidecarWebhook;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The operator role: starts the reconcilers (with leader election in production) and, when
 * enabled, the sidecar injection webhook (on every replica) and the Gateway API controllers (once
 * the Gateway API is served), and runs until the process is asked to stop. {@code operator --uninstall} instead deletes every PortForward and waits for the
 * data plane to let them go ({@link Uninstall}).
 */
@ApplicationScoped
public class OperatorRole {

  private final Operator operator;
  private final ApiServerAddresses apiServer;
  private final RoleReadiness readiness;
  private final OperatorConfig config;
  private final KubernetesClient client;
  private final MeterRegistry metrics;
  private final LeaderElectionConfiguration leaderElection;

  OperatorRole(Operator operator, ApiServerAddresses apiServer, RoleReadiness readiness, OperatorConfig config,
      KubernetesClient client, MeterRegistry metrics, LeaderElectionConfiguration leaderElection) {
    this.operator = operator;
    this.apiServer = apiServer;
    this.readiness = readiness;
    this.config = config;
    this.client = client;
    this.metrics = metrics;
    this.leaderElection = leaderElection;
  }

  public int run(String... args) throws IOException, InterruptedException {
    if (List.of(args).contains("--uninstall")) {
      return new Uninstall(client, config.uninstall().timeout(),
          config.webhook().namespace().or(() -> Optional.ofNullable(client.getNamespace()))
              .map(namespace -> new Uninstall.SecretRef(namespace, config.webhook().secretName())))
          .run();
    }
    apiServer.get();
    SidecarWebhook webhook = config.webhook().enabled() ? SidecarWebhook.start(client, config, metrics) : null;
    readiness.use("operator", () -> operator.getRuntimeInfo().isStarted()
        && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    operator.start();
    GatewayApiControllers gatewayApi = config.gatewayApi().enabled()
        ? GatewayApiControllers.start(client, leaderElection, config.gatewayApi().discoveryInterval()) : null;
    try {
      Quarkus.waitForExit();
    } finally {
      if (gatewayApi != null) {
        gatewayApi.close();
      }
      operator.stop();
      if (webhook != null) {
        webhook.close();
      }
    }
    return 0;
  }
}
