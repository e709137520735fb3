package dev.portforward.tunnel;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** Process settings of the tunnel role; users and their rights come from the config file. */
@ConfigMapping(prefix = "portforward.tunnel")
public interface TunnelSettings {

  /** The tunnel config file; {@code tunnel --config FILE} overrides it. */
  Optional<String> configFile();

  /** How often the config file (and the key files it names) is checked for changes. */
  @WithDefault("2s")
  Duration configCheckInterval();
}
