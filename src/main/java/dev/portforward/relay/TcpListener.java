package dev.portforward.relay;

import dev.portforward.common.Resolver;
import dev.portforward.relay.ForwardMetrics.Refusal;
import dev.portforward.relay.config.Forward;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** TCP and SOCKS5 forwards: admits each client (source ranges, connection limit), then relays. */
final class TcpListener extends Listener {

  static final int BACKLOG = 4096;

  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final List<Channel> servers = new ArrayList<>();

  TcpListener(Forward forward, ForwardMetrics metrics, Resolver resolver) {
    super(forward, metrics, resolver);
  }

  /**
   * With epoll, one socket per event loop on the same port (SO_REUSEPORT): the kernel spreads
   * new connections over them and each is accepted and served on the loop that accepted it, with
   * no hand-over between threads. Elsewhere, one socket for the whole group.
   */
  @Override
  void bind(EventLoopGroup group) throws InterruptedException {
    if (!Transport.NATIVE) {
      servers.add(bootstrap(group, group).bind(forward.listen()).sync().channel());
      return;
    }
    try {
      for (EventExecutor loop : group) {
        servers.add(bootstrap((EventLoop) loop, (EventLoop) loop)
            .option(EpollChannelOption.SO_REUSEPORT, true)
            .bind(forward.listen()).sync().channel());
      }
    } catch (RuntimeException | InterruptedException e) {
      stopAccepting();
      throw e;
    }
  }

  private ServerBootstrap bootstrap(EventLoopGroup acceptor, EventLoopGroup worker) {
    return new ServerBootstrap()
        .group(acceptor, worker)
        .channel(Transport.serverChannel())
        .option(ChannelOption.SO_BACKLOG, BACKLOG)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.ALLOCATOR, Transport.BUFFERS)
        // Nothing is read from a client before its backend is connected: no unbounded buffering.
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        // TCP_NODELAY is Netty's default: setting it again would cost a system call per socket.
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Backend.WATER_MARK)
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, Backend.READS)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel client) {
            admit(client);
          }
        });
  }

  private void admit(Channel client) {
    Forward current = forward;
    InetSocketAddress from = (InetSocketAddress) client.remoteAddress();
    if (!current.admits(from.getAddress())) {
      refuse(client, Refusal.SOURCE);
      return;
    }
    if (metrics.active.incrementAndGet() > current.maxConnections()) {
      metrics.active.decrementAndGet();
      refuse(client, Refusal.LIMIT);
      return;
    }
    metrics.accepted.increment();
    connections.add(client);
    client.closeFuture().addListener(closed -> metrics.active.decrementAndGet());
    client.pipeline().addLast(
        new IdleStateHandler(0, 0, current.idleTimeout().toMillis(), TimeUnit.MILLISECONDS), CloseWhenIdle.INSTANCE);
    if (current.protocol() == Forward.Protocol.SOCKS5) {
      Socks5Handshake.install(client.pipeline(), current, metrics, resolver);
    } else {
      client.pipeline().addLast(new DirectForwarding(current, metrics, resolver));
    }
    client.pipeline().addLast(new EarlyBytes());
  }

  /** A reset rather than a close: the client learns at once, and no socket lingers in TIME_WAIT. */
  private void refuse(Channel client, Refusal reason) {
    metrics.refused(reason);
    client.config().setOption(ChannelOption.SO_LINGER, 0);
    client.close();
  }

  @Override
  void stopAccepting() {
    servers.forEach(server -> server.close().syncUninterruptibly());
    servers.clear();
  }

  @Override
  int openConnections() {
    return connections.size();
  }

  @Override
  void closeAll() {
    stopAccepting();
    connections.close().awaitUninterruptibly();
  }

  @Sharable
  static final class CloseWhenIdle extends ChannelInboundHandlerAdapter {
    static final CloseWhenIdle INSTANCE = new CloseWhenIdle();

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof IdleStateEvent) {
        ctx.close();
      } else {
        ctx.fireUserEventTriggered(event);
      }
    }
  }
}
