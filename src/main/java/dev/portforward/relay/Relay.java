package dev.portforward.relay;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.portforward.common.Resolver;
import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.RelayConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The relay's data plane: the forwards of the current config, on one shared event-loop group.
 * Nothing here knows about Kubernetes; it is driven by {@link #apply} with whatever config the
 * caller read.
 */
public final class Relay implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(Relay.class);
  private static final long DRAIN_CHECK_MILLIS = 50;

  private final EventLoopGroup group;
  private final Resolver resolver = new Resolver();
  private final MeterRegistry registry;
  private final ScheduledExecutorService drains = Executors.newSingleThreadScheduledExecutor(runnable -> {
    Thread thread = new Thread(runnable, "relay-drain");
    thread.setDaemon(true);
    return thread;
  });
  private final Map<String, Listener> listeners = new LinkedHashMap<>();
  /** Counters by forward name and protocol: they outlive a moved listener, not a changed protocol. */
  private final Map<String, ForwardMetrics> metrics = new HashMap<>();
  /** Listeners of removed or moved forwards whose connections are draining. */
  private final Set<Listener> draining = ConcurrentHashMap.newKeySet();
  private volatile Duration drainTimeout = Duration.ofSeconds(30);
  private volatile boolean stopping;

  /**
   * @param threads event-loop threads; 0 for one per core: a relay only moves bytes and never
   *     blocks, so more threads than cores only add context switches
   */
  public Relay(int threads, MeterRegistry registry) {
    this.group = Transport.group(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
    this.registry = registry;
  }

  /**
   * Makes the forwards those of {@code config}. Unchanged forwards are not touched; a forward
   * whose protocol and listen address are unchanged keeps its socket and connections; removed
   * ones stop accepting and drain. A forward that cannot bind is reported and left as it was.
   *
   * @return one message per forward that could not be applied; empty when all were
   */
  public synchronized List<String> apply(RelayConfig config) {
    drainTimeout = config.drainTimeout();
    openFileLimit().flatMap(limit -> DescriptorBudget.shortfall(config.forwards(), limit)).ifPresent(LOG::warn);
    Map<String, Forward> next = new LinkedHashMap<>();
    config.forwards().forEach(forward -> next.put(forward.name(), forward));
    for (String name : List.copyOf(listeners.keySet())) {
      if (!next.containsKey(name)) {
        retire(listeners.remove(name));
        LOG.infof("forward=%s removed; draining", name);
      }
    }
    List<Forward> pending = new ArrayList<>();
    for (Forward forward : next.values()) {
      Listener current = listeners.get(forward.name());
      if (current != null && current.forward().equals(forward)) {
        continue;
      }
      if (current != null && current.forward().sharesListenerWith(forward)) {
        current.update(forward);
        LOG.infof("forward=%s updated in place", forward.name());
        continue;
      }
      pending.add(forward);
    }
    // Bind before retiring, so a moved forward stays reachable throughout. Where that fails
    // because another moving forward of ours still holds the port (two forwards swapping
    // ports), those old listeners stop first and the bind is tried once more.
    Map<Forward, String> failed = startAll(pending);
    if (!failed.isEmpty()) {
      for (Forward stuck : failed.keySet()) {
        Listener old = listeners.get(stuck.name());
        if (old != null && failed.keySet().stream().anyMatch(f -> f != stuck && f.sameSocketSpace(old.forward()))) {
          retire(listeners.remove(stuck.name()));
        }
      }
      failed = startAll(List.copyOf(failed.keySet()));
    }
    List<String> failures = List.copyOf(failed.values());
    failures.forEach(LOG::error);
    return failures;
  }

  private Map<Forward, String> startAll(List<Forward> forwards) {
    Map<Forward, String> failed = new LinkedHashMap<>();
    for (Forward forward : forwards) {
      try {
        start(forward);
      } catch (Exception e) {
        failed.put(forward, "forward " + forward.name() + ": cannot listen on " + forward.listen() + ": " + e.getMessage());
      }
    }
    return failed;
  }

  private void start(Forward forward) throws InterruptedException {
    ForwardMetrics counters = metrics.computeIfAbsent(
        metricsKey(forward), key -> new ForwardMetrics(registry, forward.name(), forward.protocol().name()));
    Listener listener = Listener.of(forward, counters, resolver);
    listener.bind(group);
    Listener previous = listeners.put(forward.name(), listener);
    if (previous != null) {
      retire(previous);
    }
    LOG.infof("forward=%s protocol=%s listen=%s target=%s serving", forward.name(), forward.protocol(),
        forward.listen(), forward.targets().isEmpty() ? "(SOCKS5 clients name it)"
            : forward.targets().stream().map(Object::toString).collect(Collectors.joining(",")));
  }

  /** Stops accepting now and closes what is left when the drain timeout is up. */
  private void retire(Listener listener) {
    listener.stopAccepting();
    draining.add(listener);
    drains.schedule(() -> finishDrain(listener), drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private synchronized void finishDrain(Listener listener) {
    listener.closeAll();
    draining.remove(listener);
    String key = metricsKey(listener.forward());
    if (Stream.concat(listeners.values().stream(), draining.stream()).noneMatch(l -> metricsKey(l.forward()).equals(key))) {
      metrics.remove(key).close();
    }
  }

  /** The process's open-file limit (the soft one, which the JVM raises to the hard one), where the JVM tells it. */
  private static Optional<Long> openFileLimit() {
    return ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
        ? Optional.of(unix.getMaxFileDescriptorCount())
        : Optional.empty();
  }

  private static String metricsKey(Forward forward) {
    return forward.name() + " " + forward.protocol();
  }

  /** False once the relay has begun to stop, so that no new clients are sent its way. */
  public boolean isServing() {
    return !group.isShuttingDown() && !stopping;
  }

  /**
   * Graceful stop: every socket stops accepting at once; established connections may finish
   * until the config's drain timeout is up, then whatever is left is closed.
   */
  public void drainAndClose() {
    long deadline = System.nanoTime() + drainTimeout.toNanos();
    List<Listener> all;
    synchronized (this) {
      stopping = true;
      listeners.values().forEach(Listener::stopAccepting);
      draining.addAll(listeners.values());
      listeners.clear();
      all = List.copyOf(draining);
    }
    LOG.infof("stopping: no new connections; draining %d for up to %s", open(all), drainTimeout);
    while (open(all) > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(DRAIN_CHECK_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    LOG.infof("stopped: closing %d connections left after the drain", open(all));
    all.forEach(Listener::closeAll);
    close();
  }

  private static int open(List<Listener> listeners) {
    return listeners.stream().mapToInt(Listener::openConnections).sum();
  }

  @Override
  public void close() {
    drains.shutdownNow();
    synchronized (this) {
      listeners.values().forEach(Listener::closeAll);
      draining.forEach(Listener::closeAll);
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    resolver.close();
  }
}
