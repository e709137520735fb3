package dev.portforward.relay.config;

import java.time.Duration;
import java.util.List;

/**
 * Everything one relay config file says.
 *
 * @param drainTimeout how long connections of a removed forward, or of a stopping relay, may live on
 */
public record RelayConfig(Duration drainTimeout, List<Forward> forwards) {}
