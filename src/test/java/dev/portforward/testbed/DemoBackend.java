package dev.portforward.testbed;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;

/**
 * A demo backend on real nodes: a Deployment "web" of the test image (nginx answering with the
 * pod's name and the client's address it saw) behind a Service "web" on port 80.
 */
public final class DemoBackend {

  public static final String NAME = "web";

  /** The Deployment and Service in {@code namespace}, with {@code replicas} pods of {@code image}. */
  public static String manifest(String namespace, String image, int replicas) {
    return """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: %1$s}
        spec:
          replicas: %3$d
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: %2$s
                imagePullPolicy: Never
                ports: [{containerPort: 80, name: http}]
                readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 2}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: %1$s}
        spec:
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: http}]
        """.formatted(namespace, image, replicas);
  }

  /** Waits until {@code replicas} pods of the Deployment are Ready and returns them. */
  public static List<Pod> awaitReady(KubernetesClient client, String namespace, int replicas) {
    await("web pods Ready in " + namespace).atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
        .until(() -> ready(client, namespace).size() == replicas);
    return ready(client, namespace);
  }

  private static List<Pod> ready(KubernetesClient client, String namespace) {
    return client.pods().inNamespace(namespace).withLabel("app", NAME).list().getItems().stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .filter(p -> p.getStatus() != null && p.getStatus().getConditions() != null
            && p.getStatus().getConditions().stream().anyMatch(DemoBackend::isReady))
        .toList();
  }

  private static boolean isReady(PodCondition c) {
    return "Ready".equals(c.getType()) && "True".equals(c.getStatus());
  }

  private DemoBackend() {}
}
