package dev.portforward.testbed;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: one {@link NodeCluster} of real nodes for the whole test run (started on
 * first use, torn down when the run ends; two nodes, -Dtestbed.nodes=N for another count), with the CRDs from
 * crds/ installed and a fresh namespace per test. Tests receive the {@link NodeCluster}, its
 * {@link KubernetesClient} and their {@link TestNamespace}. Skipped, saying why, where nodes
 * cannot run (not root, no runc or CNI plugins).
 */
public final class RealNodes implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {

  private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(RealNodes.class);

  /** The run's cluster; closed by JUnit when the root context closes. */
  record Shared(NodeCluster cluster) implements ExtensionContext.Store.CloseableResource, AutoCloseable {
    @Override
    public void close() {
      cluster.close();
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    assumeTrue("root".equals(System.getProperty("user.name")), "skipped: real nodes need root");
    assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runc")) || Files.isExecutable(Path.of("/usr/bin/runc")),
        "skipped: real nodes need runc (Debian package runc)");
    assumeTrue(Files.isExecutable(Path.of("/usr/lib/cni/bridge")),
        "skipped: real nodes need the CNI plugins (Debian package containernetworking-plugins)");
    assumeTrue(System.getProperty("testbed.runtime") != null
        || Files.exists(ControlPlane.projectRoot().resolve("test-cluster/runtime/build.sh")),
        "skipped: real nodes need containerd and the node images (test-cluster/runtime/build.sh)");
    shared(context);
  }

  /** The run's cluster, started on first use. */
  public static NodeCluster shared(ExtensionContext context) {
    return context.getRoot().getStore(STORE).getOrComputeIfAbsent(Shared.class, k -> startShared(), Shared.class)
        .cluster();
  }

  private static Shared startShared() {
    try {
      Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
      Path dir = Files.createTempDirectory(target, "nodes-");
      int nodes = Integer.getInteger("testbed.nodes", 2);
      NodeCluster cluster = NodeCluster.start(dir, nodes, List.of());
      RealCluster.installCrds(cluster.client());
      return new Shared(cluster);
    } catch (Exception e) {
      throw new IllegalStateException("could not start the real-node cluster: " + e.getMessage(), e);
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    String name = "n-" + UUID.randomUUID().toString().substring(0, 8);
    KubernetesClient client = shared(context).client();
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    client.serviceAccounts().inNamespace(name).withName("default")
        .waitUntilCondition(Objects::nonNull, 1, TimeUnit.MINUTES);
    context.getStore(STORE).put(TestNamespace.class, new TestNamespace(name));
  }

  @Override
  public void afterEach(ExtensionContext context) {
    TestNamespace ns = context.getStore(STORE).get(TestNamespace.class, TestNamespace.class);
    if (ns != null) {
      shared(context).client().namespaces().withName(ns.name()).delete();
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == NodeCluster.class || type == KubernetesClient.class || type == TestNamespace.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    if (type == NodeCluster.class) {
      return shared(context);
    }
    if (type == KubernetesClient.class) {
      return shared(context).client();
    }
    return context.getStore(STORE).get(TestNamespace.class, TestNamespace.class);
  }
}
