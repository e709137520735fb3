package dev.portforward.testbed;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The project's main job on one machine: a real control plane, the CRD, the packaged operator,
 * and the quickstart example applied; prints the example's status and stays up until interrupted.
 * Started by test-cluster/run-local.sh.
 */
public final class LocalRun {

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("portforward-local-");
    try (ControlPlane cp = ControlPlane.start(dir);
        KubernetesClient client = RealCluster.clientFor(cp)) {
      RealCluster.installCrds(client);
      try (RoleProcess operator = RoleProcess.operator(cp, Map.of()).start()) {
        Path example = ControlPlane.projectRoot().resolve("docs/examples/quickstart.yaml");
        client.load(Files.newInputStream(example)).serverSideApply();
        System.out.printf("%ncontrol plane: %s%nkubeconfig:    %s%noperator log:  %s%n%n",
            cp.url(), cp.kubeconfig(), operator.log());
        System.out.printf("try: %s --kubeconfig %s get portforwards -A%n%n", cp.kubectl(), cp.kubeconfig());
        awaitStatusAndPrint(cp);
        System.out.println("\nrunning until interrupted (Ctrl-C)");
        new CountDownLatch(1).await();
      }
    }
  }

  private static void awaitStatusAndPrint(ControlPlane cp) throws Exception {
    try (KubernetesClient client = RealCluster.clientFor(cp)) {
      PortForwards.awaitAccepted(client, "default", "web");
    }
    kubectl(cp, "get", "portforwards", "-A");
    kubectl(cp, "get", "portforward", "web", "-n", "default", "-o", "yaml");
  }

  private static void kubectl(ControlPlane cp, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(cp.kubectl().toString(), "--kubeconfig", cp.kubeconfig().toString()));
    command.addAll(List.of(args));
    new ProcessBuilder(command).inheritIO().start().waitFor();
  }

  private LocalRun() {}
}
