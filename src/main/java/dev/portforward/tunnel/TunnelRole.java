package dev.portforward.tunnel;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.portforward.common.ConfigWatcher;
import dev.portforward.common.RoleReadiness;
import dev.portforward.tunnel.config.InvalidTunnelConfigException;
import dev.portforward.tunnel.config.TunnelConfig;
import dev.portforward.tunnel.config.TunnelConfigParser;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The tunnel role: an SSH server for port forwarding only, serving the users of a config file
 * until SIGTERM. Like the relay it needs no API server: {@code tunnel --config tunnel.yaml}.
 */
@ApplicationScoped
public class TunnelRole {

  static final String CLIENTS_PATH = "/tunnel/clients";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final TunnelSettings settings;
  private final RoleReadiness readiness;
  private final MeterRegistry metrics;
  private volatile TunnelServer server;
  private volatile ConfigWatcher<TunnelConfig> watcher;

  TunnelRole(TunnelSettings settings, RoleReadiness readiness, MeterRegistry metrics) {
    this.settings = settings;
    this.readiness = readiness;
    this.metrics = metrics;
  }

  public int run(String... args) {
    List<String> options = List.of(args);
    int flag = options.indexOf("--config");
    String file = flag >= 0 && flag + 1 < args.length ? args[flag + 1] : settings.configFile().orElse(null);
    if (file == null) {
      System.err.println("tunnel: --config FILE is required (or portforward.tunnel.config-file)");
      return 2;
    }
    Path path = Path.of(file);
    TunnelConfig config;
    try {
      config = TunnelConfigParser.read(path);
    } catch (InvalidTunnelConfigException e) {
      System.err.println("tunnel: invalid config " + path + ":\n  " + String.join("\n  ", e.problems()));
      return 2;
    }
    TunnelServer started = new TunnelServer(config, metrics);
    try {
      started.start();
    } catch (IOException e) {
      System.err.println("tunnel: cannot start: " + e.getMessage());
      started.close();
      return 1;
    }
    server = started;
    watcher = new ConfigWatcher<>("tunnel", path, () -> TunnelConfigParser.read(path), config, next -> {
      started.apply(next);
      return List.of();
    }, metrics, settings.configCheckInterval());
    readiness.use("tunnel", started::isServing);
    Quarkus.waitForExit();
    return 0;
  }

  /**
   * {@code GET /tunnel/clients} on the HTTP port: the server's {@link TunnelServer.Report} as JSON
   * (client count, the first clients with their bound ports and bytes, refusals by reason), which
   * the operator reads from the pod to write the SSHTunnel's status: the pod holds no API
   * credentials.
   */
  void clientsRoute(@Observes Router router) {
    router.get(CLIENTS_PATH).handler(context -> {
      TunnelServer current = server;
      if (current == null) {
        context.response().setStatusCode(503).end();
        return;
      }
      try {
        context.response().putHeader("Content-Type", "application/json")
            .end(JSON.writeValueAsString(current.report()));
      } catch (JsonProcessingException e) {
        context.fail(e);
      }
    });
  }

  /** SIGTERM: the server stops listening and closes its sessions; clients reconnect elsewhere. */
  void stopOnShutdown(@Observes ShutdownEvent event) {
    if (server != null) {
      watcher.close();
      server.close();
    }
  }
}
