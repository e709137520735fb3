package dev.portforward.relay;

import io.netty.bootstrap.AbstractBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/** Native epoll where the platform has it (Linux), the JDK's NIO elsewhere, so the relay runs anywhere. */
final class Transport {

  static final boolean NATIVE = Epoll.isAvailable();

  /**
   * The relay's buffers, pooled in 8 MiB chunks. The process's default allocator follows Quarkus,
   * which sets 64 KiB chunks (io.netty.allocator.maxOrder=3) for its HTTP server: a TCP read (up to
   * 256 KiB) or a batch of datagrams (1 MiB) was then a fresh direct buffer each time, zeroed by the
   * JDK. With Netty's default 4 MiB chunks a batch still fills a quarter of a chunk, and the pool
   * frees such a chunk, and zeroes a new one, as soon as the batch is released; at one eighth it
   * stays. Zeroing took 29% of the relay's CPU at 120,000 datagrams/s (47% with 4 MiB chunks).
   */
  static final PooledByteBufAllocator BUFFERS = new PooledByteBufAllocator(true, 0,
      PooledByteBufAllocator.defaultNumDirectArena(), PooledByteBufAllocator.defaultPageSize(), 10,
      PooledByteBufAllocator.defaultSmallCacheSize(), PooledByteBufAllocator.defaultNormalCacheSize(),
      PooledByteBufAllocator.defaultUseCacheForAllThreads());

  static EventLoopGroup group(int threads) {
    DefaultThreadFactory factory = new DefaultThreadFactory("relay", true);
    return NATIVE ? new EpollEventLoopGroup(threads, factory) : new NioEventLoopGroup(threads, factory);
  }

  static Class<? extends ServerChannel> serverChannel() {
    return NATIVE ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  static Class<? extends Channel> socketChannel() {
    return NATIVE ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  static Class<? extends DatagramChannel> datagramChannel() {
    return NATIVE ? EpollDatagramChannel.class : NioDatagramChannel.class;
  }

  /** The largest UDP payload: a smaller receive buffer would silently truncate datagrams. */
  static final int MAX_DATAGRAM = 65_507;

  /** Datagrams one read may return: with epoll, one recvmmsg call fills this many slots. */
  static final int DATAGRAMS_PER_READ = 16;

  /**
   * Receives whole datagrams of any size. With epoll, one system call reads up to
   * {@link #DATAGRAMS_PER_READ} of them into one pooled buffer (recvmmsg), which is what keeps
   * small-datagram rates up; elsewhere one datagram per read.
   */
  static <B extends AbstractBootstrap<B, ?>> B datagramReads(B bootstrap) {
    bootstrap.option(ChannelOption.ALLOCATOR, BUFFERS);
    if (!NATIVE) {
      return bootstrap.option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM));
    }
    return bootstrap
        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM * DATAGRAMS_PER_READ))
        .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM);
  }

  private Transport() {}
}
