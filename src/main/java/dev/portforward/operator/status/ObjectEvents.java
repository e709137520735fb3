package dev.portforward.operator.status;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Records Kubernetes Events on the operator's resources (PortForwards, SSHTunnels), so that
 * {@code kubectl describe} tells their story. Best effort: failing to record one never fails a
 * reconcile. One thread sends them in the order recorded, off the reconcile path (as client-go's
 * recorder does): a status is the operator's answer and an Event its narration, and on a busy API
 * server the narration must not hold up the answer. Beyond {@link #QUEUE} waiting Events, new ones
 * are dropped and counted in the log.
 */
public final class ObjectEvents {

  private static final Logger LOG = Logger.getLogger(ObjectEvents.class);
  static final String COMPONENT = "portforward-operator";
  private static final int QUEUE = 1000;

  private final KubernetesClient client;
  private final AtomicLong dropped = new AtomicLong();
  private final ExecutorService sender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
      new ArrayBlockingQueue<>(QUEUE), ObjectEvents::daemon, (event, pool) -> {
        long count = dropped.incrementAndGet();
        if (count == 1 || count % QUEUE == 0) {
          LOG.warnf("%d Event(s) not recorded so far: more than %d waiting to be sent", count, QUEUE);
        }
      });

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
    sender.execute(() -> {
      try {
        client.v1().events().inNamespace(namespace).resource(event).create();
      } catch (KubernetesClientException e) {
        LOG.warnf("could not record event for %s %s/%s: %s", event.getInvolvedObject().getKind(), namespace,
            event.getInvolvedObject().getName(), e.getMessage());
      }
    });
  }

  private static Thread daemon(Runnable sending) {
    Thread thread = new Thread(sending, "events");
    thread.setDaemon(true);
    return thread;
  }
}
