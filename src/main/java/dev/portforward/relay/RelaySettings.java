package dev.portforward.relay;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** Process settings of the relay role; the forwards themselves come from the config file. */
@ConfigMapping(prefix = "portforward.relay")
public interface RelaySettings {

  /** The forward table, a file or a directory of them; {@code relay --config PATH} overrides it. */
  Optional<String> configFile();

  /**
   * The address a forward binds when its config names none. A sidecar sets its pod's IP here, so
   * that it binds podIP:port next to an app that holds 127.0.0.1:port.
   */
  @WithDefault("0.0.0.0")
  String defaultListenAddress();

  /** How often the config file is checked for changes (a mounted ConfigMap changes in place). */
  @WithDefault("2s")
  Duration configCheckInterval();

  /** Event-loop threads shared by all forwards; 0 for one per core. */
  @WithDefault("0")
  int eventLoopThreads();
}
