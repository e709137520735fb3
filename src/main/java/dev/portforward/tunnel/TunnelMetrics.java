package dev.portforward.tunnel;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToIntFunction;

/**
 * The tunnel server's metrics, labelled by user. Users come from the config file, so the labels
 * stay few; a name that is no user is counted as {@code (unknown)}, so a client cannot make new
 * series by trying names.
 */
final class TunnelMetrics {

  static final String UNKNOWN_USER = "(unknown)";

  private final MeterRegistry registry;
  private final Set<String> gauged = ConcurrentHashMap.newKeySet();

  TunnelMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void refused(String user, Refusal reason) {
    Counter.builder("portforward.tunnel.refused").description("Requests the tunnel server turned away")
        .tag("user", user).tag("reason", reason.label()).register(registry).increment();
  }

  void channelOpened(String user) {
    Counter.builder("portforward.tunnel.channels").description("-L and -D channels connected")
        .tag("user", user).register(registry).increment();
  }

  void keepaliveTimeout(String user) {
    Counter.builder("portforward.tunnel.keepalive.timeouts")
        .description("Sessions closed because the client stopped answering keepalives")
        .tag("user", user).register(registry).increment();
  }

  /** Registers the user's gauges once; they read the server's live state when scraped. */
  void gauges(String user, TunnelServer server) {
    if (!gauged.add(user)) {
      return;
    }
    gauge("portforward.tunnel.sessions.active", "Logged-in SSH sessions", user, server, s -> s.sessionsOf(user));
    gauge("portforward.tunnel.channels.active", "Open -L and -D channels", user, server, s -> s.channelsOf(user));
    gauge("portforward.tunnel.remote.forwards.bound", "Bound -R ports", user, server, s -> s.boundPortsOf(user));
  }

  private void gauge(String name, String description, String user, TunnelServer server, ToIntFunction<TunnelServer> value) {
    Gauge.builder(name, server, s -> value.applyAsInt(s)).description(description).tag("user", user).strongReference(true).register(registry);
  }
}
