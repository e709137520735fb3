package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.relay.config.InvalidConfigException;
import dev.portforward.relay.config.RelayConfigParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * An in-process relay on loopback, configured with YAML as a user would write it, with test
 * backends and client sockets that are all closed after each test.
 */
final class RelayFixture implements AfterEachCallback, AutoCloseable {

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final Relay relay = new Relay(2, registry);
  final Backends backends = new Backends();
  private final List<Socket> clients = new CopyOnWriteArrayList<>();

  void apply(String yaml) throws InvalidConfigException {
    assertThat(relay.apply(RelayConfigParser.parse(yaml))).isEmpty();
  }

  /** A client connection on loopback, with a read timeout so that a broken relay fails, not hangs. */
  Socket connect(int port) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    clients.add(socket);
    socket.setSoTimeout(10_000);
    return socket;
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
  public void afterEach(ExtensionContext context) throws Exception {
    close();
  }

  @Override
  public void close() throws Exception {
    for (Socket client : clients) {
      client.close();
    }
    relay.close();
    backends.close();
  }
}
