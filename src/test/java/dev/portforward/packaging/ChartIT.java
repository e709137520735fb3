package dev.portforward.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.portforward.operator.relays.RelayJvm;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.InstalledChart;
import dev.portforward.testbed.RealCluster;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Helm chart and the plain manifests rendered from it: lint-clean, in step with each other and
 * with crds/, accepted by a real API server, and idempotent under server-side apply, as a GitOps
 * tool applies them again and again.
 */
@ExtendWith(RealCluster.class)
class ChartIT {

  private static final Path ROOT = ControlPlane.projectRoot();
  private static final Path CHART = ROOT.resolve("helm/portforward-operator");
  private static final Path DEPLOY = ROOT.resolve("deploy/portforward-operator.yaml");
  private static final Path UNINSTALL = ROOT.resolve("deploy/uninstall.yaml");

  @Test
  void chartIsLintClean() throws Exception {
    assertThat(run(helm(), "lint", "--strict", "--kube-version", "1.36.0", CHART.toString()).exitCode()).isZero();
  }

  @Test
  void deployIsWhatTheChartRenders() throws Exception {
    Result rendered = run(helm(), "template", "portforward-operator", CHART.toString(),
        "--namespace", "portforward-system", "--kube-version", "1.36.0", "--set", "namespace.create=true",
        "--no-hooks", "--set", "crds.enabled=false");
    assertThat(rendered.exitCode()).isZero();
    assertThat(Files.readString(DEPLOY)).as("deploy/ is stale: run deploy/render.sh").isEqualTo(rendered.out());
    Result hook = run(helm(), "template", "portforward-operator", CHART.toString(),
        "--namespace", "portforward-system", "--kube-version", "1.36.0", "--set", "namespace.create=true",
        "--show-only", "templates/uninstall.yaml");
    assertThat(hook.exitCode()).isZero();
    assertThat(Files.readString(UNINSTALL)).as("deploy/ is stale: run deploy/render.sh").isEqualTo(hook.out());
  }

