package dev.portforward.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.NotYetConnectedException;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps what a socket delivers before its {@link Pump} is in place. Reading is paused until then,
 * but epoll still reads when the peer half-closes (so as not to miss the data before the
 * end-of-stream): a client that sends and closes at once, or a backend that greets and closes,
 * would otherwise lose those bytes. {@link Pump#join} replays them.
 */
final class EarlyBytes extends ChannelInboundHandlerAdapter {

  private final List<ByteBuf> held = new ArrayList<>();

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf bytes) {
      held.add(bytes);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /** Everything held so far, in order; the caller owns the buffers. */
  List<ByteBuf> takeAll() {
    List<ByteBuf> all = List.copyOf(held);
    held.clear();
    return all;
  }

  /**
   * A socket that fails closes. A read before the connection exists is not a failure: epoll can
   * report a backend socket readable while its SYN is still being retried, and the connect's own
   * outcome (connected, refused, timed out) decides.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!(cause instanceof NotYetConnectedException)) {
      ctx.close();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    held.forEach(ReferenceCountUtil::release);
    held.clear();
    ctx.fireChannelInactive();
  }
}
