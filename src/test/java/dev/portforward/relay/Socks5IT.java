package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.testbed.NetNs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * SOCKS5 through real sockets. The relay runs in the test process; the destinations live in a
 * network namespace joined to it by a veth pair (loopback destinations are always refused, so
 * they cannot serve as the reachable ones).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Socks5IT {

  private static final String DESTINATION = "198.18.99.2";
  private static final int ECHO_PORT = 7000;
  private static final int CLOSED_PORT = 7001;
  private static final int UDP_ECHO_PORT = 7002;
  /**
   * A real SOCKS5 UDP client (PySocks, Debian's python3-socks): one request, one answer or
   * "timeout", then the relay's UDP port; closing the socket ends the control connection.
   */
  private static final String PYSOCKS_UDP = """
      import socket, socks, sys
      s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
      s.set_proxy(socks.SOCKS5, "127.0.0.1", int(sys.argv[1]))
      s.settimeout(5)
      s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))
      try:
          data, sender = s.recvfrom(1024)
          print(data.decode().strip() + " from " + sender[0] + ":" + str(sender[1]))
      except socket.timeout:
          print("timeout")
      print(super(socks.socksocket, s).getpeername()[1])
      s.close()
      """;
  private static final String SUCCEEDED = "0500";

  private NetNs netns;
  private final RelayFixture relay = new RelayFixture();
  private final RelayFixture denyingRelay = new RelayFixture();
  private int fencedBySource;
  private int withPassword;
  private int denied;

  @BeforeAll
  void network(@TempDir Path users) throws Exception {
    netns = NetNs.create();
    String ns = netns.host("dest");
    netns.linkToHost(ns, "198.18.99.1/30", DESTINATION + "/30");
    netns.spawn(ns, "socat", "TCP-LISTEN:" + ECHO_PORT + ",fork,reuseaddr", "EXEC:cat");
    netns.spawn(ns, "socat", "UDP4-RECVFROM:" + UDP_ECHO_PORT + ",fork,reuseaddr", "EXEC:cat");
    await().ignoreExceptions().until(() -> {
      try (Socket direct = new Socket(DESTINATION, ECHO_PORT)) {
        return true;
      }
    });
    Files.writeString(users.resolve("alice"), "secret");
    fencedBySource = RelayFixture.freePort();
    withPassword = RelayFixture.freePort();
    denied = RelayFixture.freePort();
    relay.apply("""
        forwards:
          - name: fenced-by-source
            protocol: SOCKS5
            listen: {address: 127.0.0.1, port: %d}
            sourceRanges: [127.0.0.0/8]
            socks5: {allowedDestinations: [198.18.99.0/30]}
          - name: password
            protocol: SOCKS5
            listen: {address: 127.0.0.1, port: %d}
            socks5: {allowedDestinations: [198.18.99.0/30], usersDirectory: %s}
        """.formatted(fencedBySource, withPassword, users));
    denyingRelay.apply("""
        deniedDestinations: [198.18.99.2/32]
        forwards:
          - name: denying
            protocol: SOCKS5
            listen: {address: 127.0.0.1, port: %d}
            sourceRanges: [127.0.0.0/8]
            socks5: {allowedDestinations: [198.18.99.0/30]}
        """.formatted(denied));
  }

  @AfterAll
  void close() throws Exception {
    relay.close();
    denyingRelay.close();
    if (netns != null) {
      netns.close();
    }
  }

  /** Opens a SOCKS5 session: greeting (and login when given); returns the socket. */
  private static Socket session(int port, String user, String password) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(10_000);
    if (user == null) {
      socket.getOutputStream().write(new byte[] {5, 1, 0});
      assertThat(read(socket, 2)).isEqualTo("0500");
    } else {
      socket.getOutputStream().write(new byte[] {5, 1, 2});
      assertThat(read(socket, 2)).isEqualTo("0502");
      ByteArrayOutputStream login = new ByteArrayOutputStream();
      login.write(1);
      login.write(user.length());
      login.writeBytes(user.getBytes());
      login.write(password.length());
      login.writeBytes(password.getBytes());
      socket.getOutputStream().write(login.toByteArray());
    }
    return socket;
  }

  /** CONNECT to a host name (address type 3); returns the two-byte version and reply code. */
  private static String connect(Socket socket, String host, int port, String earlyData) throws IOException {
    ByteArrayOutputStream request = new ByteArrayOutputStream();
    request.writeBytes(new byte[] {5, 1, 0, 3, (byte) host.length()});
    request.writeBytes(host.getBytes());
    request.writeBytes(new byte[] {(byte) (port >> 8), (byte) port});
    request.writeBytes(earlyData.getBytes());
    socket.getOutputStream().write(request.toByteArray());
    String reply = read(socket, 4);
    // The rest of the reply: the bound address (IPv4 here) and port.
    read(socket, 6);
    return reply.substring(0, 4);
  }

  private static String read(Socket socket, int bytes) throws IOException {
    InputStream in = socket.getInputStream();
    return HexFormat.of().formatHex(in.readNBytes(bytes));
  }

  private static String echo(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes());
    return new String(socket.getInputStream().readNBytes(text.length()));
  }

  @Test
  void aClientFencedBySourceReachesAnAllowedDestination() throws Exception {
    try (Socket socket = session(fencedBySource, null, null)) {
      assertThat(connect(socket, DESTINATION, ECHO_PORT, "")).isEqualTo(SUCCEEDED);
      assertThat(echo(socket, "through socks")).isEqualTo("through socks");
    }
  }

  @Test
  void bytesSentRightAfterConnectArriveFirst() throws Exception {
    try (Socket socket = session(fencedBySource, null, null)) {
      assertThat(connect(socket, DESTINATION, ECHO_PORT, "early ")).isEqualTo(SUCCEEDED);
      socket.getOutputStream().write("late".getBytes());
      assertThat(new String(socket.getInputStream().readNBytes(10))).isEqualTo("early late");
    }
  }

  @Test
  void theRightPasswordGetsThrough() throws Exception {
    try (Socket socket = session(withPassword, "alice", "secret")) {
      assertThat(read(socket, 2)).isEqualTo("0100");
      assertThat(connect(socket, DESTINATION, ECHO_PORT, "")).isEqualTo(SUCCEEDED);
      assertThat(echo(socket, "authenticated")).isEqualTo("authenticated");
    }
  }

  @Test
  void aWrongPasswordIsRefusedAndCounted() throws Exception {
    try (Socket socket = session(withPassword, "alice", "guess")) {
      assertThat(read(socket, 2)).isEqualTo("01ff");
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(relay.counter("portforward.relay.refused", "forward", "password", "reason", "auth")).isEqualTo(1);
  }

  @Test
  void aNameResolvingToLoopbackIsRefused() throws Exception {
    try (Socket socket = session(fencedBySource, null, null)) {
      assertThat(connect(socket, "localhost", ECHO_PORT, "")).isEqualTo("0502");
    }
  }

  @Test
  void port25IsRefusedUnlessAllowed() throws Exception {
    try (Socket socket = session(fencedBySource, null, null)) {
      assertThat(connect(socket, DESTINATION, 25, "")).isEqualTo("0502");
    }
  }

  @Test
  void theDenylistWinsOverTheAllowlist() throws Exception {
    try (Socket socket = session(denied, null, null)) {
      assertThat(connect(socket, DESTINATION, ECHO_PORT, "")).isEqualTo("0502");
    }
    assertThat(denyingRelay.counter("portforward.relay.refused", "forward", "denying", "reason", "destination"))
        .isEqualTo(1);
  }

  @Test
  void aClosedPortIsReportedAsRefused() throws Exception {
    try (Socket socket = session(fencedBySource, null, null)) {
      assertThat(connect(socket, DESTINATION, CLOSED_PORT, "")).isEqualTo("0505");
    }
  }

  @Test
  void udpAssociateCarriesARequestAndItsAnswerAndEndsWithItsControlConnection() throws Exception {
    List<String> out = pysocksUdp(fencedBySource, DESTINATION, "what is my name");

    assertThat(out.get(0)).isEqualTo("what is my name from " + DESTINATION + ":" + UDP_ECHO_PORT);
    int relayPort = Integer.parseInt(out.get(1));
    await("the association's socket closed with its control connection").atMost(Duration.ofSeconds(30))
        .until(() -> udpPortClosed(relayPort));
  }

  @Test
  void udpAssociateDropsDatagramsToADeniedDestination() throws Exception {
    assertThat(pysocksUdp(denied, DESTINATION, "let me out").get(0)).isEqualTo("timeout");
    assertThat(denyingRelay.counter("portforward.relay.refused", "forward", "denying", "reason", "destination"))
        .isPositive();
    assertThat(pysocksUdp(fencedBySource, "127.0.0.1", "loopback").get(0)).as("loopback is never a destination")
        .isEqualTo("timeout");
  }

  @Test
  void bindIsAnsweredCommandNotSupported() throws Exception {
    try (Socket socket = session(fencedBySource, null, null)) {
      socket.getOutputStream().write(new byte[] {5, 2, 0, 1, (byte) 198, 18, 99, 2, 0, 80});
      assertThat(read(socket, 2)).isEqualTo("0507");
    }
  }

  private static List<String> pysocksUdp(int proxyPort, String host, String text) throws Exception {
    Process client = new ProcessBuilder("/usr/bin/python3", "-c", PYSOCKS_UDP, String.valueOf(proxyPort), host,
        String.valueOf(UDP_ECHO_PORT), text).redirectErrorStream(true).start();
    String out = new String(client.getInputStream().readAllBytes());
    assertThat(client.waitFor()).as(out).isZero();
    return out.lines().toList();
  }

  /** Whether a datagram to the port comes back as ICMP port unreachable. */
  private static boolean udpPortClosed(int port) throws IOException {
    try (DatagramChannel probe = DatagramChannel.open()) {
      probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      probe.socket().setSoTimeout(1_000);
      probe.write(ByteBuffer.wrap(new byte[] {0, 0, 1}));
      probe.socket().receive(new DatagramPacket(new byte[16], 16));
      return false;
    } catch (PortUnreachableException closed) {
      return true;
    } catch (SocketTimeoutException silent) {
      return false;
    }
  }

  /** The handshake must finish within 10 s: a client that greets and then says nothing is closed. */
  @Test
  void aClientThatStallsInTheHandshakeIsClosed() throws Exception {
    try (Socket socket = session(fencedBySource, null, null)) {
      socket.setSoTimeout(1_000);
      await().atMost(Duration.ofSeconds(60)).ignoreException(SocketTimeoutException.class)
          .untilAsserted(() -> assertThat(socket.getInputStream().read()).as("closed by the relay").isEqualTo(-1));
    }
  }
}
