package dev.portforward.relay;

import dev.portforward.common.Resolver;
import dev.portforward.relay.ForwardMetrics.Refusal;
import dev.portforward.relay.config.Socks5;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * A SOCKS5 UDP association (RFC 1928 section 7), living exactly as long as its TCP control
 * connection. Two sockets: one on the address the client reached, which takes datagrams only from
 * the control connection's client address (and the port it announced), and one towards the
 * destinations, which takes replies only from destinations this client sent to, so nobody else
 * can write to the client through it. Each destination name is resolved once per association,
 * checked like a CONNECT, and that address is used from then on. Fragments are dropped, as the
 * RFC allows a server that does not reassemble.
 */
final class Socks5UdpAssociation {

  /** Destinations one association may use: a DNS client needs one, a game a few. */
  static final int MAX_DESTINATIONS = 256;
  /** Datagrams that may wait for names being resolved; more are dropped, as a router would. */
  static final int MAX_WAITING = 64;
  private static final int IPV4 = 1;
  private static final int DOMAIN = 3;
  private static final int IPV6 = 4;
  private static final Logger LOG = Logger.getLogger(Socks5UdpAssociation.class);

  private final Channel control;
  private final String forward;
  private final Socks5 rules;
  private final ForwardMetrics metrics;
  private final Resolver resolver;
  private final InetAddress clientAddress;
  private final Map<String, Future<InetAddress>> names = new HashMap<>();
  private final Set<InetSocketAddress> destinations = new HashSet<>();
  private InetSocketAddress client;
  private int waiting;
  private Channel clientSide;
  private Channel destinationSide;

  private Socks5UdpAssociation(Channel control, String forward, Socks5 rules, ForwardMetrics metrics,
      Resolver resolver, int announcedPort) {
    this.control = control;
    this.forward = forward;
    this.rules = rules;
    this.metrics = metrics;
    this.resolver = resolver;
    this.clientAddress = ((InetSocketAddress) control.remoteAddress()).getAddress();
    this.client = announcedPort == 0 ? null : new InetSocketAddress(clientAddress, announcedPort);
  }

  /**
   * Binds both sockets on the control connection's event loop and completes with the socket the
   * client sends to; both close when the control connection does, and it closes with them.
   */
  static Future<InetSocketAddress> open(Channel control, String forward, Socks5 rules, ForwardMetrics metrics,
      Resolver resolver, int announcedPort) {
    Socks5UdpAssociation association =
        new Socks5UdpAssociation(control, forward, rules, metrics, resolver, announcedPort);
    var bound = control.eventLoop().<InetSocketAddress>newPromise();
    InetAddress reached = ((InetSocketAddress) control.localAddress()).getAddress();
    association.bind(new InetSocketAddress(reached, 0), association.new FromClient()).addListener((ChannelFuture c) -> {
      if (!c.isSuccess()) {
        bound.setFailure(c.cause());
        return;
      }
      association.clientSide = c.channel();
      association.bind(new InetSocketAddress(0), association.new FromDestinations()).addListener((ChannelFuture d) -> {
        if (!d.isSuccess()) {
          association.clientSide.close();
          bound.setFailure(d.cause());
          return;
        }
        association.destinationSide = d.channel();
        control.closeFuture().addListener(closed -> association.close());
        association.clientSide.closeFuture().addListener(closed -> control.close());
        association.destinationSide.closeFuture().addListener(closed -> control.close());
        bound.setSuccess((InetSocketAddress) association.clientSide.localAddress());
      });
    });
    return bound;
  }

  private ChannelFuture bind(InetSocketAddress address, SimpleChannelInboundHandler<DatagramPacket> handler) {
    return Transport.datagramReads(new Bootstrap())
        .group(control.eventLoop())
        .channel(Transport.datagramChannel())
        .handler(handler)
        .bind(address);
  }

  private void close() {
    if (clientSide != null) {
      clientSide.close();
    }
    if (destinationSide != null) {
      destinationSide.close();
    }
  }

