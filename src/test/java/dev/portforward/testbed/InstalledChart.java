package dev.portforward.testbed;

import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The chart, rendered with helm template and applied to the test bed's API server, for tests of
 * what it installs (RBAC, admission policies). Closing it removes the chart's policy that lets only
 * its operator write PortForward status: every other test's operator runs as the admin, so that
 * policy must not outlive the test; close waits until the API server has let go of it.
 */
public final class InstalledChart implements AutoCloseable {

  private final KubernetesClient admin;
  private final ControlPlane cp;
  private final String release;
  private final String namespace;

  private InstalledChart(KubernetesClient admin, ControlPlane cp, String release, String namespace) {
    this.admin = admin;
    this.cp = cp;
    this.release = release;
    this.namespace = namespace;
  }

  /** Renders the chart as release {@code release} into {@code namespace} (created) and applies it. */
  public static InstalledChart install(KubernetesClient admin, ControlPlane cp, String release, String namespace,
      String... setValues) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ControlPlane.binaries().resolve("helm").toString(), "template",
        release, ControlPlane.projectRoot().resolve("helm/portforward-operator").toString(), "--namespace", namespace,
        "--kube-version", "1.36.0", "--set", "namespace.create=true", "--no-hooks",
        // RealCluster installed the CRDs from crds/ for the whole run.
        "--set", "crds.enabled=false"));
    for (String value : setValues) {
      command.addAll(List.of("--set", value));
    }
    Process render = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    InstalledChart chart = new InstalledChart(admin, cp, release, namespace);
    admin.load(render.getInputStream()).serverSideApply();
    if (render.waitFor() != 0) {
      chart.close();
      throw new IllegalStateException("helm template failed");
    }
    return chart;
  }

  /** The name of the operator's service account, as the API server knows the user. */
  public String operatorUser() {
    return "system:serviceaccount:" + namespace + ":" + release;
  }

  /** A kubeconfig file that authenticates with a token of {@code serviceAccount} in {@code saNamespace}. */
  public static Path kubeconfigAs(KubernetesClient admin, ControlPlane cp, String saNamespace, String serviceAccount)
      throws IOException {
    return cp.kubeconfigWithToken(saNamespace + "-" + serviceAccount, token(admin, saNamespace, serviceAccount));
  }

  private static String token(KubernetesClient admin, String saNamespace, String serviceAccount) {
    return admin.serviceAccounts().inNamespace(saNamespace).withName(serviceAccount)
        .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build())
        .getStatus().getToken();
  }

  /** A client that authenticates with a token of {@code serviceAccount} in {@code saNamespace}. */
  public KubernetesClient clientAs(String saNamespace, String serviceAccount) {
    String token = token(admin, saNamespace, serviceAccount);
    try {
      Config config = new ConfigBuilder(Config.empty())
          .withMasterUrl(cp.url())
          .withCaCertData(Base64.getEncoder().encodeToString(Files.readAllBytes(cp.caFile())))
          .withOauthToken(token)
          .build();
      return new KubernetesClientBuilder().withConfig(config).build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A client as the chart's operator service account. */
  public KubernetesClient asOperator() {
    return clientAs(namespace, release);
  }

  @Override
  public void close() {
    removeStatusWriterPolicy(admin, release, namespace);
  }

  /**
   * Removes the status-writer policy of the chart installed as {@code release} in {@code namespace}
   * (which must exist) and waits until the API server no longer enforces it.
   */
  public static void removeStatusWriterPolicy(KubernetesClient admin, String release, String namespace) {
    String policy = release + "-status-writer";
    admin.admissionRegistration().v1().validatingAdmissionPolicyBindings().withName(policy).delete();
    admin.admissionRegistration().v1().validatingAdmissionPolicies().withName(policy).delete();
    // A dry-run status write by the admin passes once the API server has let go of the policy.
    PortForward probe = admin.resource(PortForwards.of(namespace, "status-probe",
        "listen: {port: 40000}, target: {service: {name: probe, port: 80}}")).serverSideApply();
    // Without a resourceVersion: a running operator may have changed the probe (its finalizer).
    probe.getMetadata().setResourceVersion(null);
    probe.setStatus(new PortForwardStatus());
    probe.getStatus().setObservedGeneration(0L);
    await("the status-writer policy is gone").atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> admin.resource(probe).dryRun().patchStatus() != null);
    admin.resource(probe).withGracePeriod(0).delete();
  }
}
