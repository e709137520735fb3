package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relay's UDP forwards: sessions per client, replies from the listening address. */
class UdpRelayTest {

  @RegisterExtension final RelayFixture fixture = new RelayFixture();
  private final Backends backends = fixture.backends;

  private InetSocketAddress forward(String extra) throws Exception {
    int port = RelayFixture.freePort();
    fixture.apply("""
        forwards:
          - name: dns
            protocol: UDP
            listen: {address: 127.0.0.1, port: %d}
            target: {host: 127.0.0.1, port: %d}
        %s""".formatted(port, backends.udpEcho(), extra.indent(4)));
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
  }

  private static DatagramSocket client() throws IOException {
    DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    socket.setSoTimeout(5_000);
    return socket;
  }

  /** Sends until a reply comes: UDP may lose a datagram, a test must not depend on one. */
  private static DatagramPacket exchange(DatagramSocket socket, InetSocketAddress to, String text) throws IOException {
    byte[] bytes = text.getBytes();
    DatagramPacket reply = new DatagramPacket(new byte[65536], 65536);
    socket.send(new DatagramPacket(bytes, bytes.length, to));
    socket.receive(reply);
    return reply;
  }

  @Test
  void eachClientGetsItsOwnRepliesFromTheListeningAddress() throws Exception {
    InetSocketAddress relay = forward("");
    try (DatagramSocket first = client(); DatagramSocket second = client()) {
      DatagramPacket one = exchange(first, relay, "one");
      DatagramPacket two = exchange(second, relay, "two");
      assertThat(new String(one.getData(), 0, one.getLength())).isEqualTo("echo:one");
      assertThat(new String(two.getData(), 0, two.getLength())).isEqualTo("echo:two");
      assertThat(one.getSocketAddress()).isEqualTo(relay);
      assertThat(two.getSocketAddress()).isEqualTo(relay);
    }
    assertThat(fixture.gauge("portforward.relay.connections.active", "forward", "dns")).isEqualTo(2);
  }

  @Test
  void largeDatagramsArriveWhole() throws Exception {
    InetSocketAddress relay = forward("");
    try (DatagramSocket socket = client()) {
      // The largest datagram reaches the target whole, which says how much it got ...
      DatagramPacket toTarget = exchange(socket, relay, "x".repeat(Backends.MAX_UDP_PAYLOAD));
      assertThat(new String(toTarget.getData(), 0, toTarget.getLength())).isEqualTo("echo:65507 bytes");
      // ... and the largest reply reaches the client whole.
      String big = "x".repeat(Backends.MAX_UDP_PAYLOAD - "echo:".length());
      DatagramPacket toClient = exchange(socket, relay, big);
      assertThat(toClient.getLength()).isEqualTo(Backends.MAX_UDP_PAYLOAD);
      assertThat(new String(toClient.getData(), 0, toClient.getLength())).isEqualTo("echo:" + big);
    }
  }

  @Test
  void sessionsBeyondTheLimitAreDroppedAndCounted() throws Exception {
    InetSocketAddress relay = forward("maxConnections: 1");
    try (DatagramSocket first = client(); DatagramSocket second = client()) {
      exchange(first, relay, "one");
      second.setSoTimeout(300);
      try {
        exchange(second, relay, "two");
        throw new AssertionError("a second session was admitted beyond maxConnections: 1");
      } catch (SocketTimeoutException expected) {
        // no reply: the datagram was dropped
      }
    }
    assertThat(fixture.counter("portforward.relay.refused", "forward", "dns", "reason", "limit")).isEqualTo(1);
  }

  @Test
  void idleSessionsExpireAndFreeTheirSlot() throws Exception {
    InetSocketAddress relay = forward("idleTimeout: 200ms\nmaxConnections: 1");
    try (DatagramSocket socket = client()) {
      exchange(socket, relay, "one");
    }
    await().until(() -> fixture.gauge("portforward.relay.connections.active", "forward", "dns") == 0);
    try (DatagramSocket socket = client()) {
      DatagramPacket reply = exchange(socket, relay, "two");
      assertThat(new String(reply.getData(), 0, reply.getLength())).isEqualTo("echo:two");
    }
  }

  @Test
  void datagramsFromOutsideTheSourceRangesAreDroppedAndCounted() throws Exception {
    InetSocketAddress relay = forward("sourceRanges: [192.0.2.0/24]");
    try (DatagramSocket socket = client()) {
      socket.send(new DatagramPacket(new byte[] {1}, 1, relay));
    }
    await().until(() -> fixture.counter("portforward.relay.refused", "forward", "dns", "reason", "source") == 1);
    assertThat(fixture.gauge("portforward.relay.connections.active", "forward", "dns")).isZero();
  }
  @Test
  void aRemovedForwardClosesItsSessionsAtOnce() throws Exception {
    try (DatagramSocket target = client(); DatagramSocket socket = client()) {
      int port = RelayFixture.freePort();
      fixture.apply("""
          forwards:
            - name: dns
              protocol: UDP
              listen: {address: 127.0.0.1, port: %d}
              target: {host: 127.0.0.1, port: %d}
          """.formatted(port, target.getLocalPort()));
      InetSocketAddress relay = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
      socket.send(new DatagramPacket("one".getBytes(), 3, relay));
      DatagramPacket received = new DatagramPacket(new byte[16], 16);
      target.receive(received);
      // The target talks only to the session's own socket: while it is open, what the target
      // sends reaches the client; once it is closed, the kernel answers "port unreachable".
      target.connect(received.getSocketAddress());
      target.send(new DatagramPacket("two".getBytes(), 3));
      DatagramPacket reply = new DatagramPacket(new byte[16], 16);
      socket.receive(reply);
      assertThat(new String(reply.getData(), 0, reply.getLength())).isEqualTo("two");

      // A TCP forward would drain for 5 minutes; a UDP forward must not.
      fixture.apply("drainTimeout: 5m\nforwards: []");
      target.setSoTimeout(1_000);
      await().untilAsserted(() -> {
        target.send(new DatagramPacket("three".getBytes(), 5));
        assertThatThrownBy(() -> target.receive(new DatagramPacket(new byte[16], 16)))
            .as("the session's socket is closed").isInstanceOf(PortUnreachableException.class);
      });
    }
  }
}