  /** A datagram from the client: the SOCKS5 UDP header, then the payload. */
  private final class FromClient extends SimpleChannelInboundHandler<DatagramPacket> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      InetSocketAddress sender = packet.sender();
      if (destinationSide == null) {
        // Not yet announced to the client: nobody should know this port yet.
        return;
      }
      if (!sender.getAddress().equals(clientAddress) || (client != null && client.getPort() != sender.getPort())) {
        metrics.refused(Refusal.SOURCE);
        return;
      }
      client = sender;
      ByteBuf in = packet.content();
      if (in.readableBytes() < 4 || in.getUnsignedByte(in.readerIndex() + 2) != 0) {
        return;
      }
      in.skipBytes(3);
      String host = readHost(in);
      if (host == null || in.readableBytes() < 2) {
        return;
      }
      int port = in.readUnsignedShort();
      ByteBuf payload = in.retainedSlice();
      Future<InetAddress> resolved = names.get(host);
      if (resolved == null) {
        if (names.size() >= MAX_DESTINATIONS) {
          metrics.refused(Refusal.OVERLOAD);
          payload.release();
          return;
        }
        resolved = resolver.resolve(host, ctx.channel().eventLoop());
        names.put(host, resolved);
      }
      if (!resolved.isDone() && waiting >= MAX_WAITING) {
        metrics.refused(Refusal.OVERLOAD);
        payload.release();
        return;
      }
      waiting++;
      resolved.addListener(done -> {
        waiting--;
        send(host, done, port, payload);
      });
    }
  }

  private void send(String host, Future<?> resolved, int port, ByteBuf payload) {
    if (!resolved.isSuccess()) {
      metrics.failed(ForwardMetrics.Failure.RESOLVE);
      payload.release();
      return;
    }
    InetAddress address = (InetAddress) resolved.getNow();
    var refusal = rules.refusal(address, port);
    if (refusal.isPresent()) {
      metrics.refused(Refusal.DESTINATION);
      LOG.debugf("forward=%s client=%s: UDP to %s:%d (%s) refused: %s", forward, client, host, port, address,
          refusal.get());
      payload.release();
      return;
    }
    InetSocketAddress destination = new InetSocketAddress(address, port);
    if (!destinations.contains(destination) && destinations.size() >= MAX_DESTINATIONS) {
      metrics.refused(Refusal.OVERLOAD);
      payload.release();
      return;
    }
    destinations.add(destination);
    metrics.bytesFromClients.add(payload.readableBytes());
    destinationSide.writeAndFlush(new DatagramPacket(payload, destination), destinationSide.voidPromise());
  }

  /** A datagram from a destination: passed to the client under a header naming its sender. */
  private final class FromDestinations extends SimpleChannelInboundHandler<DatagramPacket> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      InetSocketAddress sender = packet.sender();
      if (client == null || !destinations.contains(sender)) {
        metrics.refused(Refusal.SOURCE);
        return;
      }
      byte[] address = sender.getAddress().getAddress();
      ByteBuf out = ctx.alloc().buffer(6 + address.length + packet.content().readableBytes());
      out.writeShort(0).writeByte(0).writeByte(sender.getAddress() instanceof Inet4Address ? IPV4 : IPV6)
          .writeBytes(address).writeShort(sender.getPort());
      metrics.bytesToClients.add(packet.content().readableBytes());
      out.writeBytes(packet.content());
      clientSide.writeAndFlush(new DatagramPacket(out, client), clientSide.voidPromise());
    }
  }

  /** DST.ADDR as text (an address literal or a name), or null when the header is cut short or odd. */
  private static String readHost(ByteBuf in) {
    int type = in.readUnsignedByte();
    int length = switch (type) {
      case IPV4 -> 4;
      case IPV6 -> 16;
      case DOMAIN -> in.isReadable() ? in.readUnsignedByte() : -1;
      default -> -1;
    };
    if (length <= 0 || in.readableBytes() < length) {
      return null;
    }
    byte[] bytes = new byte[length];
    in.readBytes(bytes);
    return type == DOMAIN ? new String(bytes, StandardCharsets.US_ASCII) : NetUtil.bytesToIpAddress(bytes);
  }
}
