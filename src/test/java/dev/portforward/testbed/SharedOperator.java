package dev.portforward.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

  /** A host name only the test operators resolve (to an allowed external address of RelayDeploymentIT). */
  public static final String BACKEND_NAME = "backend.portforward.test";
  /** A host name only the test operators resolve, to an address in the test denylist. */
  public static final String DENIED_NAME = "denied.portforward.test";

  /**
   * The hosts file the test operators resolve names with (jdk.net.hosts.file): the machine's own
   * /etc/hosts plus the two names above, so a test can give a target by name without DNS.
   */
  private static final Path HOSTS = hostsFile();

  /** The settings every operator test runs under; tests rely on these values. */
  public static final Map<String, String> TEST_SETTINGS = Map.ofEntries(
      Map.entry("jdk.net.hosts.file", HOSTS.toString()),
      Map.entry("portforward.metrics.per-resource", "true"),
      Map.entry("portforward.policy.external-targets", "true"),
      Map.entry("portforward.policy.external-target-cidrs", "203.0.113.0/24"),
      Map.entry("portforward.policy.target-denylist", "198.51.100.0/24"),
      Map.entry("portforward.policy.socks5", "true"),
      Map.entry("portforward.policy.gateway-mapping", "true"),
      Map.entry("portforward.tunnels.enabled", "true"),
      // SshTunnelOperatorIT waits for the tunnel server's reports.
      Map.entry("portforward.tunnels.status-interval", "3s"),
      // DeletionHoldIT waits for this bound with a stopped agent.
      Map.entry("portforward.deletion.data-plane-timeout", DATA_PLANE_TIMEOUT.getSeconds() + "s"),
      // GatewayApiOperatorIT installs the Gateway API CRDs after the operator has started.
      Map.entry("portforward.gateway-api.enabled", "true"),
      Map.entry("portforward.gateway-api.discovery-interval", "2s"));

  private static RoleProcess running;

  private static Path hostsFile() {
    try {
      Path file = ControlPlane.projectRoot().resolve("target/testbed-hosts");
      Files.createDirectories(file.getParent());
      Files.writeString(file, Files.readString(Path.of("/etc/hosts")).stripTrailing() + "\n"
          + "203.0.113.10 " + BACKEND_NAME + "\n"
          + "198.51.100.7 " + DENIED_NAME + "\n");
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

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
