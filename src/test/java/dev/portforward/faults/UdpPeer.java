package dev.portforward.faults;

import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.NetNs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The UDP ends of {@link UdpFloodIT}, each a JVM of its own inside a network namespace (a JVM
 * cannot move one thread into another namespace):
 *
 * <ul>
 *   <li>{@code flood HOST PORT SECONDS SOURCE...}: from each source address, one datagram per new
 *       socket, so that each is a new flow (a new conntrack entry, a new ephemeral port), as fast
 *       as one thread per source can, for SECONDS; prints "flooding" when it starts and "sent N"
 *       when it stops.
 *   <li>{@code echo PORT}: sends every datagram back where it came from, from one thread and one
 *       socket (no process per datagram, as socat's fork would be).
 * </ul>
 */
final class UdpPeer {

  private UdpPeer() {}

  /** The command that runs this class with {@code args}; {@link NetNs#spawn} runs it inside a namespace. */
  static String[] command(String... args) {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx32m", "-XX:+UseSerialGC",
        "-cp", ControlPlane.projectRoot().resolve("target/test-classes").toString(), UdpPeer.class.getName()));
    command.addAll(List.of(args));
    return command.toArray(String[]::new);
  }

  public static void main(String[] args) throws Exception {
    if (args[0].equals("flood")) {
      InetSocketAddress target = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
      long until = System.nanoTime() + Long.parseLong(args[3]) * 1_000_000_000L;
      AtomicLong sent = new AtomicLong();
      List<Thread> threads = new ArrayList<>();
      for (int i = 4; i < args.length; i++) {
        String source = args[i];
        threads.add(new Thread(() -> flood(source, target, until, sent)));
      }
      System.out.println("flooding");
      threads.forEach(Thread::start);
      for (Thread thread : threads) {
        thread.join();
      }
      System.out.println("sent " + sent.get());
    } else if (args[0].equals("echo")) {
      echo(Integer.parseInt(args[1]));
    } else {
      throw new IllegalArgumentException("flood or echo, not " + args[0]);
    }
  }

  private static void flood(String source, InetSocketAddress target, long until, AtomicLong sent) {
    ByteBuffer payload = ByteBuffer.wrap("flood".getBytes());
    while (System.nanoTime() < until) {
      try (DatagramChannel channel = DatagramChannel.open()) {
        channel.bind(new InetSocketAddress(source, 0));
        payload.rewind();
        if (channel.send(payload, target) > 0) {
          sent.incrementAndGet();
        }
      } catch (IOException refused) {
        // A full socket buffer or an ICMP error from an earlier datagram: the next socket goes on.
      }
    }
  }

  private static void echo(int port) throws IOException {
    try (DatagramChannel channel = DatagramChannel.open().bind(new InetSocketAddress(port))) {
      ByteBuffer buffer = ByteBuffer.allocate(2048);
      while (true) {
        buffer.clear();
        var from = channel.receive(buffer);
        buffer.flip();
        try {
          channel.send(buffer, from);
        } catch (IOException unreachable) {
          // The client is gone (a flood's socket closes right after sending): serve the next one.
        }
      }
    }
  }
}
