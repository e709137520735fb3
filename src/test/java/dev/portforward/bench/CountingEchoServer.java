package dev.portforward.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.io.UncheckedIOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend for the relay benches: echoes what it reads and counts the open connections, so a
 * bench holding thousands of idle connections knows they all arrived. One thread, one selector.
 * The fault suite's slow clients use it too.
 */
public final class CountingEchoServer implements AutoCloseable {

  public final AtomicInteger open = new AtomicInteger();
  private volatile boolean closing;
  private final ServerSocketChannel server;
  private final Selector selector;

  /** Binds {@code address}:{@code port} (0: any free port). */
  CountingEchoServer(String address, int port) throws IOException {
    server = ServerSocketChannel.open().bind(new InetSocketAddress(address, port), 4096);
    server.configureBlocking(false);
    selector = Selector.open();
    server.register(selector, SelectionKey.OP_ACCEPT);
  }

  /** One bound to a free port of {@code address}, serving on a daemon thread until closed. */
  public static CountingEchoServer start(String address) throws IOException {
    CountingEchoServer echo = new CountingEchoServer(address, 0);
    Thread thread = new Thread(() -> {
      try {
        echo.serve();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, "echo");
    thread.setDaemon(true);
    thread.start();
    return echo;
  }

  public int port() throws IOException {
    return ((InetSocketAddress) server.getLocalAddress()).getPort();
  }

  /** Serves until closed or the process ends; run it on a daemon thread. */
  void serve() throws IOException {
    ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
    while (!closing) {
      selector.select();
      for (SelectionKey key : selector.selectedKeys()) {
        if (key.isAcceptable()) {
          SocketChannel c = server.accept();
          if (c != null) {
            c.configureBlocking(false);
            c.register(selector, SelectionKey.OP_READ);
            open.incrementAndGet();
          }
        } else if (key.isReadable()) {
          SocketChannel c = (SocketChannel) key.channel();
          buffer.clear();
          int n;
          try {
            n = c.read(buffer);
          } catch (IOException reset) {
            n = -1;
          }
          if (n < 0) {
            key.cancel();
            c.close();
            open.decrementAndGet();
          } else {
            buffer.flip();
            c.write(buffer); // a few bytes at a time: fits the send buffer
          }
        }
      }
      selector.selectedKeys().clear();
    }
    for (SelectionKey key : selector.keys()) {
      key.channel().close();
    }
    selector.close();
  }

  /** Stops serving: the serving thread closes the server socket and every connection. */
  @Override
  public void close() {
    closing = true;
    selector.wakeup();
  }
}
