package dev.portforward.relay;

import dev.portforward.common.Cidr;
import dev.portforward.common.ConfigWatcher;
import dev.portforward.common.RoleReadiness;
import dev.portforward.relay.config.InvalidConfigException;
import dev.portforward.relay.config.RelayConfig;
import dev.portforward.relay.config.RelayConfigParser;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * The relay role: serves the forwards of a config file until SIGTERM, then drains. It needs no
 * API server, so it can run by hand: {@code relay --config relay.yaml}. The config may also be a
 * directory of files, such as a projected volume of several ConfigMaps.
 */
@ApplicationScoped
public class RelayRole {

  private final RelaySettings settings;
  private final RoleReadiness readiness;
  private final MeterRegistry metrics;
  private volatile Relay relay;
  private volatile ConfigWatcher<RelayConfig> watcher;

  RelayRole(RelaySettings settings, RoleReadiness readiness, MeterRegistry metrics) {
    this.settings = settings;
    this.readiness = readiness;
    this.metrics = metrics;
  }

  public int run(String... args) {
    List<String> options = List.of(args);
    int flag = options.indexOf("--config");
    String file = flag >= 0 && flag + 1 < args.length ? args[flag + 1] : settings.configFile().orElse(null);
    if (file == null) {
      System.err.println("relay: --config PATH is required (or portforward.relay.config-file)");
      return 2;
    }
    Path path = Path.of(file);
    InetAddress defaultListenAddress;
    RelayConfig config;
    try {
      defaultListenAddress = Cidr.parseAddress(settings.defaultListenAddress());
    } catch (IllegalArgumentException e) {
      System.err.println("relay: portforward.relay.default-listen-address: " + e.getMessage());
      return 2;
    }
    try {
      config = RelayConfigParser.read(path, defaultListenAddress);
    } catch (InvalidConfigException e) {
      System.err.println("relay: invalid config " + path + ":\n  " + String.join("\n  ", e.problems()));
      return 2;
    }
    Relay relay = new Relay(settings.eventLoopThreads(), metrics);
    if (!relay.apply(config).isEmpty()) {
      relay.close();
      return 1;
    }
    watcher = new ConfigWatcher<>("relay", path, () -> RelayConfigParser.read(path, defaultListenAddress), config,
        relay::apply, metrics, settings.configCheckInterval());
    this.relay = relay;
    readiness.use("relay", relay::isServing);
    Quarkus.waitForExit();
    return 0;
  }

  /**
   * SIGTERM: drain inside the shutdown itself, which the JVM waits for; the main thread is not
   * waited for. Metrics stay up meanwhile. The pod's terminationGracePeriodSeconds must exceed
   * the drain timeout.
   */
  void drainOnShutdown(@Observes ShutdownEvent event) {
    if (relay != null) {
      watcher.close();
      relay.drainAndClose();
    }
  }
}