  /** The chart's default relay JVM options are the operator's own default, and an override reaches the operator. */
  @Test
  void theRelayJvmOptionsDefaultToTheOperatorsAndCanBeOverridden() throws Exception {
    Result defaults = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0");
    assertThat(defaults.exitCode()).as(defaults.out()).isZero();
    assertThat(defaults.out()).contains("name: PORTFORWARD_RELAY_JVM_OPTIONS\n          value: \"" + RelayJvm.OPTIONS + "\"");

    Result custom = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0",
        "--set", "relay.jvmOptions=-XX:+UseG1GC -Xmx1g");
    assertThat(custom.exitCode()).as(custom.out()).isZero();
    assertThat(custom.out()).contains("name: PORTFORWARD_RELAY_JVM_OPTIONS\n          value: \"-XX:+UseG1GC -Xmx1g\"");
  }

  /**
   * The operator and the agent get a heap of 70% of their memory limit, not the JVM's quarter
   * (which their caches outgrow at 10,000 forwards); an empty value gives the JVM its defaults.
   */
  @Test
  void theOperatorAndAgentHeapsFollowTheirMemoryLimits() throws Exception {
    Result defaults = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0");
    assertThat(defaults.exitCode()).as(defaults.out()).isZero();
    assertThat(defaults.out().split("name: JDK_JAVA_OPTIONS\n          value: \"-XX:MaxRAMPercentage=70\"", -1))
        .as("the operator's and the agent's containers").hasSize(3);

    Result empty = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0",
        "--set", "operator.jvmOptions=", "--set", "agent.jvmOptions=");
    assertThat(empty.exitCode()).as(empty.out()).isZero();
    assertThat(empty.out()).doesNotContain("name: JDK_JAVA_OPTIONS");
  }

  /**
   * helm uninstall runs `operator --uninstall` before it deletes anything (pre-delete), under its
   * own service account, whose RBAC the hook creates first (lower weight) and which all go once
   * the hook succeeded; deploy/ holds no hook (kubectl apply would run it at once).
   */
  @Test
  void theUninstallHookRunsOperatorUninstallBeforeDeletionAndCleansUpAfterItself(ControlPlane cp) throws Exception {
    Result rendered = run(helm(), "template", "portforward-operator", CHART.toString(),
        "--namespace", "portforward-system", "--kube-version", "1.36.0", "--show-only", "templates/uninstall.yaml");
    assertThat(rendered.exitCode()).as(rendered.out()).isZero();
    List<HasMetadata> objects;
    try (KubernetesClient offline = new KubernetesClientBuilder().build()) {
      objects = offline.load(new ByteArrayInputStream(rendered.out().getBytes(StandardCharsets.UTF_8))).items();
    }
    assertThat(objects).extracting(HasMetadata::getKind)
        .containsExactly("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Job");
    for (HasMetadata object : objects) {
      assertThat(object.getMetadata().getAnnotations()).as(object.getKind())
          .containsEntry("helm.sh/hook", "pre-delete")
          .containsEntry("helm.sh/hook-delete-policy", "before-hook-creation,hook-succeeded")
          .containsEntry("helm.sh/hook-weight", object instanceof Job ? "0" : "-10");
    }
    Job job = (Job) objects.get(5);
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertThat(pod.getServiceAccountName()).isEqualTo("portforward-operator-uninstall");
    assertThat(pod.getContainers().get(0).getArgs()).containsExactly("operator", "--uninstall");
    assertThat(pod.getContainers().get(0).getEnv()).anySatisfy(env -> {
      assertThat(env.getName()).isEqualTo("PORTFORWARD_UNINSTALL_TIMEOUT");
      assertThat(env.getValue()).isEqualTo("120s");
    });
    assertThat(job.getSpec().getActiveDeadlineSeconds()).isGreaterThan(120L);
    assertThat(((ClusterRole) objects.get(1)).getRules()).hasSize(2).satisfiesExactly(rule -> {
      assertThat(rule.getResources()).containsExactly("portforwards");
      assertThat(rule.getVerbs()).containsExactlyInAnyOrder("get", "list", "delete", "patch");
    }, rule -> {
      assertThat(rule.getResources()).containsExactly("portforwardnodereports");
      assertThat(rule.getVerbs()).containsExactlyInAnyOrder("list", "delete");
    });
    // The webhook certificate's Secret, which the operator made at run time: by name only.
    assertThat(((io.fabric8.kubernetes.api.model.rbac.Role) objects.get(3)).getRules()).singleElement()
        .satisfies(rule -> {
          assertThat(rule.getResources()).containsExactly("secrets");
          assertThat(rule.getResourceNames()).containsExactly("portforward-operator-webhook-tls");
          assertThat(rule.getVerbs()).containsExactlyInAnyOrder("get", "delete");
        });
    assertThat(pod.getContainers().get(0).getEnv()).anySatisfy(env -> {
      assertThat(env.getName()).isEqualTo("PORTFORWARD_WEBHOOK_SECRET_NAME");
      assertThat(env.getValue()).isEqualTo("portforward-operator-webhook-tls");
    });
    assertThat(Files.readString(DEPLOY)).doesNotContain("helm.sh/hook");

    kubectl(cp, "create", "namespace", "portforward-system");
    Result dryRun = kubectl(cp, "apply", "--server-side", "--dry-run=server", "-f", UNINSTALL.toString());
    assertThat(dryRun.exitCode()).as(dryRun.out()).isZero();
    Result off = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0",
        "--set", "uninstall.enabled=false");
    assertThat(off.out()).doesNotContain("--uninstall");
  }

  @Test
  void theChartTemplatesTheCrdsOfCrdsDirectoryKeptOnUninstall() throws Exception {
    List<CustomResourceDefinition> rendered = crdsRendered("--set", "crds.enabled=true");
    List<CustomResourceDefinition> committed = new ArrayList<>();
    for (Path file : list(ROOT.resolve("crds"))) {
      committed.add(Serialization.unmarshal(Files.readString(file), CustomResourceDefinition.class));
    }
    assertThat(rendered).hasSameSizeAs(committed);
    for (CustomResourceDefinition crd : rendered) {
      assertThat(crd.getMetadata().getAnnotations()).containsEntry("helm.sh/resource-policy", "keep");
      assertThat(crd.getMetadata().getLabels()).containsEntry("app.kubernetes.io/instance", "portforward-operator");
    }
    assertThat(rendered).as("the chart's CRDs are those of crds/")
        .extracting(crd -> crd.getMetadata().getName(), CustomResourceDefinition::getSpec)
        .containsExactlyInAnyOrderElementsOf(committed.stream()
            .map(crd -> tuple(crd.getMetadata().getName(), crd.getSpec())).toList());

    assertThat(crdsRendered("--set", "crds.keep=false")).hasSameSizeAs(committed).allSatisfy(crd ->
        assertThat(crd.getMetadata().getAnnotations()).doesNotContainKey("helm.sh/resource-policy"));
    assertThat(crdsRendered("--set", "crds.enabled=false")).isEmpty();
  }

  private static List<CustomResourceDefinition> crdsRendered(String... values) throws Exception {
    List<String> command = new ArrayList<>(List.of(helm().toString(), "template", "portforward-operator",
        CHART.toString(), "--namespace", "portforward-system", "--kube-version", "1.36.0"));
    command.addAll(List.of(values));
    Result rendered = run(command.toArray());
    assertThat(rendered.exitCode()).as(rendered.out()).isZero();
    List<CustomResourceDefinition> crds = new ArrayList<>();
    for (String document : rendered.out().split("(?m)^---$")) {
      if (document.contains("kind: \"CustomResourceDefinition\"")) {
        crds.add(Serialization.unmarshal(document, CustomResourceDefinition.class));
      }
    }
    return crds;
  }

  @Test
  void everyManifestIsAcceptedAndApplyingTwiceChangesNothing(ControlPlane cp, KubernetesClient admin) throws Exception {
    try {
      acceptedAndIdempotent(cp);
    } finally {
      InstalledChart.removePolicies(admin, "portforward-operator", "portforward-system");
    }
  }

  private static void acceptedAndIdempotent(ControlPlane cp) throws Exception {
    // The CRDs from crds/ are already installed in this API server by RealCluster; a dry run
    // creates nothing, so the namespace the other objects go into must exist first.
    kubectl(cp, "create", "namespace", "portforward-system");
    Result dryRun = kubectl(cp, "apply", "--server-side", "--dry-run=server", "--field-manager=gitops",
        "-f", DEPLOY.toString());
    assertThat(dryRun.exitCode()).as(dryRun.out()).isZero();

    assertThat(kubectl(cp, "apply", "--server-side", "--field-manager=gitops", "-f", DEPLOY.toString()).exitCode())
        .isZero();
    String before = versions(cp);
    Result again = kubectl(cp, "apply", "--server-side", "--field-manager=gitops", "-f", DEPLOY.toString());
    assertThat(again.exitCode()).isZero();
    assertThat(versions(cp)).isEqualTo(before);
    assertThat(again.out()).doesNotContain("configured").contains("serverside-applied");
  }

  @Test
  void nonDefaultValuesRenderValidManifests(ControlPlane cp) throws Exception {
    Result rendered = run(helm(), "template", "custom", CHART.toString(), "--namespace", "default",
        "--kube-version", "1.36.0",
        "--set", "policy.privilegedPorts=true,policy.externalTargets=true,networkPolicy.enabled=true",
        "--set", "policy.externalTargetCidrs={203.0.113.0/24,198.51.100.0/24}",
        "--set", "agent.enabled=false,operator.replicas=1,sidecarInjection.enabled=false",
        "--set", "gatewayApi.enabled=true,gatewayApi.discoveryIntervalSeconds=5");
    assertThat(rendered.exitCode()).isZero();
    assertThat(rendered.out()).contains("value: \"203.0.113.0/24,198.51.100.0/24\"").doesNotContain("DaemonSet")
        .doesNotContain("MutatingWebhookConfiguration")
        .contains("custom-own-derived-forwards", "custom-own-backend-mirrors",
            "resources: [gatewayclasses, gateways, tcproutes, udproutes, referencegrants]",
            "name: PORTFORWARD_GATEWAY_API_DISCOVERY_INTERVAL\n          value: \"5s\"");
    Path file = Files.createTempFile("custom-", ".yaml");
    Files.writeString(file, rendered.out());
    // The render holds the CRDs, which RealCluster applied as another field manager: forcing a dry
    // run takes nothing from it, and still has the API server validate every object.
    Result dryRun = kubectl(cp, "apply", "--server-side", "--dry-run=server", "--force-conflicts",
        "-f", file.toString());
    assertThat(dryRun.exitCode()).as(dryRun.out()).isZero();
  }

  @Test
  void placementRegistryAndEscapeHatchValuesRenderValidManifests(ControlPlane cp) throws Exception {
    Path values = Files.createTempFile("platform-", ".yaml");
    Files.writeString(values, """
        fullnameOverride: pf
        global: {imageRegistry: "mirror.example:5000"}
        imagePullSecrets: [{name: regcred}]
        image: {digest: "sha256:%s"}
        operator:
          podAnnotations: {example.com/team: network}
          extraEnv: [{name: QUARKUS_LOG_LEVEL, value: DEBUG}]
          affinity:
            nodeAffinity:
              preferredDuringSchedulingIgnoredDuringExecution:
              - weight: 1
                preference: {matchExpressions: [{key: node-role.example/infra, operator: Exists}]}
          podDisruptionBudget: {maxUnavailable: "50%%"}
          serviceAccount: {create: false, name: existing-operator}
        agent:
          priorityClassName: ""
          updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: "10%%"}}
          serviceAccount: {annotations: {example.com/identity: agent}}
        relay:
          resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {cpu: 1, memory: 128Mi}}
        """.formatted("a".repeat(64)));
    Result rendered = run(helm(), "template", "custom", CHART.toString(), "--namespace", "default",
        "--kube-version", "1.36.0", "--set", "crds.enabled=false", "-f", values.toString());
    assertThat(rendered.exitCode()).as(rendered.out()).isZero();
    assertThat(rendered.out())
        .contains("image: mirror.example:5000/portforward-dev/portforward-operator@sha256:" + "a".repeat(64))
        .contains("value: \"mirror.example:5000/portforward-dev/portforward-operator@sha256:")
        .contains("name: PORTFORWARD_RELAY_IMAGE_PULL_SECRETS\n          value: \"regcred\"")
        .contains("name: PORTFORWARD_RELAY_RESOURCES_LIMITS_CPU\n          value: \"1\"")
        .contains("serviceAccountName: existing-operator").contains("name: pf-agent")
        .contains("example.com/identity: agent").contains("maxUnavailable: 50%")
        .contains("kubernetes.io/os: linux").contains("topologySpreadConstraints")
        .doesNotContain("priorityClassName").doesNotContain("kind: ResourceQuota")
        .doesNotContain("kind: ServiceAccount\nmetadata:\n  name: pf\n");
    Path file = Files.createTempFile("platform-", ".yaml");
    Files.writeString(file, rendered.out());
    Result dryRun = kubectl(cp, "apply", "--server-side", "--dry-run=server", "-f", file.toString());
    assertThat(dryRun.exitCode()).as(dryRun.out()).isZero();
    Files.delete(values);
    Files.delete(file);
  }

  /**
   * The webhook where the control plane reaches few ports: a chosen pod port (GKE private
   * clusters: 10250), or the node's network (EKS with a custom CNI), where the webhook and the
   * operator's HTTP port listen on the node's own address and never on the kubelet's port.
   */
  @Test
  void theWebhookCanServeOnAChosenPortOrOnTheNodesNetwork(ControlPlane cp) throws Exception {
    PodSpec gke = operatorPod(render("--set", "sidecarInjection.webhookPort=10250").out());
    assertThat(gke.getHostNetwork()).isNull();
    assertThat(gke.getContainers().get(0).getPorts()).extracting(p -> p.getName(), p -> p.getContainerPort())
        .containsExactly(tuple("http", 8080), tuple("webhook", 10250));

    Result eks = render("--set",
        "sidecarInjection.hostNetwork=true,sidecarInjection.webhookPort=10260,operator.httpPort=18080");
    PodSpec pod = operatorPod(eks.out());
    assertThat(pod.getHostNetwork()).isTrue();
    assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirstWithHostNet");
    Container operator = pod.getContainers().get(0);
    assertThat(operator.getPorts()).extracting(p -> p.getName(), p -> p.getContainerPort())
        .containsExactly(tuple("http", 18080), tuple("webhook", 10260));
    assertThat(operator.getEnv()).filteredOn(e -> List.of("QUARKUS_HTTP_HOST", "PORTFORWARD_WEBHOOK_HOST")
        .contains(e.getName())).hasSize(2)
        .allSatisfy(e -> assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.podIP"));
    assertThat(operator.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("QUARKUS_HTTP_PORT");
      assertThat(e.getValue()).isEqualTo("18080");
    });
    assertThat(operator.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("PORTFORWARD_POLICY_RESERVED_PORTS");
      assertThat(e.getValue()).startsWith("18080/TCP=the portforward operator's health and metrics port");
    });
    Path file = Files.createTempFile("hostnetwork-", ".yaml");
    Files.writeString(file, eks.out());
    Result dryRun = kubectl(cp, "apply", "--server-side", "--dry-run=server", "-f", file.toString());
    assertThat(dryRun.exitCode()).as(dryRun.out()).isZero();
    Files.delete(file);

    Result kubelet = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0",
        "--set", "sidecarInjection.hostNetwork=true,sidecarInjection.webhookPort=10250");
    assertThat(kubelet.exitCode()).isNotZero();
    assertThat(kubelet.out()).contains("10250 is the kubelet's port");
    Result same = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0",
        "--set", "sidecarInjection.webhookPort=18080,operator.httpPort=18080");
    assertThat(same.exitCode()).isNotZero();
    assertThat(same.out()).contains("must differ");
  }

  /** The chart rendered with these values (the operator's namespace: default). */
  private static Result render(String... values) throws Exception {
    List<String> command = new ArrayList<>(List.of(helm().toString(), "template", "pf", CHART.toString(),
        "--namespace", "default", "--kube-version", "1.36.0", "--set", "crds.enabled=false"));
    command.addAll(List.of(values));
    Result rendered = run(command.toArray());
    assertThat(rendered.exitCode()).as(rendered.out()).isZero();
    return rendered;
  }

  private static PodSpec operatorPod(String rendered) {
    try (KubernetesClient offline = new KubernetesClientBuilder().build()) {
      return offline.load(new ByteArrayInputStream(rendered.getBytes(StandardCharsets.UTF_8))).items().stream()
          .filter(o -> o instanceof Deployment && o.getMetadata().getName().equals("pf"))
          .map(o -> ((Deployment) o).getSpec().getTemplate().getSpec())
          .findFirst().orElseThrow();
    }
  }

  @Test
  void monitoringRendersAndTheAgentsMetricsStayOnLoopbackUnlessScraped(ControlPlane cp) throws Exception {
    Result defaults = run(helm(), "template", "mon", CHART.toString(), "--namespace", "default",
        "--kube-version", "1.36.0", "--set", "crds.enabled=false");
    assertThat(defaults.out()).contains("name: QUARKUS_HTTP_HOST\n          value: 127.0.0.1")
        .doesNotContain("PodMonitor").doesNotContain("PrometheusRule").doesNotContain("grafana_dashboard");

    Result rendered = run(helm(), "template", "mon", CHART.toString(), "--namespace", "default",
        "--kube-version", "1.36.0", "--set", "crds.enabled=false",
        "--set", "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=kps",
        "--set", "metrics.podMonitor.enabled=true,metrics.podMonitor.labels.release=kps",
        "--set", "metrics.prometheusRule.enabled=true,metrics.prometheusRule.labels.release=kps",
        "--set", "metrics.dashboard.enabled=true");
    assertThat(rendered.exitCode()).as(rendered.out()).isZero();
    assertThat(rendered.out()).contains("kind: PodMonitor").contains("kind: PrometheusRule")
        .contains("alert: PortForwardNodeTransactionFailing").contains("grafana_dashboard: \"1\"")
        .contains("fieldRef: {fieldPath: status.podIP}").contains("name: metrics\n          containerPort: 9471");
    assertThat(rendered.out().split("release: kps", -1)).hasSize(5);
    // The monitoring kinds need the Prometheus Operator's CRDs; the rest goes to the API server.
    StringBuilder core = new StringBuilder();
    for (String document : rendered.out().split("(?m)^---$")) {
      if (!document.isBlank() && !document.contains("apiVersion: monitoring.coreos.com/")) {
        core.append("---").append(document);
      }
    }
    Path file = Files.createTempFile("monitoring-", ".yaml");
    Files.writeString(file, core);
    Result dryRun = kubectl(cp, "apply", "--server-side", "--dry-run=server", "-f", file.toString());
    assertThat(dryRun.exitCode()).as(dryRun.out()).isZero();
    assertThat(dryRun.out()).contains("configmap/mon-dashboard");
    Files.delete(file);
  }

  @Test
  void theValuesSchemaRefusesMistypedPlatformValues() throws Exception {
    for (String bad : List.of("image.digest=latest", "agent.updateStrategy.type=Recreate",
        "operator.extraEnv[0].value=x", "relay.resources.requests.cpu=lots", "imagePullSecrets[0]=regcred",
        "fullnameOverride=Not_A_Name", "sidecarInjection.hostNetwork=yes", "operator.httpPort=80")) {
      Result refused = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0", "--set", bad);
      assertThat(refused.exitCode()).as(bad).isNotZero();
      assertThat(refused.out()).as(bad).contains("schema");
    }
  }

  @Test
  void theValuesSchemaRefusesUnknownAndMistypedValues() throws Exception {
    Result typo = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0",
        "--set", "policy.privilegedPort=true");
    assertThat(typo.exitCode()).isNotZero();
    assertThat(typo.out()).contains("privilegedPort");
    Result badPort = run(helm(), "template", "x", CHART.toString(), "--kube-version", "1.36.0",
        "--set", "policy.listenPortMax=70000");
    assertThat(badPort.exitCode()).isNotZero();
    assertThat(badPort.out()).contains("listenPortMax");
  }

  @Test
  void installNotesNameTheNamespaceLabelsAndHowToCheck(ControlPlane cp) throws Exception {
    String ns = "notes-" + java.util.UUID.randomUUID().toString().substring(0, 8);
    assertThat(installNotes(cp, ns))
        .contains("kubectl label namespace " + ns + " pod-security.kubernetes.io/enforce=privileged")
        .contains("kubectl label namespace NAMESPACE portforward.dev/sidecar-injection=enabled")
        .contains("kubectl -n " + ns + " rollout status deployment/notes")
        .contains("kubectl -n " + ns + " rollout status daemonset/notes-agent")
        .contains("The API server must reach the webhook on port 9443 of the operator's pods");
    assertThat(installNotes(cp, ns, "--set", "namespace.create=true,sidecarInjection.enabled=false,agent.enabled=false"))
        .doesNotContain("pod-security.kubernetes.io/enforce").doesNotContain("sidecar-injection")
        .doesNotContain("daemonset").contains("rollout status deployment/notes");
  }

  /**
   * NOTES.txt as helm install prints it (helm template leaves it out): a dry run against the test
   * bed, with a copy of the chart whose kubeVersion the test bed's API server (v0.0.0) meets.
   */
  private static String installNotes(ControlPlane cp, String namespace, String... values) throws Exception {
    Path copy = Files.createTempDirectory("chart-notes-");
    try {
      try (Stream<Path> files = Files.walk(CHART)) {
        for (Path file : files.toList()) {
          Path target = copy.resolve(CHART.relativize(file).toString());
          if (Files.isDirectory(file)) {
            Files.createDirectories(target);
          } else {
            Files.copy(file, target);
          }
        }
      }
      Path chartYaml = copy.resolve("Chart.yaml");
      Files.writeString(chartYaml, Files.readString(chartYaml).replaceFirst("(?m)^kubeVersion: .*\n", ""));
      List<String> command = new ArrayList<>(List.of(helm().toString(), "--kubeconfig", cp.kubeconfig().toString(),
          "install", "notes", copy.toString(), "--namespace", namespace, "--dry-run=server",
          "--set", "crds.enabled=false"));
      command.addAll(List.of(values));
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      for (String home : List.of("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")) {
        pb.environment().put(home, copy.resolve(".helm").toString());
      }
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor()).as(out).isZero();
      assertThat(out).contains("NOTES:");
      return out.substring(out.indexOf("NOTES:"));
    } finally {
      try (Stream<Path> files = Files.walk(copy)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /** resourceVersion of every object deploy/ holds, in one string. */
  private static String versions(ControlPlane cp) throws Exception {
    return kubectl(cp, "get", "-f", DEPLOY.toString(), "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}").out();
  }

  private static Path helm() throws Exception {
    return ControlPlane.binaries().resolve("helm");
  }

  private static Result kubectl(ControlPlane cp, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(cp.kubectl().toString(), "--kubeconfig", cp.kubeconfig().toString()));
    command.addAll(List.of(args));
    return run(command.toArray(String[]::new));
  }

  private static Result run(Object... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(Stream.of(command).map(Object::toString).toList()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Result(p.waitFor(), out);
  }

  private static List<Path> list(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.sorted().toList();
    }
  }

  private record Result(int exitCode, String out) {}
}
