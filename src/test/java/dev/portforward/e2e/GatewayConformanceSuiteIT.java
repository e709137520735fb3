package dev.portforward.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.GatewayConformance;
import dev.portforward.testbed.HelmRelease;
import dev.portforward.testbed.NodeCluster;
import dev.portforward.testbed.RealNode;
import dev.portforward.testbed.RealNodes;
import dev.portforward.testbed.SkippedTests;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The upstream Gateway API conformance suite, profiles GATEWAY-TCP and GATEWAY-UDP, on the run's
 * real-node cluster against the chart's operator with its Gateway API controller on
 * ({@code gatewayApi.enabled=true}), as test-cluster/gateway-conformance.sh runs it on a cluster
 * of its own: fails when a test that test-cluster/gateway-conformance/skipped-tests does not list
 * fails, or when the suite skips one it does not list. The suite and its images come from their
 * build scripts, which wait for the build test-cluster/test.sh starts in the background.
 * Runs with -Dtestbed.conformance=true (test.sh sets it as root); the report and the suite's log
 * go to target/gateway-conformance/.
 */
@ExtendWith(RealNodes.class)
@EnabledIfSystemProperty(named = "testbed.conformance", matches = "true",
    disabledReason = "the conformance suite runs with -Dtestbed.conformance=true (test-cluster/test.sh sets it as root)")
class GatewayConformanceSuiteIT {

  @Test
  void everyTestNotListedAsSkippedPasses(NodeCluster cluster, KubernetesClient client) throws Exception {
    Instant started = Instant.now();
    Path suite = GatewayConformance.buildSuite();
    Map<String, Path> suiteImages = GatewayConformance.buildImages();
    List<RealNode.Image> images = new ArrayList<>();
    suiteImages.values().forEach(tar -> images.add(new RealNode.Image(tar, null)));
    images.add(HelmRelease.projectImage());
    for (RealNode node : cluster.nodes()) {
      for (RealNode.Image image : images) {
        node.importImage(image);
      }
    }
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target/gateway-conformance"));
    Path report = target.resolve("standard-" + GatewayConformance.projectVersion() + "-default-report.yaml");
    Files.deleteIfExists(report);
    Path dir = Files.createTempDirectory(target, "suite-");
    // To a file: output of a child process written straight to this JVM's stdout would corrupt the
    // channel Maven reads the test's results from.
    Path log = dir.resolve("suite.log");
    HelmRelease release = new HelmRelease(cluster.controlPlane(), "portforward-gwc", "portforward-gwc-system");
    int exit;
    try {
      // RealNodes installed the CRDs from crds/ for the whole run, outside any release.
      exit = GatewayConformance.installAndRunSuite(cluster, release,
          List.of("crds.enabled=false", "operator.replicas=1", "gatewayApi.enabled=true"), suite,
          suiteImages.keySet(), GatewayConformance.suiteFlags(report, "", "", List.of()), false, dir,
          ProcessBuilder.Redirect.to(log.toFile()), started);
    } finally {
      removeEverything(client, release);
    }
    // The suite's verdict on each test it ran (its log holds the rest).
    try (var lines = Files.lines(log)) {
      lines.filter(line -> line.matches("    --- (PASS|FAIL): TestConformance/\\w+ .*")).forEach(System.out::println);
    }

    JsonNode profiles = new ObjectMapper(new YAMLFactory()).readTree(report.toFile()).path("profiles");
    assertThat(profiles.findValuesAsText("name")).as("profiles in %s", report)
        .containsExactlyInAnyOrder("GATEWAY-TCP", "GATEWAY-UDP");
    assertThat(testsBy(profiles, "failedTests")).as("failed tests, by profile (report: %s, log: %s)", report, log)
        .isEmpty();
    Map<String, List<String>> skipped = testsBy(profiles, "skippedTests");
    assertThat(skipped.values().stream().flatMap(List::stream).distinct())
        .as("tests the suite skipped, by profile: %s", skipped)
        .containsExactlyInAnyOrderElementsOf(SkippedTests.read().names());
    assertThat(exit).as("the suite's exit code (log: %s)", log).isZero();
  }

  /** Each profile's tests of the kind given (failedTests, skippedTests), core and extended, where it has some. */
  private static Map<String, List<String>> testsBy(JsonNode profiles, String kind) {
    Map<String, List<String>> tests = new TreeMap<>();
    for (JsonNode profile : profiles) {
      List<String> names = new ArrayList<>();
      for (String part : List.of("core", "extended")) {
        profile.path(part).path(kind).forEach(name -> names.add(name.asText()));
      }
      if (!names.isEmpty()) {
        tests.put(profile.path("name").asText(), names);
      }
    }
    return tests;
  }

  /**
   * The cluster outlives this test: whatever the suite left in its namespaces, the GatewayClass and
   * the release (its pre-delete hook removes the forwards the controller derived) go. What cannot be
   * removed (not installed yet, when the test failed before) is reported only.
   */
  private static void removeEverything(KubernetesClient client, HelmRelease release) throws InterruptedException {
    for (String ns : GatewayConformance.INFRASTRUCTURE_NAMESPACES) {
      client.namespaces().withName(ns).delete();
    }
    try {
      client.genericKubernetesResources("gateway.networking.k8s.io/v1", "GatewayClass")
          .withName(GatewayConformance.GATEWAY_CLASS).delete();
      release.uninstall();
    } catch (RuntimeException | IOException e) {
      System.err.println("GatewayConformanceSuiteIT: " + e.getMessage());
    }
  }
}
