package dev.portforward.relay;

import dev.portforward.common.Resolver;
import dev.portforward.relay.config.Forward;
import io.netty.channel.EventLoopGroup;

/**
 * A forward's socket and what it accepted. A reload that keeps the forward's protocol and listen
 * address hands the new settings to the same listener: the socket stays open, established
 * connections keep the settings they started with, new ones get the new settings.
 */
abstract sealed class Listener permits TcpListener, UdpListener {

  protected volatile Forward forward;
  protected final ForwardMetrics metrics;
  protected final Resolver resolver;

  Listener(Forward forward, ForwardMetrics metrics, Resolver resolver) {
    this.forward = forward;
    this.metrics = metrics;
    this.resolver = resolver;
  }

  static Listener of(Forward forward, ForwardMetrics metrics, Resolver resolver) {
    return forward.protocol() == Forward.Protocol.UDP
        ? new UdpListener(forward, metrics, resolver)
        : new TcpListener(forward, metrics, resolver);
  }

  Forward forward() {
    return forward;
  }

  void update(Forward next) {
    forward = next;
  }

  /** Binds the socket; throws when the address is taken or not local. */
  abstract void bind(EventLoopGroup group) throws InterruptedException;

  /** Closes the socket: no new clients. What was accepted carries on until {@link #closeAll}. */
  abstract void stopAccepting();

  /** Connections or sessions still open on this listener. */
  abstract int openConnections();

  abstract void closeAll();
}
