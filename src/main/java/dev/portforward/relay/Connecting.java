package dev.portforward.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/**
 * A client connection whose backend is being connected. The kernel may hand over bytes and an
 * end-of-stream before that (epoll reads on a peer's half-close even while reading is paused);
 * they are kept here and passed on by {@link Pump#join} so nothing the client sent is lost.
 */
abstract class Connecting extends ChannelInboundHandlerAdapter {

  private final List<ByteBuf> early = new ArrayList<>();

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf bytes) {
      early.add(bytes);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /** Hands the client over to a {@link Pump} with everything it sent so far. */
  void join(ChannelHandlerContext ctx, Channel backend, ForwardMetrics metrics) {
    Channel client = ctx.channel();
    client.pipeline().remove(this);
    Pump.join(client, backend, metrics, List.copyOf(early));
    early.clear();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    early.forEach(ReferenceCountUtil::release);
    early.clear();
    ctx.fireChannelInactive();
  }
}
