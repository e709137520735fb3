package dev.portforward.operator;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * {@code operator --uninstall}: deletes every PortForward of the cluster and waits until they are
 * gone, while the operator and the agents still run, so that each is finished as usual (the agents
 * remove its rules and gateway mappings, the operator releases its finalizer once the nodes have
 * reported it gone). Without a running operator nothing would release the finalizers and deleting
 * the CRDs would hang: after the timeout the finalizers still held are removed, with a log line
 * naming the forwards, so the uninstall never hangs. Then the node reports that list nothing, and
 * the webhook certificate's Secret, which the operator created at run time (helm does not know
 * it) when it carries the operator's label, are deleted.
 */
final class Uninstall {

  /** The finalizer the operator framework puts on every PortForward (its default for this CRD). */
  static final String FINALIZER = "portforwards.portforward.dev/finalizer";
  /** The managed-by label value of the objects the operator creates. */
  private static final String OPERATOR = "portforward-operator";
  private static final Logger LOG = Logger.getLogger(Uninstall.class);
  private static final Duration POLL = Duration.ofSeconds(1);
  /** How long forwards whose finalizer was removed may take to go. */
  private static final Duration AFTER_FINALIZERS = Duration.ofSeconds(30);

  private final KubernetesClient client;
  private final Duration timeout;
  private final Optional<SecretRef> webhookSecret;
  private final Clock clock = Clock.systemUTC();

  /** A Secret by namespace and name. */
  record SecretRef(String namespace, String name) {}

  Uninstall(KubernetesClient client, Duration timeout, Optional<SecretRef> webhookSecret) {
    this.client = client;
    this.timeout = timeout;
    this.webhookSecret = webhookSecret;
  }

  /** 0 when no PortForward is left, else 1 (each left one is logged). */
  int run() throws InterruptedException {
    int forwards = deleteForwards();
    if (forwards == 0) {
      deleteEmptyNodeReports();
    }
    webhookSecret.ifPresent(this::deleteWebhookSecret);
    return forwards;
  }

  private int deleteForwards() throws InterruptedException {
    List<PortForward> all = remaining();
    LOG.infof("uninstall: deleting %d PortForward(s) and waiting up to %s for the operator and the node agents"
        + " to remove their rules and gateway mappings", all.size(), seconds(timeout));
    all.forEach(pf -> client.resource(pf).delete());
    List<PortForward> left = waitUntilGone(timeout);
    if (left.isEmpty()) {
      LOG.info("uninstall: every PortForward is gone");
      return 0;
    }
    LOG.warnf("uninstall: %d PortForward(s) still held by the operator's finalizer after %s (is the operator"
        + " running?): %s. Removing the finalizers: running agents still remove the rules of forwards that are"
        + " gone; on nodes without a running agent, run `agent --cleanup`", left.size(), seconds(timeout), names(left));
    left.forEach(this::removeFinalizers);
    left = waitUntilGone(AFTER_FINALIZERS);
    if (left.isEmpty()) {
      LOG.info("uninstall: every PortForward is gone");
      return 0;
    }
    LOG.errorf("uninstall: %d PortForward(s) could not be removed: %s", left.size(), names(left));
    return 1;
  }

  /**
   * Deletes the node reports that list no forward (so no gateway mapping either): the agents
   * write theirs only when what they say changes, and say nothing new before helm deletes them,
   * whose credentials go with the release. A report still listing something stays, for the next
   * agent or {@code agent --cleanup} to act on.
   */
  private void deleteEmptyNodeReports() {
    try {
      for (PortForwardNodeReport report : client.resources(PortForwardNodeReport.class).list().getItems()) {
        if (report.getStatus() == null || report.getStatus().getForwards() == null
            || report.getStatus().getForwards().isEmpty()) {
          client.resource(report).delete();
        }
      }
      LOG.info("uninstall: deleted the node reports that list no forward");
    } catch (KubernetesClientException e) {
      LOG.warnf("uninstall: could not delete the node reports: %s", e.getMessage());
    }
  }

  /** Deletes the webhook's Secret if it is the operator's own (labelled so); a Secret of another owner stays. */
  private void deleteWebhookSecret(SecretRef ref) {
    try {
      Secret secret = client.secrets().inNamespace(ref.namespace()).withName(ref.name()).get();
      if (secret == null) {
        return;
      }
      String managedBy = Optional.ofNullable(secret.getMetadata().getLabels()).orElse(Map.of())
          .get("app.kubernetes.io/managed-by");
      if (!OPERATOR.equals(managedBy)) {
        LOG.infof("uninstall: Secret %s/%s is not the operator's (managed-by %s): left in place", ref.namespace(),
            ref.name(), managedBy);
        return;
      }
      client.resource(secret).delete();
      LOG.infof("uninstall: deleted the webhook certificate's Secret %s/%s", ref.namespace(), ref.name());
    } catch (KubernetesClientException e) {
      LOG.warnf("uninstall: could not delete the webhook certificate's Secret %s/%s: %s", ref.namespace(), ref.name(),
          e.getMessage());
    }
  }

  private List<PortForward> waitUntilGone(Duration bound) throws InterruptedException {
    Instant deadline = clock.instant().plus(bound);
    List<PortForward> left = remaining();
    while (!left.isEmpty() && clock.instant().isBefore(deadline)) {
      Thread.sleep(POLL.toMillis());
      left = remaining();
    }
    return left;
  }

  private List<PortForward> remaining() {
    return client.resources(PortForward.class).inAnyNamespace().list().getItems();
  }

  private void removeFinalizers(PortForward pf) {
    try {
      // Only the operator's own finalizer: another controller's stays.
      client.resources(PortForward.class).inNamespace(pf.getMetadata().getNamespace())
          .withName(pf.getMetadata().getName())
          .edit(current -> {
            current.getMetadata().getFinalizers().remove(FINALIZER);
            return current;
          });
    } catch (KubernetesClientException e) {
      LOG.warnf("uninstall: could not remove the finalizers of %s: %s", name(pf), e.getMessage());
    }
  }

  private static String seconds(Duration duration) {
    return duration.toSeconds() + "s";
  }

  private static String names(List<PortForward> pfs) {
    return String.join(", ", pfs.stream().map(Uninstall::name).toList());
  }

  private static String name(PortForward pf) {
    return pf.getMetadata().getNamespace() + "/" + pf.getMetadata().getName();
  }
}
