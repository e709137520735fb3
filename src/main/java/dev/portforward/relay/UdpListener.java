package dev.portforward.relay;

import dev.portforward.common.Resolver;
import dev.portforward.relay.ForwardMetrics.Refusal;
import dev.portforward.relay.config.Forward;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A UDP forward: one session per client address, each with its own connected socket towards the
 * target, so replies can be told apart and sent back to the right client from the listening
 * socket. Sessions are bounded in number and end when idle. UDP has nothing to drain: a removed
 * forward closes its socket and sessions at once, and clients retransmit elsewhere.
 */
final class UdpListener extends Listener {

  private final Map<InetSocketAddress, UdpSession> sessions = new ConcurrentHashMap<>();
  private Channel server;

  UdpListener(Forward forward, ForwardMetrics metrics, Resolver resolver) {
    super(forward, metrics, resolver);
  }

  @Override
  void bind(EventLoopGroup group) throws InterruptedException {
    server = Transport.datagramReads(new Bootstrap())
        .group(group)
        .channel(Transport.datagramChannel())
        .handler(new FromClients())
        .bind(forward.listen())
        .sync()
        .channel();
  }

  @Override
  void stopAccepting() {
    closeAll();
  }

  @Override
  int openConnections() {
    return sessions.size();
  }

  @Override
  void closeAll() {
    if (server != null) {
      server.close().syncUninterruptibly();
    }
    sessions.values().forEach(UdpSession::close);
  }

  /** Datagrams from clients, on the listening socket's event loop. */
  private final class FromClients extends ChannelInboundHandlerAdapter {

    private final List<UdpSession> written = new ArrayList<>();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      DatagramPacket packet = (DatagramPacket) msg;
      UdpSession session = sessions.get(packet.sender());
      if (session == null) {
        session = newSession(ctx.channel(), packet.sender());
        if (session == null) {
          packet.release();
          return;
        }
      }
      metrics.bytesFromClients.add(packet.content().readableBytes());
      if (session.send(packet.content()) && (written.isEmpty() || written.get(written.size() - 1) != session)) {
        written.add(session);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      written.forEach(UdpSession::flush);
      written.clear();
    }

    private UdpSession newSession(Channel server, InetSocketAddress client) {
      Forward current = forward;
      if (!current.admits(client.getAddress())) {
        metrics.refused(Refusal.SOURCE);
        return null;
      }
      if (metrics.active.get() >= current.maxConnections()) {
        metrics.refused(Refusal.LIMIT);
        return null;
      }
      metrics.active.incrementAndGet();
      metrics.accepted.increment();
      UdpSession session = new UdpSession(server, client, current, metrics, resolver, () -> {
        sessions.remove(client);
        metrics.active.decrementAndGet();
      });
      sessions.put(client, session);
      return session;
    }
  }
}
