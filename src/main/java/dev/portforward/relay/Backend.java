package dev.portforward.relay;

import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.Forward.ProxyHeader;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetSocketAddress;

/** Opening the backend side of a relayed TCP connection. */
final class Backend {

  /**
   * Per-connection write buffer: above the high mark the other side stops reading, below the low
   * mark it reads again. Large enough to keep a fast link busy, small enough that 10,000 slow
   * readers cost little.
   */
  static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(128 * 1024, 512 * 1024);

  /**
   * Reads grow up to 256 KiB while a stream keeps filling them (Netty's default stops at 64 KiB):
   * fewer system calls per byte on bulk transfers; a read buffer lives only until it is written.
   */
  static final AdaptiveRecvByteBufAllocator READS = new AdaptiveRecvByteBufAllocator(512, 16 * 1024, 256 * 1024);

  /**
   * Connects on the client's event loop, so both halves of a connection share one thread, and
   * tells {@code then}. The socket is made by a task of that loop, not while the loop hands out
   * socket events: a socket made then can get the number of one closed moments before, and Netty
   * 4.1 gives it what is left of the closed one's events from the same epoll round. A peer's
   * end-of-stream among them shuts the new socket's input before it has connected, and the greeting
   * of a backend that speaks first was lost (about once in 5,000 connections when clients reset).
   */
  static void connect(Channel client, InetSocketAddress address, Forward forward, ChannelFutureListener then) {
    client.eventLoop().execute(() -> bootstrap(client, forward).connect(address).addListener(then));
  }

  private static Bootstrap bootstrap(Channel client, Forward forward) {
    return new Bootstrap()
        .group(client.eventLoop())
        .channel(Transport.socketChannel())
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        // TCP_NODELAY is Netty's default: setting it again would cost a system call per socket.
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
        .option(ChannelOption.ALLOCATOR, Transport.BUFFERS)
        .option(ChannelOption.RCVBUF_ALLOCATOR, READS)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) forward.connectTimeout().toMillis())
        .handler(new EarlyBytes());
  }

  /**
   * Tells the backend who the client is, before any of the client's bytes. Called on the event
   * loop, so the encoder has done its one job by the time it is removed again.
   */
  static void sendProxyHeader(Channel client, Channel backend, ProxyHeader header) {
    if (header == ProxyHeader.None) {
      return;
    }
    backend.pipeline().addFirst(HAProxyMessageEncoder.INSTANCE);
    backend.write(proxyHeader(
        (InetSocketAddress) client.remoteAddress(), (InetSocketAddress) client.localAddress(), header));
    backend.pipeline().remove(HAProxyMessageEncoder.INSTANCE);
  }

  static HAProxyMessage proxyHeader(InetSocketAddress source, InetSocketAddress destination, ProxyHeader header) {
    HAProxyProtocolVersion version = header == ProxyHeader.V1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2;
    HAProxyProxiedProtocol family =
        source.getAddress() instanceof Inet6Address ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4;
    return new HAProxyMessage(version, HAProxyCommand.PROXY, family,
        NetUtil.toAddressString(source.getAddress()), NetUtil.toAddressString(destination.getAddress()),
        source.getPort(), destination.getPort());
  }

  private Backend() {}
}
