package dev.portforward.relay;

import dev.portforward.common.Resolver;
import dev.portforward.relay.ForwardMetrics.Failure;
import dev.portforward.relay.ForwardMetrics.Refusal;
import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.Socks5;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.socksx.v5.DefaultSocks5CommandResponse;
import io.netty.handler.codec.socksx.v5.DefaultSocks5InitialResponse;
import io.netty.handler.codec.socksx.v5.DefaultSocks5PasswordAuthResponse;
import io.netty.handler.codec.socksx.v5.Socks5AddressType;
import io.netty.handler.codec.socksx.v5.Socks5AuthMethod;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequest;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.codec.socksx.v5.Socks5CommandType;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequest;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthRequest;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthStatus;
import io.netty.handler.codec.socksx.v5.Socks5ServerEncoder;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The server side of a SOCKS5 handshake (RFC 1928, CONNECT and UDP ASSOCIATE; BIND is answered
 * "command not supported"; RFC 1929 username/password). The CONNECT target is resolved once, that
 * one address is checked against the forward's destination rules and that same address is
 * dialled, so a name cannot pass the check with one answer and connect with another; a UDP
 * association does the same per destination ({@link Socks5UdpAssociation}). A client gets {@link #HANDSHAKE_TIMEOUT_SECONDS} seconds to finish.
 */
final class Socks5Handshake extends ChannelInboundHandlerAdapter {

  static final long HANDSHAKE_TIMEOUT_SECONDS = 10;
  private static final Logger LOG = Logger.getLogger(Socks5Handshake.class);

  private final Forward forward;
  private final Socks5 rules;
  private final ForwardMetrics metrics;
  private final Resolver resolver;
  private ScheduledFuture<?> deadline;
  private boolean connecting;

  private Socks5Handshake(Forward forward, ForwardMetrics metrics, Resolver resolver) {
    this.forward = forward;
    this.rules = forward.socks5().orElseThrow();
    this.metrics = metrics;
    this.resolver = resolver;
  }

  static void install(ChannelPipeline pipeline, Forward forward, ForwardMetrics metrics, Resolver resolver) {
    pipeline.addLast(Socks5ServerEncoder.DEFAULT, new Socks5InitialRequestDecoder(),
        new Socks5Handshake(forward, metrics, resolver));
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    deadline = ctx.executor().schedule((Runnable) ctx::close, HANDSHAKE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    ctx.channel().config().setAutoRead(true);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (connecting) {
      // Bytes a client sends after CONNECT, before the reply: held for the target.
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      if (msg instanceof DecoderResultProvider decoded && decoded.decoderResult().isFailure()) {
        ctx.close();
      } else if (msg instanceof Socks5InitialRequest hello) {
        greet(ctx, hello);
      } else if (msg instanceof Socks5PasswordAuthRequest login) {
        authenticate(ctx, login);
      } else if (msg instanceof Socks5CommandRequest command) {
        command(ctx, command);
      } else {
        ctx.close();
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void greet(ChannelHandlerContext ctx, Socks5InitialRequest hello) {
    Socks5AuthMethod method = rules.requiresPassword() ? Socks5AuthMethod.PASSWORD : Socks5AuthMethod.NO_AUTH;
    if (!hello.authMethods().contains(method)) {
      metrics.refused(Refusal.AUTH);
      ctx.writeAndFlush(new DefaultSocks5InitialResponse(Socks5AuthMethod.UNACCEPTED))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ctx.pipeline().replace(Socks5InitialRequestDecoder.class, null,
        method == Socks5AuthMethod.PASSWORD ? new Socks5PasswordAuthRequestDecoder() : new Socks5CommandRequestDecoder());
    ctx.writeAndFlush(new DefaultSocks5InitialResponse(method));
  }

  private void authenticate(ChannelHandlerContext ctx, Socks5PasswordAuthRequest login) {
    if (!rules.authenticates(login.username(), login.password())) {
      metrics.refused(Refusal.AUTH);
      LOG.debugf("forward=%s client=%s: SOCKS5 authentication failed", forward.name(), ctx.channel().remoteAddress());
      ctx.writeAndFlush(new DefaultSocks5PasswordAuthResponse(Socks5PasswordAuthStatus.FAILURE))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ctx.pipeline().replace(Socks5PasswordAuthRequestDecoder.class, null, new Socks5CommandRequestDecoder());
    ctx.writeAndFlush(new DefaultSocks5PasswordAuthResponse(Socks5PasswordAuthStatus.SUCCESS));
  }

  private void command(ChannelHandlerContext ctx, Socks5CommandRequest command) {
    if (command.type() == Socks5CommandType.UDP_ASSOCIATE) {
      associate(ctx, command);
      return;
    }
    if (command.type() != Socks5CommandType.CONNECT) {
      reply(ctx, Socks5CommandStatus.COMMAND_UNSUPPORTED).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    connecting = true;
    ctx.channel().config().setAutoRead(false);
    int port = command.dstPort();
    String host = command.dstAddr();
    resolver.resolve(host, ctx.executor()).addListener(resolved -> {
      if (!resolved.isSuccess()) {
        metrics.failed(Failure.RESOLVE);
        reply(ctx, Socks5CommandStatus.HOST_UNREACHABLE).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      InetAddress address = (InetAddress) resolved.getNow();
      Optional<String> refusal = rules.refusal(address, port);
      if (refusal.isPresent()) {
        metrics.refused(Refusal.DESTINATION);
        LOG.debugf("forward=%s client=%s: CONNECT %s:%d (%s) refused: %s", forward.name(),
            ctx.channel().remoteAddress(), host, port, address, refusal.get());
        reply(ctx, Socks5CommandStatus.FORBIDDEN).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      Backend.connect(ctx.channel(), new InetSocketAddress(address, port), forward,
          connected -> connected(ctx, connected));
    });
  }

  private void connected(ChannelHandlerContext ctx, ChannelFuture connected) {
    Channel client = ctx.channel();
    Channel backend = connected.channel();
    if (!connected.isSuccess()) {
      metrics.failed(Failure.CONNECT);
      Socks5CommandStatus status = connected.cause() instanceof ConnectException
          ? Socks5CommandStatus.CONNECTION_REFUSED : Socks5CommandStatus.HOST_UNREACHABLE;
      reply(ctx, status).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    if (!client.isActive()) {
      backend.close();
      return;
    }
    succeeded(ctx, (InetSocketAddress) backend.localAddress());
    ChannelPipeline pipeline = client.pipeline();
    pipeline.remove(Socks5ServerEncoder.class);
    // The decoder hands over what it had buffered beyond the request: more early bytes.
    pipeline.remove(Socks5CommandRequestDecoder.class);
    Backend.sendProxyHeader(client, backend, forward.proxyProtocol());
    pipeline.remove(this);
    Pump.join(client, backend, metrics);
  }

  /**
   * UDP ASSOCIATE: the reply names the socket to send datagrams to; from then on the control
   * connection only keeps the association alive (anything the client sends on it is discarded).
   */
  private void associate(ChannelHandlerContext ctx, Socks5CommandRequest command) {
    Socks5UdpAssociation.open(ctx.channel(), forward.name(), rules, metrics, resolver, command.dstPort())
        .addListener(bound -> {
          if (!bound.isSuccess()) {
            metrics.failed(Failure.IO);
            reply(ctx, Socks5CommandStatus.FAILURE).addListener(ChannelFutureListener.CLOSE);
            return;
          }
          succeeded(ctx, (InetSocketAddress) bound.getNow());
          ChannelPipeline pipeline = ctx.pipeline();
          pipeline.remove(Socks5CommandRequestDecoder.class);
          pipeline.replace(this, null, new AssociationControl());
        });
  }

  /**
   * A UDP association's control connection after the reply: what the client sends is discarded,
   * and its end (the relay's connections allow half-closure) ends the association.
   */
  private static final class AssociationControl extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof ChannelInputShutdownEvent) {
        ctx.close();
      }
      ctx.fireUserEventTriggered(event);
    }
  }

  /** The success reply, naming the address the relay bound for this request. */
  private static void succeeded(ChannelHandlerContext ctx, InetSocketAddress bound) {
    ctx.writeAndFlush(new DefaultSocks5CommandResponse(Socks5CommandStatus.SUCCESS,
        bound.getAddress() instanceof Inet6Address ? Socks5AddressType.IPv6 : Socks5AddressType.IPv4,
        NetUtil.toAddressString(bound.getAddress()), bound.getPort()));
  }

  private ChannelFuture reply(ChannelHandlerContext ctx, Socks5CommandStatus status) {
    return ctx.writeAndFlush(new DefaultSocks5CommandResponse(status, Socks5AddressType.IPv4));
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (deadline != null) {
      deadline.cancel(false);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
