package dev.portforward.testbed;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: one real control plane for the whole test run (started on first use,
 * stopped when the run ends), the CRD from crds/ installed, and a fresh namespace per test.
 * Tests receive a {@link KubernetesClient}, the {@link ControlPlane} and their {@link TestNamespace}
 * as parameters.
 */
public final class RealCluster
    implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {

  private static final ExtensionContext.Namespace STORE = ExtensionContext.Namespace.create(RealCluster.class);

  /** Started once per JVM; closed by JUnit when the root context closes. */
  record Shared(ControlPlane controlPlane, KubernetesClient client)
      implements ExtensionContext.Store.CloseableResource, AutoCloseable {
    @Override
    public void close() {
      client.close();
      controlPlane.close();
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    shared(context);
  }

  /** The run's control plane, for code outside a test method (for example the operator launcher). */
  public static Shared shared(ExtensionContext context) {
    return context.getRoot().getStore(STORE).getOrComputeIfAbsent(Shared.class, k -> startShared(), Shared.class);
  }

  private static Shared startShared() {
    try {
      // Under target/, so that the logs of a failed run stay for reading and `mvn clean` removes them.
      Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
      Path dir = Files.createTempDirectory(target, "testbed-");
      ControlPlane cp = ControlPlane.start(dir);
      KubernetesClient client = clientFor(cp);
      installCrds(client);
      return new Shared(cp, client);
    } catch (Exception e) {
      throw new IllegalStateException("could not start the test control plane: " + e.getMessage(), e);
    }
  }

  public static KubernetesClient clientFor(ControlPlane cp) {
    return new KubernetesClientBuilder()
        .withConfig(Config.fromKubeconfig(null, readString(cp.kubeconfig()), cp.kubeconfig().toString()))
        .build();
  }

  /** Applies every CRD in crds/ (the committed files users install) and waits until established. */
  public static void installCrds(KubernetesClient client) throws Exception {
    try (var files = Files.list(ControlPlane.projectRoot().resolve("crds"))) {
      for (Path file : files.sorted().toList()) {
        applyCrd(client, file);
      }
    }
  }

  /** Applies the CRD in one file (server-side, as users are told to) and waits until established. */
  public static void applyCrd(KubernetesClient client, Path file) throws Exception {
    try (var in = Files.newInputStream(file)) {
      var crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
      client.resource(crd).forceConflicts().serverSideApply();
      client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
          .waitUntilCondition(c -> c.getStatus() != null && c.getStatus().getConditions() != null
              && c.getStatus().getConditions().stream()
              .anyMatch(cond -> "Established".equals(cond.getType()) && "True".equals(cond.getStatus())),
              1, TimeUnit.MINUTES);
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    String name = "t-" + UUID.randomUUID().toString().substring(0, 8);
    KubernetesClient client = shared(context).client();
    client.namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    // Pods are refused until the namespace has its default account. The service account
    // controller makes it, but after a test restarted the API server it can lag for minutes, so
    // the test bed makes it too; whichever comes second is told it exists.
    try {
      client.serviceAccounts().inNamespace(name).resource(new ServiceAccountBuilder()
          .withNewMetadata().withName("default").endMetadata().build()).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
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
    return type == KubernetesClient.class || type == ControlPlane.class || type == TestNamespace.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    if (type == KubernetesClient.class) {
      return shared(context).client();
    }
    if (type == ControlPlane.class) {
      return shared(context).controlPlane();
    }
    return context.getStore(STORE).get(TestNamespace.class, TestNamespace.class);
  }


  private static String readString(Path file) {
    try {
      return Files.readString(file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
