package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.relay.config.InvalidConfigException;
import dev.portforward.relay.config.RelayConfigParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** An in-process relay on loopback, configured with YAML as a user would write it. */
final class RelayFixture implements AutoCloseable {

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final Relay relay = new Relay(2, registry);

  void apply(String yaml) throws InvalidConfigException {
    assertThat(relay.apply(RelayConfigParser.parse(yaml))).isEmpty();
  }

  double counter(String name, String... tags) {
    var counter = registry.find(name).tags(tags).functionCounter();
    return counter == null ? 0 : counter.count();
  }

  double gauge(String name, String... tags) {
    return registry.get(name).tags(tags).gauge().value();
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    relay.close();
  }
}
