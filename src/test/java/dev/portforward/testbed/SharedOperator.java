package dev.portforward.testbed;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: one packaged operator process for the run, against {@link RealCluster}'s
 * control plane, with the test settings below; restarted before a test if an earlier test killed it.
 * Tests receive it as an {@link RoleProcess} parameter. Register it after {@link RealCluster}.
 */
public final class SharedOperator implements BeforeEachCallback, ParameterResolver {

  /** How long a deleted forward waits for a node that does not report it gone. */
  public static final Duration DATA_PLANE_TIMEOUT = Duration.ofSeconds(20);

  /** The settings every operator test runs under; tests rely on these values. */
  public static final Map<String, String> TEST_SETTINGS = Map.of(
      "portforward.metrics.per-resource", "true",
      "portforward.policy.external-targets", "true",
      "portforward.policy.external-target-cidrs", "203.0.113.0/24",
      "portforward.policy.target-denylist", "198.51.100.0/24",
      "portforward.policy.socks5", "true",
      "portforward.policy.gateway-mapping", "true",
      "portforward.tunnels.enabled", "true",
      // SshTunnelOperatorIT waits for the tunnel server's reports.
      "portforward.tunnels.status-interval", "3s",
      // DeletionHoldIT waits for this bound with a stopped agent.
      "portforward.deletion.data-plane-timeout", DATA_PLANE_TIMEOUT.getSeconds() + "s");

  private static RoleProcess running;

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    get(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == RoleProcess.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return running;
  }

  private static synchronized void get(ExtensionContext context) throws Exception {
    if (running == null) {
      running = RoleProcess.operator(RealCluster.shared(context).controlPlane(), TEST_SETTINGS);
      context.getRoot().getStore(ExtensionContext.Namespace.create(SharedOperator.class))
          .put(RoleProcess.class, running);
    }
    if (!running.isAlive()) {
      running.start();
    }
  }
}
