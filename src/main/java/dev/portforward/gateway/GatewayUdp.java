package dev.portforward.gateway;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One request and its answer over UDP to a gateway's PCP/NAT-PMP port (5351), retransmitted on
 * the schedule of RFC 6886 section 3.1 (250 ms, doubling), though for fewer attempts: an agent
 * tries again at its next check rather than waiting a minute. The socket is connected, so only
 * the gateway's answers are read, and its local address is the one the gateway sees.
 */
final class GatewayUdp {

  static final int PORT = 5351;
  private static final Duration FIRST_WAIT = Duration.ofMillis(250);
  private static final int MAX_PACKET = 1100;

  private final InetSocketAddress gateway;
  private final int attempts;

  GatewayUdp(InetAddress gateway, int port, int attempts) {
    this.gateway = new InetSocketAddress(gateway, port);
    this.attempts = attempts;
  }

  InetAddress address() {
    return gateway.getAddress();
  }

  /**
   * Sends the request built for this host's address and returns the first answer {@code decode}
   * accepts; other datagrams are ignored.
   *
   * @throws GatewayException when no acceptable answer arrives
   */
  <T> T exchange(Function<InetAddress, byte[]> request, BiFunction<byte[], Integer, Optional<T>> decode, String what)
      throws GatewayException {
    try (DatagramChannel channel = DatagramChannel.open()) {
      channel.connect(gateway);
      InetAddress local = ((InetSocketAddress) channel.getLocalAddress()).getAddress();
      ByteBuffer out = ByteBuffer.wrap(request.apply(local));
      var socket = channel.socket();
      Duration wait = FIRST_WAIT;
      byte[] in = new byte[MAX_PACKET];
      for (int attempt = 0; attempt < attempts; attempt++, wait = wait.multipliedBy(2)) {
        channel.write(out.rewind());
        long deadline = System.nanoTime() + wait.toNanos();
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
          socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
          DatagramPacket packet = new DatagramPacket(in, in.length);
          try {
            socket.receive(packet);
          } catch (SocketTimeoutException timeout) {
            break;
          }
          Optional<T> answer = decode.apply(in, packet.getLength());
          if (answer.isPresent()) {
            return answer.get();
          }
        }
      }
      throw GatewayException.unavailable("no " + what + " answer from " + gateway.getAddress().getHostAddress()
          + ":" + gateway.getPort());
    } catch (PortUnreachableException refused) {
      throw GatewayException.unavailable(gateway.getAddress().getHostAddress() + " does not serve " + what
          + " (port " + gateway.getPort() + " unreachable)");
    } catch (IOException e) {
      throw GatewayException.unavailable("cannot reach " + gateway.getAddress().getHostAddress() + " for " + what
          + ": " + e.getClass().getSimpleName(), e);
    }
  }

  /** The address this host uses toward the gateway: the only internal address a mapping may lead to. */
  InetAddress localAddress() throws GatewayException {
    try (DatagramChannel channel = DatagramChannel.open()) {
      channel.connect(gateway);
      return ((InetSocketAddress) channel.getLocalAddress()).getAddress();
    } catch (IOException e) {
      throw GatewayException.unavailable("no route to the gateway " + gateway.getAddress().getHostAddress(), e);
    }
  }
}
