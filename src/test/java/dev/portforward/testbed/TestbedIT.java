package dev.portforward.testbed;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The test control plane does what the operator's tests rely on a real cluster to do. */
@ExtendWith(RealCluster.class)
class TestbedIT {

  @Test
  void ownerReferencesAreGarbageCollected(KubernetesClient client, TestNamespace ns) {
    ConfigMap owner = client.resource(new ConfigMapBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName("owner").endMetadata().build()).create();
    client.resource(new ConfigMapBuilder()
        .withNewMetadata().withNamespace(ns.name()).withName("dependent")
        .addNewOwnerReference().withApiVersion("v1").withKind("ConfigMap").withName("owner")
        .withUid(owner.getMetadata().getUid()).endOwnerReference().endMetadata().build()).create();

    client.resource(owner).delete();

    await().atMost(Duration.ofSeconds(60)).until(
        () -> client.configMaps().inNamespace(ns.name()).withName("dependent").get() == null);
  }

  @Test
  void namespacesAreDeletedWithTheirContents(KubernetesClient client) {
    String name = "gc-" + System.nanoTime();
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
    client.resource(new ConfigMapBuilder().withNewMetadata().withNamespace(name).withName("c").endMetadata().build())
        .create();

    client.namespaces().withName(name).delete();

    await().atMost(Duration.ofSeconds(60)).until(() -> client.namespaces().withName(name).get() == null);
  }
}
