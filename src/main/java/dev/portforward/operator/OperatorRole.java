package dev.portforward.operator;

import dev.portforward.common.RoleReadiness;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.runtime.Quarkus;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The operator role: starts the reconcilers (with leader election in production) and runs until
 * the process is asked to stop.
 */
@ApplicationScoped
public class OperatorRole {

  private final Operator operator;
  private final ApiServerAddresses apiServer;
  private final RoleReadiness readiness;

  OperatorRole(Operator operator, ApiServerAddresses apiServer, RoleReadiness readiness) {
    this.operator = operator;
    this.apiServer = apiServer;
    this.readiness = readiness;
  }

  public int run(String... args) {
    apiServer.get();
    readiness.use("operator", () -> operator.getRuntimeInfo().isStarted()
        && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    operator.start();
    try {
      Quarkus.waitForExit();
    } finally {
      operator.stop();
    }
    return 0;
  }
}
