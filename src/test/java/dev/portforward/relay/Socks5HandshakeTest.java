package dev.portforward.relay;

import dev.portforward.common.Resolver;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.RelayConfigParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The SOCKS5 server handshake, byte by byte as RFC 1928 and RFC 1929 write it. */
class Socks5HandshakeTest {

  private static final byte[] GREETING_PASSWORD = {5, 1, 2};
  private static final byte[] GREETING_NO_AUTH = {5, 1, 0};

  private final Resolver resolver = new Resolver();
  private ForwardMetrics metrics;
  private Forward forward;

  @BeforeEach
  void forward(@TempDir Path users) throws Exception {
    Files.writeString(users.resolve("alice"), "secret");
    forward = RelayConfigParser.parse("""
        forwards:
          - name: socks
            protocol: SOCKS5
            listen: {port: 1080}
            socks5: {allowedDestinations: [10.0.0.0/8], usersDirectory: %s}
        """.formatted(users)).forwards().get(0);
    metrics = new ForwardMetrics(new SimpleMeterRegistry(), "socks", "SOCKS5");
  }

  @AfterEach
  void close() {
    resolver.close();
  }

  private EmbeddedChannel client() throws Exception {
    EmbeddedChannel channel = new EmbeddedChannel(false, false);
    Socks5Handshake.install(channel.pipeline(), forward, metrics, resolver);
    channel.register();
    return channel;
  }

  private static String send(EmbeddedChannel channel, byte[]... messages) {
    for (byte[] message : messages) {
      channel.writeInbound(Unpooled.wrappedBuffer(message));
    }
    StringBuilder replies = new StringBuilder();
    for (ByteBuf reply; (reply = channel.readOutbound()) != null; reply.release()) {
      replies.append(ByteBufUtil.hexDump(reply));
    }
    return replies.toString();
  }

  private static byte[] login(String user, String password) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(1);
    bytes.write(user.length());
    bytes.writeBytes(user.getBytes());
    bytes.write(password.length());
    bytes.writeBytes(password.getBytes());
    return bytes.toByteArray();
  }

  private static byte[] connect(int command, int a, int b, int c, int d, int port) {
    return new byte[] {5, (byte) command, 0, 1, (byte) a, (byte) b, (byte) c, (byte) d, (byte) (port >> 8), (byte) port};
  }

  @Test
  void aClientWithoutPasswordSupportIsTurnedAway() throws Exception {
    EmbeddedChannel channel = client();
    assertThat(send(channel, GREETING_NO_AUTH)).isEqualTo("05ff");
    assertThat(channel.isOpen()).isFalse();
    assertThat(metrics.refusedCount(ForwardMetrics.Refusal.AUTH)).isEqualTo(1);
  }

  @Test
  void aWrongPasswordFails() throws Exception {
    EmbeddedChannel channel = client();
    assertThat(send(channel, GREETING_PASSWORD, login("alice", "guess"))).isEqualTo("0502" + "01ff");
    assertThat(channel.isOpen()).isFalse();
    assertThat(metrics.refusedCount(ForwardMetrics.Refusal.AUTH)).isEqualTo(1);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "loopback is always denied, 127, 0, 0, 1, 80",
      "metadata service is always denied, 169, 254, 169, 254, 80",
      "outside allowedDestinations, 192, 168, 1, 1, 80",
      "port 25 without allowSmtp, 10, 0, 0, 1, 25",
  })
  void refusedDestinationsGetRuleset(String why, int a, int b, int c, int d, int port) throws Exception {
    EmbeddedChannel channel = client();
    // Method 02 chosen, login accepted, then 02 "connection not allowed by ruleset".
    assertThat(send(channel, GREETING_PASSWORD, login("alice", "secret"), connect(1, a, b, c, d, port)))
        .isEqualTo("0502" + "0100" + "05020001" + "00000000" + "0000");
    assertThat(channel.isOpen()).isFalse();
    assertThat(metrics.refusedCount(ForwardMetrics.Refusal.DESTINATION)).isEqualTo(1);
  }

  @Test
  void onlyConnectIsServed() throws Exception {
    EmbeddedChannel channel = client();
    assertThat(send(channel, GREETING_PASSWORD, login("alice", "secret"), connect(2, 10, 0, 0, 1, 80)))
        .endsWith("05070001000000000000");
    assertThat(channel.isOpen()).isFalse();
  }

  /**
   * Property: no byte sequence gets past authentication without the password, and none makes
   * the handshake throw. Replies are only ever a method choice or a failed login.
   */
  @Test
  void randomBytesNeverGetPastAuthentication() throws Exception {
    Random random = new Random(1928);
    for (int i = 0; i < 5_000; i++) {
      EmbeddedChannel channel = client();
      byte[] prefix = random.nextBoolean() ? GREETING_PASSWORD : new byte[0];
      byte[] noise = new byte[random.nextInt(64)];
      random.nextBytes(noise);
      String replies = send(channel, prefix, noise);
      channel.checkException();
      assertThat(replies).matches("(05(02|ff)(01ff)?)?");
      channel.finishAndReleaseAll();
    }
    assertThat(metrics.failureCount(ForwardMetrics.Failure.CONNECT)).isZero();
    assertThat(metrics.refusedCount(ForwardMetrics.Refusal.DESTINATION)).isZero();
  }
}
