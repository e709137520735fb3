package dev.portforward.operator.status;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * Records Kubernetes Events on the operator's resources (PortForwards, SSHTunnels), so that
 * {@code kubectl describe} tells their story. Best effort: failing to record one never fails a
 * reconcile.
 */
public final class ObjectEvents {

  private static final Logger LOG = Logger.getLogger(ObjectEvents.class);
  static final String COMPONENT = "portforward-operator";

  private final KubernetesClient client;

  public ObjectEvents(KubernetesClient client) {
    this.client = client;
  }

  /** {@code type} is Normal or Warning. */
  public void record(HasMetadata object, String type, String reason, String message, Instant now) {
    String namespace = object.getMetadata().getNamespace();
    String time = now.toString();
    var event = new EventBuilder()
        .withNewMetadata().withGenerateName(object.getMetadata().getName() + ".").withNamespace(namespace).endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder()
            .withApiVersion(object.getApiVersion())
            .withKind(object.getKind())
            .withNamespace(namespace)
            .withName(object.getMetadata().getName())
            .withUid(object.getMetadata().getUid())
            .withResourceVersion(object.getMetadata().getResourceVersion())
            .build())
        .withType(type)
        .withReason(reason)
        .withMessage(message)
        .withNewSource(COMPONENT, null)
        .withFirstTimestamp(time)
        .withLastTimestamp(time)
        .withCount(1)
        .build();
    try {
      client.v1().events().inNamespace(namespace).resource(event).create();
    } catch (KubernetesClientException e) {
      LOG.warnf("could not record event for %s %s/%s: %s", object.getKind(), namespace, object.getMetadata().getName(),
          e.getMessage());
    }
  }
}
