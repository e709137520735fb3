package dev.portforward.operator;

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

  OperatorRole(Operator operator, ApiServerAddresses apiServer) {
    this.operator = operator;
    this.apiServer = apiServer;
  }

  public int run(String... args) {
    apiServer.get();
    operator.start();
    try {
      Quarkus.waitForExit();
    } finally {
      operator.stop();
    }
    return 0;
  }
}
