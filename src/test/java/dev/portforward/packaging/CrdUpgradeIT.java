package dev.portforward.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * helm upgrade upgrades the CRDs: a chart whose CRD gained a field, installed over the previous
 * version with helm against a real API server, makes the API server keep that field where it
 * pruned it before; helm uninstall leaves the CRDs in place. The CRDs are the chart's own, moved to
 * a group of this test (the run's API server already serves portforward.dev), and the chart holds
 * only its CRD template, so that no policy of a real install reaches the other tests.
 */
@ExtendWith(RealCluster.class)
class CrdUpgradeIT {

  private static final Path CHART = ControlPlane.projectRoot().resolve("helm/portforward-operator");
  private static final String FIELD = "upgradeProbe";

  @Test
  void helmUpgradeUpgradesTheCrdsAndUninstallKeepsThem(ControlPlane cp, KubernetesClient admin, TestNamespace ns)
      throws Exception {
    String group = "u" + UUID.randomUUID().toString().substring(0, 8) + ".portforward.test";
    String release = "crd-upgrade";
    Path work = Files.createTempDirectory("crd-upgrade-");
    Path versionN = chartCopy(work.resolve("n"), group, "0.1.0", false);
    Path versionN1 = chartCopy(work.resolve("n1"), group, "0.1.1", true);
    String crdName = "portforwards." + group;
    try {
      helm(cp, work, "install", release, versionN, "--namespace", ns.name());
      admin.apiextensions().v1().customResourceDefinitions().withName(crdName).waitUntilCondition(crd ->
          crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
              && crd.getStatus().getConditions().stream()
              .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus())), 1, TimeUnit.MINUTES);
      assertThat(withField(admin, group, ns, "before")).as("version N prunes the field it does not know").isNull();

      helm(cp, work, "upgrade", release, versionN1, "--namespace", ns.name());
      AtomicInteger attempt = new AtomicInteger();
      await("the upgraded CRD keeps the new field").atMost(Duration.ofSeconds(60))
          .until(() -> "kept".equals(withField(admin, group, ns, "after-" + attempt.incrementAndGet())));

      helm(cp, work, "uninstall", release, "--namespace", ns.name());
      assertThat(admin.apiextensions().v1().customResourceDefinitions().withName(crdName).get())
          .as("helm uninstall keeps the CRDs (helm.sh/resource-policy: keep)").isNotNull();
      assertThat(admin.genericKubernetesResources(portForwards(group)).inNamespace(ns.name())
          .withName("after-" + attempt.get()).get()).as("and the PortForwards with them").isNotNull();
    } finally {
      for (String plural : List.of("portforwards", "portforwardpolicies", "portforwardnodereports")) {
        admin.apiextensions().v1().customResourceDefinitions().withName(plural + "." + group).delete();
      }
      try (Stream<Path> files = Files.walk(work)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /**
   * Creates a PortForward with the new field set and returns the field as the API server stored it.
   * A create, which prunes fields the schema does not know (server-side apply refuses them).
   */
  private static Object withField(KubernetesClient admin, String group, TestNamespace ns, String name) {
    GenericKubernetesResource pf = Serialization.unmarshal("""
        apiVersion: %s/v1alpha1
        kind: PortForward
        metadata: {name: %s, namespace: %s}
        spec: {listen: {port: 40000}, target: {service: {name: probe, port: 80}}, %s: kept}
        """.formatted(group, name, ns.name(), FIELD), GenericKubernetesResource.class);
    GenericKubernetesResource stored = admin.genericKubernetesResources(portForwards(group)).inNamespace(ns.name()).resource(pf).create();
    return ((Map<?, ?>) stored.getAdditionalProperties().get("spec")).get(FIELD);
  }

  private static ResourceDefinitionContext portForwards(String group) {
    return new ResourceDefinitionContext.Builder().withGroup(group).withVersion("v1alpha1").withKind("PortForward")
        .withPlural("portforwards").withNamespaced(true).build();
  }

  /**
   * The chart's CRD template and its CRDs in {@code group}, as chart {@code version}; with
   * {@code newField} the PortForward CRD's spec gains a string field.
   */
  private static Path chartCopy(Path dir, String group, String version, boolean newField) throws IOException {
    Files.createDirectories(dir.resolve("templates"));
    Files.createDirectories(dir.resolve("files/crds"));
    Files.writeString(dir.resolve("Chart.yaml"),
        Files.readString(CHART.resolve("Chart.yaml")).replaceFirst("(?m)^version: .*$", "version: " + version)
            // The test bed's API server, built from source, reports version v0.0.0.
            .replaceFirst("(?m)^kubeVersion: .*\n", ""));
    for (String file : List.of("values.yaml", "values.schema.json", "templates/_helpers.tpl", "templates/crds.yaml")) {
      Files.copy(CHART.resolve(file), dir.resolve(file));
    }
    try (Stream<Path> crds = Files.list(CHART.resolve("files/crds"))) {
      for (Path file : crds.toList()) {
        // As text, as the chart reads them: the chart adds its metadata to the generator's layout.
        String crd = Files.readString(file).replace("portforward.dev", group);
        if (newField && file.getFileName().toString().startsWith("portforwards.")) {
          String specProperties = "\n          spec:\n            properties:\n";
          assertThat(crd).contains(specProperties);
          crd = crd.replace(specProperties, specProperties + "              " + FIELD + ":\n                type: \"string\"\n");
        }
        Files.writeString(dir.resolve("files/crds").resolve(file.getFileName()), crd);
      }
    }
    return dir;
  }

  private static void helm(ControlPlane cp, Path work, Object... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ControlPlane.binaries().resolve("helm").toString(),
        "--kubeconfig", cp.kubeconfig().toString()));
    Stream.of(args).map(Object::toString).forEach(command::add);
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    // Helm's cache, config and data stay in this test's directory.
    pb.environment().put("HELM_CACHE_HOME", work.resolve("helm-cache").toString());
    pb.environment().put("HELM_CONFIG_HOME", work.resolve("helm-config").toString());
    pb.environment().put("HELM_DATA_HOME", work.resolve("helm-data").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("helm %s: %s", String.join(" ", command), out).isZero();
  }
}
