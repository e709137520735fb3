package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Applying a new forward table while clients are connected. */
class ReloadTest {

  private final Backends backends = new Backends();
  private final RelayFixture fixture = new RelayFixture();

  @AfterEach
  void close() throws Exception {
    fixture.close();
    backends.close();
  }

  private static String config(int listen, int target, String extra) {
    return """
        drainTimeout: 5m
        forwards:
          - name: web
            listen: {address: 127.0.0.1, port: %d}
            target: {host: 127.0.0.1, port: %d}
        %s""".formatted(listen, target, extra);
  }

  /** Connects and returns the name of the backend reached; leaves the connection open in {@code open}. */
  private static String reach(int port, List<Socket> open) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(10_000);
    open.add(socket);
    return new String(socket.getInputStream().readNBytes(3));
  }

  private static void assertEchoes(Socket socket) throws IOException {
    socket.getOutputStream().write("ping".getBytes());
    assertThat(new String(socket.getInputStream().readNBytes(4))).isEqualTo("ping");
  }

  @Test
  void aChangedTargetAppliesToNewConnectionsAndKeepsEstablishedOnes() throws Exception {
    int port = RelayFixture.freePort();
    int one = backends.tcpNamed("one");
    int two = backends.tcpNamed("two");
    List<Socket> open = new ArrayList<>();
    try {
      fixture.apply(config(port, one, ""));
      assertThat(reach(port, open)).isEqualTo("one");
      fixture.apply(config(port, two, ""));
      assertThat(reach(port, open)).isEqualTo("two");
      assertEchoes(open.get(0));
    } finally {
      for (Socket socket : open) {
        socket.close();
      }
    }
  }

  @Test
  void aMovedForwardListensOnTheNewAddressAndDrainsOnTheOld() throws Exception {
    int oldPort = RelayFixture.freePort();
    int newPort = RelayFixture.freePort();
    int target = backends.tcpNamed("one");
    List<Socket> open = new ArrayList<>();
    try {
      fixture.apply(config(oldPort, target, ""));
      assertThat(reach(oldPort, open)).isEqualTo("one");
      fixture.apply(config(newPort, target, ""));
      assertThat(reach(newPort, open)).isEqualTo("one");
      assertThatThrownBy(() -> reach(oldPort, open)).isInstanceOf(ConnectException.class);
      assertEchoes(open.get(0));
    } finally {
      for (Socket socket : open) {
        socket.close();
      }
    }
  }

  @Test
  void twoForwardsCanSwapPorts() throws Exception {
    int a = RelayFixture.freePort();
    int b = RelayFixture.freePort();
    int one = backends.tcpNamed("one");
    int two = backends.tcpNamed("two");
    String swapped = """
        forwards:
          - {name: first, listen: {address: 127.0.0.1, port: %d}, target: {host: 127.0.0.1, port: %d}}
          - {name: second, listen: {address: 127.0.0.1, port: %d}, target: {host: 127.0.0.1, port: %d}}
        """;
    List<Socket> open = new ArrayList<>();
    try {
      fixture.apply(swapped.formatted(a, one, b, two));
      fixture.apply(swapped.formatted(b, one, a, two));
      assertThat(reach(b, open)).isEqualTo("one");
      assertThat(reach(a, open)).isEqualTo("two");
    } finally {
      for (Socket socket : open) {
        socket.close();
      }
    }
  }

  @Test
  void aForwardThatCannotBindIsReportedAndTheOthersApply() throws Exception {
    int port = RelayFixture.freePort();
    int target = backends.tcpNamed("one");
    List<Socket> open = new ArrayList<>();
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      fixture.apply(config(port, target, ""));
      List<String> failures = fixture.relay.apply(RelayConfigParser.parse(config(taken.getLocalPort(), target, """
              - name: extra
                listen: {address: 127.0.0.1, port: %d}
                target: {host: 127.0.0.1, port: %d}
            """.formatted(RelayFixture.freePort(), target))));
      assertThat(failures).singleElement().asString()
          .startsWith("forward web: cannot listen on /127.0.0.1:" + taken.getLocalPort());
      assertThat(reach(port, open)).as("web keeps its previous address").isEqualTo("one");
    } finally {
      for (Socket socket : open) {
        socket.close();
      }
    }
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
          List<Socket> open = new ArrayList<>();
          try {
            assertThat(reach(port, open)).isIn("one", "two");
            assertEchoes(open.get(0));
            served.incrementAndGet();
            open.get(0).close();
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
