package dev.portforward.operator.tunnels;

import dev.portforward.api.v1alpha1.SshTunnel;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import org.jboss.logging.Logger;

/**
 * Records {@link TunnelStatuses.Event}s on an SSHTunnel, so that {@code kubectl describe} shows
 * who connected and what was refused. Best effort: failing to record one never fails a reconcile.
 */
public final class TunnelEvents {

  private static final Logger LOG = Logger.getLogger(TunnelEvents.class);
  private static final String COMPONENT = "portforward-operator";

  private final KubernetesClient client;

  public TunnelEvents(KubernetesClient client) {
    this.client = client;
  }

  public void record(SshTunnel tunnel, TunnelStatuses.Event event) {
    String namespace = tunnel.getMetadata().getNamespace();
    String time = Instant.now().toString();
    var recorded = new EventBuilder()
        .withNewMetadata().withGenerateName(tunnel.getMetadata().getName() + ".").withNamespace(namespace).endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder()
            .withApiVersion(tunnel.getApiVersion())
            .withKind(tunnel.getKind())
            .withNamespace(namespace)
            .withName(tunnel.getMetadata().getName())
            .withUid(tunnel.getMetadata().getUid())
            .build())
        .withType(event.type())
        .withReason(event.reason())
        .withMessage(event.message())
        .withNewSource(COMPONENT, null)
        .withFirstTimestamp(time)
        .withLastTimestamp(time)
        .withCount(1)
        .build();
    try {
      client.v1().events().inNamespace(namespace).resource(recorded).create();
    } catch (KubernetesClientException e) {
      LOG.warnf("could not record event for SSHTunnel %s/%s: %s", namespace, tunnel.getMetadata().getName(), e.getMessage());
    }
  }
}
