package dev.portforward.operator;

import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.InformerStoppedHandler;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.quarkus.arc.Unremovable;
import io.quarkus.runtime.ApplicationLifecycleManager;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * How the operator process ends. Its parts (framework instances, the webhook) stop when Quarkus
 * shuts down, before it closes the Kubernetes client they use: a watch that saw the client closed
 * first would count as one that stopped for good. And the process ends when a framework instance
 * cannot go on: it lost its lease (another replica leads now) or a watch stopped for good after
 * its cache had synced; the pod then restarts and campaigns afresh. That goes through Quarkus's
 * exit: the framework's own {@code System.exit} ran on the elector's thread or on the HTTP
 * client's event loop, which the shutdown needs, and left a process that neither reconciled nor
 * exited.
 */
@Singleton
public class OperatorLifecycle {

  private static final Logger LOG = Logger.getLogger(OperatorLifecycle.class);

  private final Deque<AutoCloseable> running = new ConcurrentLinkedDeque<>();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final AtomicBoolean failed = new AtomicBoolean();

  /** Stops {@code part} when the process stops, before the parts registered earlier. */
  void stopOnShutdown(AutoCloseable part) {
    running.push(part);
  }

  void stop(@Observes ShutdownEvent event) {
    stopping.set(true);
    for (AutoCloseable part = running.poll(); part != null; part = running.poll()) {
      try {
        part.close();
      } catch (Exception e) {
        LOG.warnf(e, "stopping %s failed", part);
      }
    }
  }

  /**
   * Leader election on {@code leaseName} whose lost lease ends the process; its holder is named by
   * HOSTNAME (the pod's name), as the framework does by default.
   */
  public LeaderElectionConfiguration leaderElection(String leaseName, String leaseNamespace, Duration leaseDuration,
      Duration renewDeadline, Duration retryPeriod) {
    LeaderCallbacks callbacks = new LeaderCallbacks(() -> { },
        () -> exit("lost the lease " + leaseName + " (another replica leads now)", null), leader -> { });
    return new LeaderElectionConfiguration(leaseName, leaseNamespace, leaseDuration, renewDeadline, retryPeriod, null,
        callbacks, false);
  }

  /**
   * Looked up by the operator framework's Quarkus extension for the PortForward controllers (which
   * otherwise have none, and would go on without the watch); the Gateway API ones get it too.
   */
  @Produces
  @Singleton
  @Unremovable
  public InformerStoppedHandler informerStopped() {
    return (informer, cause) -> {
      // An informer that never synced fails the framework's start instead.
      if (cause != null && informer.hasSynced()) {
        exit("saw a watch stop for good (" + informer + ")", cause);
      }
    };
  }

  /** Whether the process ends because a part could not go on. */
  boolean failed() {
    return failed.get();
  }

  private void exit(String reason, Throwable cause) {
    if (stopping.get() || ApplicationLifecycleManager.isVmShuttingDown()) {
      LOG.debugf("while stopping: %s", reason);
      return;
    }
    if (failed.compareAndSet(false, true)) {
      LOG.errorf(cause, "The operator %s; exiting, so that the pod restarts", reason);
      Quarkus.asyncExit(1);
    }
  }
}
