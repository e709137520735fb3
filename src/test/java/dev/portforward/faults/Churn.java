package dev.portforward.faults;

import static dev.portforward.testbed.PortForwards.condition;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.testbed.PortForwards;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * PortForward changes at a steady rate, as a busy GitOps pipeline makes them: each change moves
 * one forward's listen port between its own free port and the kubelet's port 10250, which the
 * operator refuses (ReservedPort). So every change is a new generation with a different right
 * answer, and a status that missed the last change is wrong in a way a reader can see.
 *
 * <p>Writers own disjoint forwards, so each forward's changes are ordered. A change the API server
 * acknowledged is remembered; one that failed (the API server or etcd away) leaves its forward
 * in doubt until the next acknowledged change, since it may have been stored all the same.
 */
final class Churn implements AutoCloseable {

  /** The kubelet's port: every listen on it is refused, whatever else the forward says. */
  static final int RESERVED = 10250;

  /** What the churn held. */
  record Held(int changes, int failures, double seconds) {
    double perSecond() {
      return changes / seconds;
    }

    @Override
    public String toString() {
      return "%.0f changes/s (%d in %.1f s)".formatted(perSecond(), changes, seconds);
    }
  }

  private final KubernetesClient client;
  private final String namespace;
  /** Each forward's own free port. */
  private final Map<String, Integer> ports;
  private final double perSecond;
  private final int writers;
  /** The listen port each forward's last acknowledged change set; absent while in doubt. */
  private final Map<String, Integer> acknowledged = new ConcurrentHashMap<>();
  private final AtomicInteger changes = new AtomicInteger();
  private final AtomicInteger failures = new AtomicInteger();
  private final AtomicBoolean running = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();
  /** Whether an accepted forward must also be Ready (a real agent programs the forwards). */
  private boolean dataPlane;
  private long startedNanos;
  private long stoppedNanos;

  /**
   * Creates {@code count} forwards and waits until they are accepted. {@code spec} is a manifest's
   * spec (see {@link PortForwards#of}) with {@code %d} where the listen port goes.
   */
  static Churn create(KubernetesClient client, String namespace, int count, double perSecond, int writers,
      String spec) {
    Map<String, Integer> ports = new ConcurrentHashMap<>();
    for (int i = 0; i < count; i++) {
      String name = "churn-" + i;
      int port = PortForwards.uniquePort();
      ports.put(name, port);
      client.resource(PortForwards.of(namespace, name, spec.formatted(port))).create();
    }
    Churn churn = new Churn(client, namespace, ports, perSecond, writers);
    ports.forEach((name, port) -> churn.acknowledged.put(name, port));
    ports.keySet().forEach(name -> PortForwards.awaitAccepted(client, namespace, name));
    return churn;
  }

  private Churn(KubernetesClient client, String namespace, Map<String, Integer> ports, double perSecond, int writers) {
    this.client = client;
    this.namespace = namespace;
    this.ports = ports;
    this.perSecond = perSecond;
    this.writers = writers;
  }

  /** From now on, an accepted forward is right only once it is also Ready: an agent carries it. */
  Churn expectReady() {
    dataPlane = true;
    return this;
  }

  /** Starts the writers, counting afresh (a churn may be started again after {@link #stop}). */
  void start() {
    changes.set(0);
    failures.set(0);
    threads.clear();
    running.set(true);
    startedNanos = System.nanoTime();
    List<String> names = List.copyOf(ports.keySet());
    for (int w = 0; w < writers; w++) {
      List<String> own = new ArrayList<>();
      for (int i = w; i < names.size(); i += writers) {
        own.add(names.get(i));
      }
      Thread writer = new Thread(() -> write(own), "churn-" + w);
      writer.setDaemon(true);
      writer.start();
      threads.add(writer);
    }
  }

  /**
   * One writer's share of the rate, paced by the clock: a change that took long is followed at
   * once by the next one due, never by a burst to catch up, so the rate held is what the API
   * server and the operator took.
   */
  private void write(List<String> own) {
    long period = (long) (TimeUnit.SECONDS.toNanos(1) * writers / perSecond);
    long due = System.nanoTime();
    for (int n = 0; running.get(); n++) {
      String name = own.get(n % own.size());
      int next = acknowledged.getOrDefault(name, RESERVED) == RESERVED ? ports.get(name) : RESERVED;
      acknowledged.remove(name);
      try {
        client.resources(PortForward.class).inNamespace(namespace).withName(name)
            .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"listen\":{\"port\":%d}}}".formatted(next));
        acknowledged.put(name, next);
        changes.incrementAndGet();
      } catch (RuntimeException refused) {
        failures.incrementAndGet();
      }
      due = Math.max(due + period, System.nanoTime());
      LockSupport.parkNanos(due - System.nanoTime());
    }
  }

  /** Stops the writers and says what they held. */
  Held stop() throws InterruptedException {
    running.set(false);
    for (Thread writer : threads) {
      writer.join(TimeUnit.MINUTES.toMillis(2));
    }
    stoppedNanos = System.nanoTime();
    return held();
  }

  Held held() {
    long end = running.get() ? System.nanoTime() : stoppedNanos;
    return new Held(changes.get(), failures.get(), (end - startedNanos) / 1e9);
  }

  /**
   * The forwards whose status is not right for their last change (a lost update, while it lasts):
   * the status and every condition observed the current generation, Accepted says what that
   * generation's port deserves (and Ready follows, with {@link #expectReady}), and the stored port
   * is the last acknowledged one (unless a change whose outcome was unknown came after it).
   */
  List<String> wrong() {
    List<String> wrong = new ArrayList<>();
    for (PortForward pf : client.resources(PortForward.class).inNamespace(namespace).list().getItems()) {
      String name = pf.getMetadata().getName();
      if (!ports.containsKey(name)) {
        continue;
      }
      Long generation = pf.getMetadata().getGeneration();
      int port = pf.getSpec().getListen().getPort();
      boolean refused = port == RESERVED;
      Integer written = acknowledged.get(name);
      boolean right = pf.getStatus() != null
          && generation.equals(pf.getStatus().getObservedGeneration())
          && pf.getStatus().getConditions().stream().allMatch(c -> generation.equals(c.getObservedGeneration()))
          && condition(pf, Conditions.ACCEPTED)
              .filter(c -> c.getStatus().equals(refused ? "False" : "True"))
              .filter(c -> c.getReason().equals(refused ? Conditions.Reason.RESERVED_PORT : Conditions.Reason.ACCEPTED))
              .isPresent()
          && (refused || !dataPlane
              || condition(pf, Conditions.READY).filter(c -> c.getStatus().equals("True")).isPresent())
          && (written == null || written == port);
      if (!right) {
        wrong.add(name + " (generation " + generation + ", port " + port + ", status "
            + (pf.getStatus() == null ? "none" : "observed " + pf.getStatus().getObservedGeneration()
                + ", Accepted " + condition(pf, Conditions.ACCEPTED).map(c -> c.getStatus() + "/" + c.getReason())
                    .orElse("none")
                + ", Ready " + condition(pf, Conditions.READY).map(c -> c.getStatus() + "/" + c.getReason())
                    .orElse("none"))
            + ")");
      }
    }
    return wrong;
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
