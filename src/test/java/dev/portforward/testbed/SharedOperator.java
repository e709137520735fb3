package dev.portforward.testbed;

import java.util.Map;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension: one packaged operator process for the run, against {@link RealCluster}'s
 * control plane, with the test policy below; restarted before a test if an earlier test killed it.
 * Register it after {@link RealCluster}.
 */
public final class SharedOperator implements BeforeEachCallback {

  /** The policy every operator test runs under; tests rely on these values. */
  public static final Map<String, String> TEST_POLICY = Map.of(
      "portforward.policy.external-targets", "true",
      "portforward.policy.external-target-cidrs", "203.0.113.0/24",
      "portforward.policy.target-denylist", "198.51.100.0/24");

  private static OperatorProcess running;

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    get(context);
  }

  /** The running operator, started (again) if needed. */
  public static synchronized OperatorProcess get(ExtensionContext context) throws Exception {
    if (running == null || !running.isAlive()) {
      ControlPlane cp = RealCluster.shared(context).controlPlane();
      running = new OperatorProcess(cp, TEST_POLICY).start();
      OperatorProcess started = running;
      context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
          .put("operator-" + started.log(), (ExtensionContext.Store.CloseableResource) started::close);
    }
    return running;
  }
}
