package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The relay's TCP forwards, through real sockets on loopback. */
class TcpRelayTest {

  private final Backends backends = new Backends();
  private final RelayFixture fixture = new RelayFixture();

  @AfterEach
  void close() throws Exception {
    fixture.close();
    backends.close();
  }

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

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(10_000);
    return socket;
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes());
    return new String(socket.getInputStream().readNBytes(text.length()));
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
    long baseline = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    long peak = 0;
    long received = 0;
    try (Socket client = connect(port)) {
      client.setReceiveBufferSize(64 * 1024);
      InputStream in = client.getInputStream();
      byte[] buffer = new byte[16 * 1024];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        received += n;
        peak = Math.max(peak, PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory() - baseline);
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
    List<Socket> open = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        open.add(connect(port));
        assertThat(roundTrip(open.get(i), "ok")).isEqualTo("ok");
      }
      try (Socket third = connect(port)) {
        assertThatThrownBy(() -> {
          third.getOutputStream().write('x');
          if (third.getInputStream().read() < 0) {
            throw new SocketException("closed");
          }
        }).isInstanceOf(SocketException.class);
      }
      assertThat(fixture.counter("portforward.relay.refused", "forward", "web", "reason", "limit")).isEqualTo(1);
      open.remove(0).close();
      await().untilAsserted(() -> {
        try (Socket again = connect(port)) {
          assertThat(roundTrip(again, "again")).isEqualTo("again");
        }
      });
    } finally {
      for (Socket socket : open) {
        socket.close();
      }
    }
  }

  @Test
  void clientsOutsideTheSourceRangesAreRefusedAndCounted() throws Exception {
    int port = forward("web", backends.tcpEcho(), "sourceRanges: [10.0.0.0/8]");
    try (Socket client = connect(port)) {
      client.getOutputStream().write('x');
      assertThatThrownBy(() -> {
        if (client.getInputStream().read() < 0) {
          throw new SocketException("closed");
        }
      }).isInstanceOf(SocketException.class);
    }
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
}
