package dev.portforward.testbed;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/** Pods as a kubelet would report them, for tests whose "pods" are network namespaces. */
public final class ReadyPods {

  private ReadyPods() {}

  /** A Pod named and labelled app={@code app}, running at {@code ip} and Ready. */
  public static Pod create(KubernetesClient client, TestNamespace ns, String app, String ip) {
    Pod pod = client.resource(new PodBuilder().withNewMetadata().withNamespace(ns.name()).withName(app)
        .addToLabels("app", app).endMetadata()
        .withNewSpec().addNewContainer().withName(app).withImage(app).endContainer().endSpec().build()).create();
    pod.setStatus(new PodStatusBuilder().withPhase("Running").withPodIP(ip).addNewPodIP().withIp(ip).endPodIP()
        .addNewCondition().withType("Ready").withStatus("True").endCondition().build());
    return client.resource(pod).updateStatus();
  }
}
