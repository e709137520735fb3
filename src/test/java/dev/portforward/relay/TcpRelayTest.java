package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relay's TCP forwards, through real sockets on loopback. */
class TcpRelayTest {

  @RegisterExtension final RelayFixture fixture = new RelayFixture();
  private final Backends backends = fixture.backends;

  private int forward(String name, int target, String extra) throws Exception {
    int port = RelayFixture.freePort();
    fixture.apply("""
        forwards:
          - name: %s
            listen: {address: 127.0.0.1, port: %d}
            target: {host: 127.0.0.1, port: %d}
        %s""".formatted(name, port, target, extra.indent(4)));
    return port;
  }

  private Socket connect(int port) throws IOException {
    return fixture.connect(port);
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes());
    return new String(socket.getInputStream().readNBytes(text.length()));
  }

  /** A refused client is reset at once: its first read fails rather than waiting. */
  private static void assertRefused(Socket client) {
    assertThatThrownBy(() -> {
      client.getOutputStream().write('x');
      if (client.getInputStream().read() < 0) {
        throw new SocketException("closed");
      }
    }).isInstanceOf(SocketException.class);
  }

  @Test
  void relaysBothWaysAndCountsBytes() throws Exception {
    int port = forward("web", backends.tcpEcho(), "");
    try (Socket client = connect(port)) {
      assertThat(roundTrip(client, "hello")).isEqualTo("hello");
    }
    await().untilAsserted(() -> {
      assertThat(fixture.counter("portforward.relay.bytes", "forward", "web", "direction", "from_client")).isEqualTo(5);
      assertThat(fixture.counter("portforward.relay.connections", "forward", "web")).isEqualTo(1);
      assertThat(fixture.gauge("portforward.relay.connections.active", "forward", "web")).isZero();
    });
  }

  @Test
  void weightedTargetsShareNewConnectionsByWeightAndAReloadMovesThemAll() throws Exception {
    int v1 = backends.tcpNamed("v1");
    int v2 = backends.tcpNamed("v2");
    int port = RelayFixture.freePort();
    String config = """
        forwards:
          - name: canary
            listen: {address: 127.0.0.1, port: %d}
            targets: [%s]
        """;
    fixture.apply(config.formatted(port, "{host: 127.0.0.1, port: %d, weight: 80}, {host: 127.0.0.1, port: %d, weight: 20}"
        .formatted(v1, v2)));

    // v2 expects 60 of 300 (standard deviation 7): "v1 more than twice v2" fails about once in a billion runs.
    Map<String, Long> weighted = tally(port, 300);
    assertThat(weighted.keySet()).as("%s", weighted).containsExactlyInAnyOrder("v1", "v2");
    assertThat(weighted.get("v1")).as("weight 80 against 20: %s", weighted).isGreaterThan(2 * weighted.get("v2"));

    fixture.apply(config.formatted(port, "{host: 127.0.0.1, port: %d, weight: 20}".formatted(v2)));
    assertThat(tally(port, 100)).as("the other target gone from the config").isEqualTo(Map.of("v2", 100L));
  }

  /** Who answers {@code connections} new connections, by the name each backend says first. */
  private Map<String, Long> tally(int port, int connections) throws IOException {
    Map<String, Long> answers = new TreeMap<>();
    for (int i = 0; i < connections; i++) {
      try (Socket client = connect(port)) {
        answers.merge(new String(client.getInputStream().readNBytes(2)), 1L, Long::sum);
      }
    }
    return answers;
  }

  @Test
  void ipv6ClientsAreRelayedToIpv4Targets() throws Exception {
    int port = RelayFixture.freePort();
    fixture.apply("""
        forwards:
          - name: v6
            listen: {address: "::1", port: %d}
            target: {host: 127.0.0.1, port: %d}
        """.formatted(port, backends.tcpEcho()));
    try (Socket client = new Socket(InetAddress.getByName("::1"), port)) {
      client.setSoTimeout(10_000);
      assertThat(roundTrip(client, "over ipv6")).isEqualTo("over ipv6");
    }
  }

  @Test
  void halfCloseTravelsThroughAndTheOtherDirectionStaysOpen() throws Exception {
    int port = forward("web", backends.tcpEcho(), "");
    try (Socket client = connect(port)) {
      client.getOutputStream().write("ping".getBytes());
      client.shutdownOutput();
      // The backend sees end-of-stream only if the relay passed the FIN on; it answers after it.
      assertThat(new String(client.getInputStream().readAllBytes())).isEqualTo("pingbye");
    }
  }

  @Test
  void aBackendThatGreetsAndClosesAtOnceIsHeardOut() throws Exception {
    int port = forward("greeter", backends.tcpGreeter("hello"), "");
    // The greeting and the end-of-stream may arrive before the relay starts reading the backend.
    // Clients that reset, four at a time, make the relay close and open sockets in the same epoll
    // round, which lost about one greeting in 5,000 (see Backend.connect) before the fix.
    ExecutorService clients = Executors.newFixedThreadPool(4);
    try {
      List<Future<Integer>> unheard = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        unheard.add(clients.submit(() -> {
          int lost = 0;
          for (int i = 0; i < 5_000; i++) {
            try (Socket client = connect(port)) {
              client.setSoLinger(true, 0);
              lost += new String(client.getInputStream().readNBytes(5)).equals("hello") ? 0 : 1;
            }
          }
          return lost;
        }));
      }
      for (Future<Integer> lost : unheard) {
        assertThat(lost.get()).as("connections that did not hear the greeting").isZero();
      }
    } finally {
      clients.shutdownNow();
    }
  }

  @Test
  void slowReaderKeepsRelayMemoryBounded() throws Exception {
    long total = 256L << 20;
    AtomicLong written = new AtomicLong();
    int target = backends.tcp(socket -> {
      try (socket) {
        OutputStream out = socket.getOutputStream();
        byte[] chunk = new byte[64 * 1024];
        while (written.get() < total) {
          out.write(chunk);
          written.addAndGet(chunk.length);
        }
      } catch (IOException closed) {
        // the client went away
      }
    });
    int port = forward("bulk", target, "");
    long baseline = Transport.BUFFERS.metric().usedDirectMemory();
    long peak = 0;
    long received = 0;
    try (Socket client = connect(port)) {
      client.setReceiveBufferSize(64 * 1024);
      InputStream in = client.getInputStream();
      byte[] buffer = new byte[16 * 1024];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        received += n;
        peak = Math.max(peak, Transport.BUFFERS.metric().usedDirectMemory() - baseline);
        // The reader's pace (about 1 GB/s at most), far below what the backend can send.
        LockSupport.parkNanos(15_000);
      }
    }
    assertThat(received).isEqualTo(total);
    // Without backpressure the relay would buffer most of the 256 MiB the backend sends ahead.
    assertThat(peak).as("relay buffer memory while the reader lagged").isLessThan(32L << 20);
  }

  @Test
  void idleConnectionsAreClosed() throws Exception {
    int port = forward("web", backends.tcpEcho(), "idleTimeout: 300ms");
    try (Socket client = connect(port)) {
      assertThat(roundTrip(client, "x")).isEqualTo("x");
      assertThat(client.getInputStream().read()).as("closed by the relay once idle").isEqualTo(-1);
    }
  }

  @Test
  void connectionsBeyondTheLimitAreRefusedAtOnceAndCounted() throws Exception {
    int port = forward("web", backends.tcpEcho(), "maxConnections: 2");
    Socket first = connect(port);
    assertThat(roundTrip(first, "ok")).isEqualTo("ok");
    assertThat(roundTrip(connect(port), "ok")).isEqualTo("ok");
    assertRefused(connect(port));
    assertThat(fixture.counter("portforward.relay.refused", "forward", "web", "reason", "limit")).isEqualTo(1);
    first.close();
    await().untilAsserted(() -> assertThat(roundTrip(connect(port), "again")).isEqualTo("again"));
  }

  @Test
  void clientsOutsideTheSourceRangesAreRefusedAndCounted() throws Exception {
    int port = forward("web", backends.tcpEcho(), "sourceRanges: [10.0.0.0/8]");
    assertRefused(connect(port));
    assertThat(fixture.counter("portforward.relay.refused", "forward", "web", "reason", "source")).isEqualTo(1);
  }

  @Test
  void anUnreachableTargetClosesTheClientAndCountsTheError() throws Exception {
    int port = forward("web", RelayFixture.freePort(), "");
    try (Socket client = connect(port)) {
      assertThat(client.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(fixture.counter("portforward.relay.errors", "forward", "web", "kind", "connect")).isEqualTo(1);
  }

  @Test
  void aClientThatAbortsIsCountedAsAResetNotAnError() throws Exception {
    int port = forward("web", backends.tcpEcho(), "");
    try (Socket client = connect(port)) {
      assertThat(roundTrip(client, "hello")).isEqualTo("hello");
      client.setSoLinger(true, 0);
    }
    await().untilAsserted(() ->
        assertThat(fixture.counter("portforward.relay.errors", "forward", "web", "kind", "reset")).isEqualTo(1));
    assertThat(fixture.counter("portforward.relay.errors", "forward", "web", "kind", "io")).isZero();
  }

  /** How a socket's stream ended: "FIN" for an orderly end, "reset" for an abort. */
  private static String howItEnds(Socket socket) {
    try {
      socket.setSoTimeout(10_000);
      return socket.getInputStream().read() < 0 ? "FIN" : "data";
    } catch (SocketException aborted) {
      return "reset";
    } catch (IOException other) {
      return other.toString();
    }
  }

  @Test
  void aClientResetIsPassedOnToTheBackendAsAReset() throws Exception {
    CompletableFuture<String> backendSaw = new CompletableFuture<>();
    int target = backends.tcp(socket -> {
      try (socket) {
        socket.getOutputStream().write(socket.getInputStream().read());
        backendSaw.complete(howItEnds(socket));
      } catch (IOException e) {
        backendSaw.complete(e.toString());
      }
    });
    int port = forward("web", target, "");
    try (Socket client = connect(port)) {
      assertThat(roundTrip(client, "x")).isEqualTo("x");
      client.setSoLinger(true, 0);
    }
    assertThat(backendSaw.get(20, TimeUnit.SECONDS)).as("what the backend saw of the client's abort").isEqualTo("reset");
  }

  @Test
  void aBackendResetIsPassedOnToTheClientAsAReset() throws Exception {
    int target = backends.tcp(socket -> {
      try (socket) {
        socket.getOutputStream().write(socket.getInputStream().read());
        socket.setSoLinger(true, 0);
      } catch (IOException e) {
        // the client went away
      }
    });
    int port = forward("web", target, "");
    try (Socket client = connect(port)) {
      assertThat(roundTrip(client, "x")).isEqualTo("x");
      assertThat(howItEnds(client)).as("what the client saw of the backend's abort").isEqualTo("reset");
    }
  }

  @Test
  void aRemovedForwardStopsAcceptingButItsConnectionsDrain() throws Exception {
    int target = backends.tcpEcho();
    int port = forward("old", target, "");
    try (Socket established = connect(port)) {
      assertThat(roundTrip(established, "before")).isEqualTo("before");
      fixture.apply("drainTimeout: 5m\nforwards: []");
      assertThatThrownBy(() -> connect(port)).isInstanceOf(ConnectException.class);
      assertThat(roundTrip(established, "during the drain")).isEqualTo("during the drain");
    }
  }

  @Test
  void aRemovedForwardsConnectionsAreClosedAtTheDrainTimeoutNotBefore() throws Exception {
    int target = backends.tcpEcho();
    int port = forward("old", target, "");
    try (Socket established = connect(port)) {
      assertThat(roundTrip(established, "before")).isEqualTo("before");
      long removed = System.nanoTime();
      fixture.apply("drainTimeout: 3s\nforwards: []");
      assertThat(roundTrip(established, "during the drain")).isEqualTo("during the drain");
      // The relay ends it: a read that waits far longer than the drain timeout sees the close.
      established.setSoTimeout(60_000);
      String end;
      try {
        end = established.getInputStream().read() < 0 ? "closed" : "data";
      } catch (SocketException aborted) {
        end = "closed";
      }
      assertThat(end).as("the relay closed the connection at the drain timeout").isEqualTo("closed");
      assertThat(Duration.ofNanos(System.nanoTime() - removed)).as("not before the drain timeout")
          .isGreaterThanOrEqualTo(Duration.ofSeconds(3));
    }
  }
}
