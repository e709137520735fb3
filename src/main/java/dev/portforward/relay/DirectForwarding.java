package dev.portforward.relay;

import dev.portforward.common.Resolver;
import dev.portforward.relay.ForwardMetrics.Failure;
import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.Forward.Target;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ThreadLocalRandom;
import org.jboss.logging.Logger;

/** A TCP forward's client connection: connect to the fixed target, then pump. */
final class DirectForwarding extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = Logger.getLogger(DirectForwarding.class);

  private final Forward forward;
  private final ForwardMetrics metrics;
  private final Resolver resolver;

  DirectForwarding(Forward forward, ForwardMetrics metrics, Resolver resolver) {
    this.forward = forward;
    this.metrics = metrics;
    this.resolver = resolver;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    Channel client = ctx.channel();
    Target target = forward.pick(ThreadLocalRandom.current());
    resolver.resolve(target.host(), ctx.executor()).addListener(resolved -> {
      if (!resolved.isSuccess()) {
        metrics.failed(Failure.RESOLVE);
        LOG.debugf("forward=%s target=%s: cannot resolve: %s", forward.name(), target, resolved.cause());
        client.close();
        return;
      }
      InetSocketAddress address = new InetSocketAddress((InetAddress) resolved.getNow(), target.port());
      Backend.connect(client, address, forward, connected -> {
        Channel backend = connected.channel();
        if (!connected.isSuccess()) {
          metrics.failed(Failure.CONNECT);
          LOG.debugf("forward=%s target=%s: cannot connect: %s", forward.name(), address, connected.cause());
          client.close();
        } else if (!client.isActive()) {
          backend.close();
        } else {
          Backend.sendProxyHeader(client, backend, forward.proxyProtocol());
          client.pipeline().remove(this);
          Pump.join(client, backend, metrics);
        }
      });
    });
    ctx.fireChannelActive();
  }
}
