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

  private static final String ADMISSION = "admissionregistration.k8s.io/v1";

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
    InstalledChart chart = new InstalledChart(admin, cp, release, namespace);
    try {
      apply(admin, release, namespace, List.of(setValues), List.of());
    } catch (IllegalStateException e) {
      chart.close();
      throw e;
    }
    return chart;
  }

  /**
   * Applies the chart's policy that gives new PortForwards the operator's finalizer, alone (a
   * benchmark's operator runs as the admin, which the chart's other policies would refuse), and
   * waits until the API server applies it to creates in {@code namespace}.
   */
  public static void applyFinalizerPolicy(KubernetesClient admin, String release, String namespace)
      throws IOException, InterruptedException {
    apply(admin, release, namespace, List.of(), List.of("--show-only", "templates/operator-finalizer.yaml"));
    await("the finalizer policy applies").atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> !finalizerProbe(admin, namespace).getMetadata().getFinalizers().isEmpty());
  }

  private static void apply(KubernetesClient admin, String release, String namespace, List<String> setValues,
      List<String> options) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ControlPlane.binaries().resolve("helm").toString(), "template",
        release, ControlPlane.projectRoot().resolve("helm/portforward-operator").toString(), "--namespace", namespace,
        "--kube-version", "1.36.0", "--set", "namespace.create=true", "--no-hooks",
        // RealCluster installed the CRDs from crds/ for the whole run.
        "--set", "crds.enabled=false"));
    for (String value : setValues) {
      command.addAll(List.of("--set", value));
    }
    command.addAll(options);
    Process render = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    admin.load(render.getInputStream()).serverSideApply();
    if (render.waitFor() != 0) {
      throw new IllegalStateException("helm template failed");
    }
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
    removePolicies(admin, release, namespace);
  }

  /**
   * Removes the policies of the chart installed as {@code release} in {@code namespace} (which must
   * exist) that would change every later test: the one that lets only the chart's operator write
   * PortForward status (every other test's operator runs as the admin) and the one that gives new
   * PortForwards the finalizer (a test without an operator could not delete its forwards). Returns
   * once the API server enforces neither.
   */
  public static void removePolicies(KubernetesClient admin, String release, String namespace) {
    removeFinalizerPolicy(admin, release, namespace);
    removeStatusWriterPolicy(admin, release, namespace);
  }

  private static void removeFinalizerPolicy(KubernetesClient admin, String release, String namespace) {
    String policy = release + "-finalizer";
    admin.genericKubernetesResources(ADMISSION, "MutatingAdmissionPolicyBinding").withName(policy).delete();
    admin.genericKubernetesResources(ADMISSION, "MutatingAdmissionPolicy").withName(policy).delete();
    await("the finalizer policy is gone").atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> finalizerProbe(admin, namespace).getMetadata().getFinalizers().isEmpty());
  }

  /** A PortForward as a create in {@code namespace} would make it now (a dry run). */
  private static PortForward finalizerProbe(KubernetesClient admin, String namespace) {
    return admin.resource(PortForwards.of(namespace, "finalizer-probe",
        "listen: {port: 40000}, target: {service: {name: probe, port: 80}}")).dryRun().create();
  }

  private static void removeStatusWriterPolicy(KubernetesClient admin, String release, String namespace) {
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
