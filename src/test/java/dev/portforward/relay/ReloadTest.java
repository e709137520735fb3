package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.portforward.relay.config.RelayConfigParser;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Applying a new forward table while clients are connected. */
class ReloadTest {

  @RegisterExtension final RelayFixture fixture = new RelayFixture();
  private final Backends backends = fixture.backends;

  private static String config(int listen, int target, String extra) {
    return """
        drainTimeout: 5m
        forwards:
          - name: web
            listen: {address: 127.0.0.1, port: %d}
            target: {host: 127.0.0.1, port: %d}
        %s""".formatted(listen, target, extra);
  }

  /** Connects, checks which backend answered, and leaves the connection open. */
  private Socket reach(int port, String backend) throws IOException {
    Socket socket = fixture.connect(port);
    assertThat(new String(socket.getInputStream().readNBytes(3))).isEqualTo(backend);
    return socket;
  }

  private static void assertEchoes(Socket socket) throws IOException {
    socket.getOutputStream().write("ping".getBytes());
    assertThat(new String(socket.getInputStream().readNBytes(4))).isEqualTo("ping");
  }

  @Test
  void aChangedTargetAppliesToNewConnectionsAndKeepsEstablishedOnes() throws Exception {
    int port = RelayFixture.freePort();
    int one = backends.tcpNamed("one");
    fixture.apply(config(port, one, ""));
    Socket established = reach(port, "one");
    fixture.apply(config(port, backends.tcpNamed("two"), ""));
    reach(port, "two");
    assertEchoes(established);
  }

  @Test
  void aMovedForwardListensOnTheNewAddressAndDrainsOnTheOld() throws Exception {
    int oldPort = RelayFixture.freePort();
    int newPort = RelayFixture.freePort();
    int target = backends.tcpNamed("one");
    fixture.apply(config(oldPort, target, ""));
    Socket established = reach(oldPort, "one");
    fixture.apply(config(newPort, target, ""));
    reach(newPort, "one");
    assertThatThrownBy(() -> fixture.connect(oldPort)).isInstanceOf(ConnectException.class);
    assertEchoes(established);
  }

  @Test
  void twoForwardsCanSwapPorts() throws Exception {
    int a = RelayFixture.freePort();
    int b = RelayFixture.freePort();
    int one = backends.tcpNamed("one");
    int two = backends.tcpNamed("two");
    String table = """
        forwards:
          - {name: first, listen: {address: 127.0.0.1, port: %d}, target: {host: 127.0.0.1, port: %d}}
          - {name: second, listen: {address: 127.0.0.1, port: %d}, target: {host: 127.0.0.1, port: %d}}
        """;
    fixture.apply(table.formatted(a, one, b, two));
    fixture.apply(table.formatted(b, one, a, two));
    reach(b, "one");
    reach(a, "two");
  }

  @Test
  void aForwardThatCannotBindIsReportedAndTheOthersApply() throws Exception {
    int port = RelayFixture.freePort();
    int target = backends.tcpNamed("one");
    fixture.apply(config(port, target, ""));
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      List<String> failures = fixture.relay.apply(RelayConfigParser.parse(config(taken.getLocalPort(), target, """
              - name: extra
                listen: {address: 127.0.0.1, port: %d}
                target: {host: 127.0.0.1, port: %d}
            """.formatted(RelayFixture.freePort(), target))));
      assertThat(failures).singleElement().asString()
          .startsWith("forward web: cannot listen on /127.0.0.1:" + taken.getLocalPort());
    }
    reach(port, "one");
  }

  @Test
  void aForwardThatChangesProtocolIsCountedUnderTheNewOneOnceTheOldHasDrained() throws Exception {
    int port = RelayFixture.freePort();
    String table = """
        drainTimeout: 100ms
        forwards:
          - {name: web, protocol: %s, listen: {address: 127.0.0.1, port: %d}, target: {host: 127.0.0.1, port: 9}}
        """;
    fixture.apply(table.formatted("TCP", port));
    fixture.apply(table.formatted("UDP", port));
    await().until(() -> fixture.registry.find("portforward.relay.connections")
        .tags("forward", "web", "protocol", "TCP").functionCounter() == null);
    assertThat(fixture.registry.find("portforward.relay.connections")
        .tags("forward", "web", "protocol", "UDP").functionCounter()).isNotNull();
  }

  @Test
  void reloadsUnderLoadDropNoConnection() throws Exception {
    int port = RelayFixture.freePort();
    int one = backends.tcpNamed("one");
    int two = backends.tcpNamed("two");
    fixture.apply(config(port, one, ""));
    AtomicBoolean reloading = new AtomicBoolean(true);
    AtomicInteger served = new AtomicInteger();
    List<CompletableFuture<Void>> clients = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      clients.add(CompletableFuture.runAsync(() -> {
        while (reloading.get() || served.get() < 100) {
          try (Socket socket = fixture.connect(port)) {
            assertThat(new String(socket.getInputStream().readNBytes(3))).isIn("one", "two");
            assertEchoes(socket);
            served.incrementAndGet();
          } catch (IOException e) {
            throw new AssertionError("a connection failed during reloads", e);
          }
        }
      }));
    }
    for (int i = 0; i < 50; i++) {
      int extra = RelayFixture.freePort();
      fixture.apply(config(port, i % 2 == 0 ? two : one, i % 3 == 0 ? "" : """
              - name: extra
                listen: {address: 127.0.0.1, port: %d}
                target: {host: 127.0.0.1, port: %d}
                maxConnections: %d
            """.formatted(extra, one, 100 + i)));
    }
    reloading.set(false);
    CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).join();
    assertThat(served.get()).isGreaterThanOrEqualTo(100);
    assertThat(fixture.counter("portforward.relay.refused", "forward", "web", "reason", "limit")).isZero();
  }
}
