package dev.portforward.relay;

import dev.portforward.relay.config.InvalidConfigException;
import dev.portforward.relay.config.RelayConfig;
import dev.portforward.relay.config.RelayConfigParser;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Applies the config file (or directory) again whenever what it says changes. It is polled rather
 * than watched: a mounted ConfigMap is replaced by swapping a symlink, which file watches miss. A
 * config that does not validate is logged and counted once, and the relay keeps its last good one.
 */
final class ConfigWatcher implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ConfigWatcher.class);

  private final Path path;
  private final InetAddress defaultListenAddress;
  private final Relay relay;
  private final Counter applied;
  private final Counter rejected;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
    Thread thread = new Thread(runnable, "relay-config");
    thread.setDaemon(true);
    return thread;
  });
  private RelayConfig current;
  private String lastRejected;

  ConfigWatcher(Path path, InetAddress defaultListenAddress, RelayConfig applied, Relay relay,
      MeterRegistry registry, Duration interval) {
    this.path = path;
    this.defaultListenAddress = defaultListenAddress;
    this.current = applied;
    this.relay = relay;
    this.applied = Counter.builder("portforward.relay.config.reloads").tag("result", "applied")
        .description("Config changes, applied or rejected").register(registry);
    this.rejected = Counter.builder("portforward.relay.config.reloads").tag("result", "rejected")
        .description("Config changes, applied or rejected").register(registry);
    timer.scheduleWithFixedDelay(this::check, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Parses on every check, so that a changed users directory (a rotated Secret) is noticed too. */
  private void check() {
    RelayConfig next;
    try {
      next = RelayConfigParser.read(path, defaultListenAddress);
    } catch (InvalidConfigException e) {
      if (!e.getMessage().equals(lastRejected)) {
        lastRejected = e.getMessage();
        rejected.increment();
        LOG.errorf("config %s: rejected, keeping the current forwards: %s", path, e.getMessage());
      }
      return;
    }
    lastRejected = null;
    if (next.equals(current)) {
      return;
    }
    current = next;
    List<String> failures = relay.apply(next);
    (failures.isEmpty() ? applied : rejected).increment();
    LOG.infof("config %s: reloaded%s", path, failures.isEmpty() ? "" : ", except " + failures);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
