package dev.portforward.relay;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** Process settings of the relay role; the forwards themselves come from the config file. */
@ConfigMapping(prefix = "portforward.relay")
public interface RelaySettings {

  /** The forward table; {@code relay --config FILE} overrides it. */
  Optional<String> configFile();

  /** How often the config file is checked for changes (a mounted ConfigMap changes in place). */
  @WithDefault("2s")
  Duration configCheckInterval();

  /** Event-loop threads shared by all forwards; 0 for one per core. */
  @WithDefault("0")
  int eventLoopThreads();
}
