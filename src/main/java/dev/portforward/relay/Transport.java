package dev.portforward.relay;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/** Native epoll where the platform has it (Linux), the JDK's NIO elsewhere, so the relay runs anywhere. */
final class Transport {

  static final boolean NATIVE = Epoll.isAvailable();

  static EventLoopGroup group(int threads) {
    DefaultThreadFactory factory = new DefaultThreadFactory("relay", true);
    return NATIVE ? new EpollEventLoopGroup(threads, factory) : new NioEventLoopGroup(threads, factory);
  }

  static Class<? extends ServerChannel> serverChannel() {
    return NATIVE ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  static Class<? extends Channel> socketChannel() {
    return NATIVE ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  static Class<? extends DatagramChannel> datagramChannel() {
    return NATIVE ? EpollDatagramChannel.class : NioDatagramChannel.class;
  }

  private Transport() {}
}
