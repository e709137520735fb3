package dev.portforward.relay;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/** Plain-socket backends on loopback for relay tests: each client connection gets its own thread. */
final class Backends implements AutoCloseable {

  /** The largest UDP payload over IPv4: 65,535 less the IP and UDP headers. */
  static final int MAX_UDP_PAYLOAD = 65_507;

  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "test-backend");
    t.setDaemon(true);
    return t;
  });
  private final java.util.List<AutoCloseable> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Echoes every byte; on end of stream writes "bye" and closes (to show half-close works). */
  int tcpEcho() throws IOException {
    return tcp(socket -> {
      try (socket) {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[65536];
        for (int n; (n = in.read(buffer)) >= 0; ) {
          out.write(buffer, 0, n);
        }
        out.write("bye".getBytes());
      } catch (IOException closed) {
        // the client went away
      }
    });
  }

  /** Says its name first, then echoes: shows which backend a connection reached. */
  int tcpNamed(String name) throws IOException {
    return tcp(socket -> {
      try (socket) {
        socket.getOutputStream().write(name.getBytes());
        socket.getInputStream().transferTo(socket.getOutputStream());
      } catch (IOException closed) {
        // the client went away
      }
    });
  }

  /** Runs {@code session} for every accepted connection. */
  int tcp(Consumer<Socket> session) throws IOException {
    ServerSocket server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    sockets.add(server);
    threads.execute(() -> {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          sockets.add(socket);
          threads.execute(() -> session.accept(socket));
        } catch (IOException closed) {
          return;
        }
      }
    });
    return server.getLocalPort();
  }

  /**
   * Writes {@code greeting} to every connection and closes it, on the accepting thread: the
   * greeting and the end-of-stream follow the handshake as closely as a server can make them.
   */
  int tcpGreeter(String greeting) throws IOException {
    ServerSocket server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    sockets.add(server);
    threads.execute(() -> {
      while (!server.isClosed()) {
        try (Socket socket = server.accept()) {
          socket.getOutputStream().write(greeting.getBytes());
        } catch (IOException closedOrGone) {
          // the server closed, or the relay gave up on this connection: the next one
        }
      }
    });
    return server.getLocalPort();
  }

  /**
   * Answers every datagram with "echo:" and its content, to its sender; one too large to echo
   * (beyond IPv4's 65,507-byte payload) with "echo:" and its length.
   */
  int udpEcho() throws SocketException {
    DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    sockets.add(socket);
    threads.execute(() -> {
      byte[] buffer = new byte[65536];
      while (!socket.isClosed()) {
        try {
          DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
          socket.receive(packet);
          byte[] reply = ("echo:" + new String(packet.getData(), 0, packet.getLength())).getBytes();
          if (reply.length > MAX_UDP_PAYLOAD) {
            reply = ("echo:" + packet.getLength() + " bytes").getBytes();
          }
          socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
        } catch (IOException closed) {
          return;
        }
      }
    });
    return socket.getLocalPort();
  }

  @Override
  public void close() throws Exception {
    for (AutoCloseable socket : sockets) {
      socket.close();
    }
    threads.shutdownNow();
  }
}
