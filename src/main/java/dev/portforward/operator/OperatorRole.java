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
 * the Gateway API is served), and runs until the process is asked to stop ({@link OperatorLifecycle}
 * stops them). {@code operator --uninstall} instead deletes every PortForward and waits for the
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
  private final OperatorLifecycle lifecycle;

  OperatorRole(Operator operator, ApiServerAddresses apiServer, RoleReadiness readiness, OperatorConfig config,
      KubernetesClient client, MeterRegistry metrics, OperatorLifecycle lifecycle) {
    this.operator = operator;
    this.apiServer = apiServer;
    this.readiness = readiness;
    this.config = config;
    this.client = client;
    this.metrics = metrics;
    this.lifecycle = lifecycle;
  }

  public int run(String... args) throws IOException, InterruptedException {
    if (List.of(args).contains("--uninstall")) {
      return new Uninstall(client, config.uninstall().timeout(),
          config.webhook().namespace().or(() -> Optional.ofNullable(client.getNamespace()))
              .map(namespace -> new Uninstall.SecretRef(namespace, config.webhook().secretName())))
          .run();
    }
    apiServer.get();
    if (config.webhook().enabled()) {
      lifecycle.stopOnShutdown(SidecarWebhook.start(client, config, metrics));
    }
    readiness.use("operator", () -> operator.getRuntimeInfo().isStarted()
        && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    operator.start();
    lifecycle.stopOnShutdown(operator::stop);
    if (config.gatewayApi().enabled()) {
      lifecycle.stopOnShutdown(GatewayApiControllers.start(client, gatewayApiLeaderElection(),
          lifecycle.informerStopped(), config.gatewayApi().discoveryInterval()));
    }
    Quarkus.waitForExit();
    return lifecycle.failed() ? 1 : 0;
  }

  /** The Gateway API controllers run in a framework instance of their own, with a lease of their own. */
  private LeaderElectionConfiguration gatewayApiLeaderElection() {
    OperatorConfig.LeaderElection le = config.leaderElection();
    return lifecycle.leaderElection(le.leaseName() + "-gateway-api", le.leaseNamespace().orElse(null),
        le.leaseDuration(), le.renewDeadline(), le.retryPeriod());
  }
}
