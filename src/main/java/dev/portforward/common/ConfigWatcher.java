package dev.portforward.common;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * Applies a role's config file (or directory) again whenever what it says changes; the relay and
 * the tunnel server use it. It is polled rather than watched: a mounted ConfigMap or Secret is
 * replaced by swapping a symlink, which file watches miss. A config that does not validate is
 * logged and counted once, and the role keeps its last good one.
 *
 * @param <C> the parsed config; equal configs are not applied again
 */
public final class ConfigWatcher<C> implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ConfigWatcher.class);

  /** Reads and validates the config; the exception's message says what is wrong. */
  @FunctionalInterface
  public interface Reader<C> {
    C read() throws Exception;
  }

  private final Path path;
  private final Reader<C> reader;
  private final Function<C, List<String>> apply;
  private final Counter applied;
  private final Counter rejected;
  private final ScheduledExecutorService timer;
  private C current;
  private String lastRejected;

  /**
   * @param role names the thread and the metric {@code portforward.<role>.config.reloads}
   * @param apply applies a changed config; returns what could not be applied (empty: all of it)
   */
  public ConfigWatcher(String role, Path path, Reader<C> reader, C applied, Function<C, List<String>> apply,
      MeterRegistry registry, Duration interval) {
    this.path = path;
    this.reader = reader;
    this.current = applied;
    this.apply = apply;
    String metric = "portforward." + role + ".config.reloads";
    this.applied = Counter.builder(metric).tag("result", "applied")
        .description("Config changes, applied or rejected").register(registry);
    this.rejected = Counter.builder(metric).tag("result", "rejected")
        .description("Config changes, applied or rejected").register(registry);
    this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, role + "-config");
      thread.setDaemon(true);
      return thread;
    });
    timer.scheduleWithFixedDelay(this::check, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Parses on every check, so that a changed file a config refers to (a rotated Secret) is noticed too. */
  private void check() {
    C next;
    try {
      next = reader.read();
    } catch (Exception e) {
      if (!String.valueOf(e.getMessage()).equals(lastRejected)) {
        lastRejected = String.valueOf(e.getMessage());
        rejected.increment();
        LOG.errorf("config %s: rejected, keeping the current one: %s", path, e.getMessage());
      }
      return;
    }
    lastRejected = null;
    if (next.equals(current)) {
      return;
    }
    current = next;
    List<String> failures;
    try {
      failures = apply.apply(next);
    } catch (RuntimeException e) {
      failures = List.of(String.valueOf(e));
    }
    (failures.isEmpty() ? applied : rejected).increment();
    LOG.infof("config %s: reloaded%s", path, failures.isEmpty() ? "" : ", except " + failures);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
