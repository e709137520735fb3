package dev.portforward.relay;

import dev.portforward.common.Resolver;
import dev.portforward.relay.ForwardMetrics.Failure;
import dev.portforward.relay.ForwardMetrics.Refusal;
import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.Forward.Target;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One client's UDP session: a socket connected to the target, on the listening socket's event
 * loop. Datagrams that arrive while the target is still being resolved wait in a short queue;
 * when a socket cannot take more, datagrams are dropped and counted, as a router would.
 */
final class UdpSession extends ChannelInboundHandlerAdapter {

  static final int MAX_WAITING = 64;

  private final Channel server;
  private final InetSocketAddress client;
  private final ForwardMetrics metrics;
  private final Runnable onClose;
  private final Queue<ByteBuf> waiting = new ArrayDeque<>();
  private Channel backend;
  private boolean closed;

  UdpSession(Channel server, InetSocketAddress client, Forward forward, ForwardMetrics metrics, Resolver resolver,
      Runnable onClose) {
    this.server = server;
    this.client = client;
    this.metrics = metrics;
    this.onClose = onClose;
    Target target = forward.pick(ThreadLocalRandom.current());
    resolver.resolve(target.host(), server.eventLoop()).addListener(resolved -> {
      if (!resolved.isSuccess()) {
        metrics.failed(Failure.RESOLVE);
        close();
        return;
      }
      connect(forward, new InetSocketAddress((InetAddress) resolved.getNow(), target.port()));
    });
  }

  private void connect(Forward forward, InetSocketAddress target) {
    Transport.datagramReads(new Bootstrap())
        .group(server.eventLoop())
        .channel(Transport.datagramChannel())
        .handler(this)
        .connect(target)
        .addListener((ChannelFuture connected) -> {
          if (!connected.isSuccess()) {
            metrics.failed(Failure.CONNECT);
            close();
            return;
          }
          backend = connected.channel();
          backend.pipeline().addFirst(
              new IdleStateHandler(0, 0, forward.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
          if (closed) {
            backend.close();
            return;
          }
          waiting.forEach(datagram -> backend.write(datagram, backend.voidPromise()));
          waiting.clear();
          backend.flush();
        });
  }

  /** Queues a datagram towards the target; true when {@link #flush} has something to send. */
  boolean send(ByteBuf datagram) {
    if (backend == null && !closed && waiting.size() < MAX_WAITING) {
      waiting.add(datagram);
      return false;
    }
    if (backend == null || !backend.isWritable()) {
      metrics.refused(Refusal.OVERLOAD);
      datagram.release();
      return false;
    }
    backend.write(datagram, backend.voidPromise());
    return true;
  }

  void flush() {
    backend.flush();
  }

  void close() {
    server.eventLoop().execute(() -> {
      if (closed) {
        return;
      }
      closed = true;
      waiting.forEach(ByteBuf::release);
      waiting.clear();
      if (backend != null) {
        backend.close();
      }
      onClose.run();
    });
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf reply = ((DatagramPacket) msg).content();
    if (!server.isWritable()) {
      metrics.refused(Refusal.OVERLOAD);
      reply.release();
      return;
    }
    metrics.bytesToClients.add(reply.readableBytes());
    server.write(new DatagramPacket(reply, client), server.voidPromise());
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    server.flush();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof IdleStateEvent) {
      close();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    close();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    metrics.failed(Failure.IO);
    close();
  }
}
