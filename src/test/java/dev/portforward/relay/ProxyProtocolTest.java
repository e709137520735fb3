package dev.portforward.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.relay.config.Forward.ProxyHeader;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** PROXY protocol headers, read back by Netty's HAProxy decoder acting as the backend. */
class ProxyProtocolTest {

  @RegisterExtension final RelayFixture fixture = new RelayFixture();
  private final EventLoopGroup backendLoop = new NioEventLoopGroup(1);

  @AfterEach
  void close() {
    backendLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @EnumSource(value = ProxyHeader.class, names = {"V1", "V2"})
  void theBackendLearnsTheClientsAddressBeforeItsBytes(ProxyHeader version) throws Exception {
    BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    Channel backend = new ServerBootstrap().group(backendLoop).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new HAProxyMessageDecoder(), new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf bytes) {
                  received.add(bytes.toString(StandardCharsets.US_ASCII));
                  bytes.release();
                } else {
                  received.add(msg);
                }
              }
            });
          }
        })
        .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
    int port = RelayFixture.freePort();
    fixture.apply("""
        forwards:
          - name: web
            listen: {address: 127.0.0.1, port: %d}
            target: {host: 127.0.0.1, port: %d}
            proxyProtocol: %s
        """.formatted(port, ((InetSocketAddress) backend.localAddress()).getPort(), version));
    try {
      Socket client = fixture.connect(port);
      client.getOutputStream().write("GET".getBytes());
      HAProxyMessage header = (HAProxyMessage) received.poll(10, TimeUnit.SECONDS);
      assertThat(header.protocolVersion()).isEqualTo(
          version == ProxyHeader.V1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2);
      assertThat(header.sourceAddress()).isEqualTo("127.0.0.1");
      assertThat(header.sourcePort()).isEqualTo(client.getLocalPort());
      assertThat(header.destinationPort()).isEqualTo(port);
      header.release();
      assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("GET");
    } finally {
      backend.close();
    }
  }

  /** Property: whatever the addresses and ports, the header decodes to what was encoded. */
  @ParameterizedTest
  @EnumSource(value = ProxyHeader.class, names = {"V1", "V2"})
  void encodedHeadersDecodeToTheSameAddresses(ProxyHeader version) throws Exception {
    Random random = new Random(42);
    for (int i = 0; i < 2_000; i++) {
      boolean ipv6 = random.nextBoolean();
      InetSocketAddress source = randomAddress(random, ipv6);
      InetSocketAddress destination = randomAddress(random, ipv6);
      EmbeddedChannel encoder = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
      encoder.writeOutbound(Backend.proxyHeader(source, destination, version));
      EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder());
      decoder.writeInbound((ByteBuf) encoder.readOutbound());
      HAProxyMessage decoded = decoder.readInbound();
      assertThat(decoded.sourceAddress()).isEqualTo(NetUtil.toAddressString(source.getAddress()));
      assertThat(decoded.destinationAddress()).isEqualTo(NetUtil.toAddressString(destination.getAddress()));
      assertThat(decoded.sourcePort()).isEqualTo(source.getPort());
      assertThat(decoded.destinationPort()).isEqualTo(destination.getPort());
      decoded.release();
    }
  }

  private static InetSocketAddress randomAddress(Random random, boolean ipv6) throws Exception {
    byte[] bytes = new byte[ipv6 ? 16 : 4];
    random.nextBytes(bytes);
    return new InetSocketAddress(InetAddress.getByAddress(bytes), random.nextInt(65536));
  }
}
