package dev.portforward.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Errors;
import io.netty.util.ReferenceCountUtil;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Moves bytes from one connected socket to its peer. Backpressure: while the peer cannot take
 * more (its write buffer is above the high-water mark), this side stops reading, so a slow
 * reader holds at most a watermark of memory. Half-close: an end-of-stream from one side becomes
 * a shutdown of the peer's output once everything before it is written; the connection closes
 * when both directions have ended. Both channels live on the same event loop, so no handler
 * state is shared across threads.
 */
final class Pump extends ChannelInboundHandlerAdapter {

  private final Channel peer;
  private final LongAdder bytes;
  private final ForwardMetrics metrics;
  /** True on the client's side, whose peer is the backend. */
  private final boolean peerIsBackend;
  private boolean reset;

  private Pump(Channel peer, LongAdder bytes, ForwardMetrics metrics, boolean peerIsBackend) {
    this.peer = peer;
    this.bytes = bytes;
    this.metrics = metrics;
    this.peerIsBackend = peerIsBackend;
  }

  /**
   * Joins a client connection and its backend connection, passes on what each delivered while
   * they were being connected (bytes, then an end-of-stream), and starts reading from both.
   */
  static void join(Channel client, Channel backend, ForwardMetrics metrics) {
    List<ByteBuf> fromClient = client.pipeline().remove(EarlyBytes.class).takeAll();
    List<ByteBuf> fromBackend = backend.pipeline().remove(EarlyBytes.class).takeAll();
    client.pipeline().addLast(new Pump(backend, metrics.bytesFromClients, metrics, true));
    backend.pipeline().addLast(new Pump(client, metrics.bytesToClients, metrics, false));
    replay(client, fromClient);
    replay(backend, fromBackend);
    client.config().setAutoRead(backend.isWritable());
    backend.config().setAutoRead(client.isWritable());
  }

  private static void replay(Channel channel, List<ByteBuf> early) {
    early.forEach(bytes -> channel.pipeline().fireChannelRead(bytes));
    channel.pipeline().fireChannelReadComplete();
    if (((DuplexChannel) channel).isInputShutdown()) {
      channel.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!writable(peer)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    bytes.add(((ByteBuf) msg).readableBytes());
    peer.write(msg, peer.voidPromise());
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (writable(peer)) {
      peer.flush();
    }
  }

  /**
   * Whether the peer can still take bytes. Checked first because writing to a closed or
   * shut-down socket costs an exception each time, which at thousands of connections a second
   * is most of the relay's work per connection.
   */
  private static boolean writable(Channel channel) {
    return channel.isActive() && !((DuplexChannel) channel).isOutputShutdown();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    peer.config().setAutoRead(ctx.channel().isWritable());
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof ChannelInputShutdownEvent) {
      Channel self = ctx.channel();
      if (!writable(peer)) {
        closeBoth(self);
        return;
      }
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) written -> {
        if (!written.isSuccess()) {
          closeBoth(self);
          return;
        }
        ((DuplexChannel) peer).shutdownOutput().addListener(shut -> {
          if (!shut.isSuccess() || ((DuplexChannel) peer).isInputShutdown()) {
            closeBoth(self);
          }
        });
      });
    }
    ctx.fireUserEventTriggered(event);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (reset) {
      // An abort travels on as an abort.
      abort(peer);
    } else if (writable(peer)) {
      // Whatever is still queued for the peer goes out first.
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> closePeer());
    } else {
      closePeer();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    metrics.failed(isReset(cause) ? ForwardMetrics.Failure.RESET : ForwardMetrics.Failure.IO);
    reset = true;
    ctx.close();
  }

  /** The peer aborted: ECONNRESET from the native transport, or NIO's message for it. */
  private static boolean isReset(Throwable cause) {
    return cause instanceof Errors.NativeIoException error && error.expectedErr() == Errors.ERRNO_ECONNRESET_NEGATIVE
        || cause instanceof SocketException && "Connection reset".equals(cause.getMessage());
  }

  /** Both directions are over: nothing is left to say either way. */
  private void closeBoth(Channel self) {
    if (peerIsBackend) {
      self.close();
      closeBackend(peer);
    } else {
      closeBackend(self);
      peer.close();
    }
  }

  private void closePeer() {
    if (peerIsBackend) {
      closeBackend(peer);
    } else {
      peer.close();
    }
  }

  /**
   * A backend that has finished sending is closed with a reset rather than a FIN, as HAProxy
   * does, so that it keeps no TIME_WAIT: a backend that closes first would otherwise hold one per
   * connection, and at thousands of connections a second a new connection from a recycled port
   * meets one and waits a second for its SYN to be retried. Clients always get a FIN.
   */
  private static void closeBackend(Channel backend) {
    if (((DuplexChannel) backend).isInputShutdown()) {
      abort(backend);
    } else {
      backend.close();
    }
  }

  private static void abort(Channel channel) {
    if (channel.isOpen()) {
      channel.config().setOption(ChannelOption.SO_LINGER, 0);
    }
    channel.close();
  }
}
