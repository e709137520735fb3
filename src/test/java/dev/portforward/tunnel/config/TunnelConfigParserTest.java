package dev.portforward.tunnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.portforward.tunnel.config.TunnelUser.RemoteForward;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TunnelConfigParserTest {

  /** ssh-keygen -t ed25519; its fingerprint as ssh-keygen -l prints it. */
  static final String ALICE_KEY =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJhHT+9kwWAiUdiyZ+t0Zc9S625WZwYy32zHjeAKMH2o alice@laptop";
  static final String ALICE_FINGERPRINT = "SHA256:rRIdbbwVirbXwp96ZES8x4pOdlgEPwpY/G/xFzpAdFM";

  @Test
  void aFullConfigIsRead() throws Exception {
    TunnelConfig config = TunnelConfigParser.parse("""
        listen: {address: 10.0.0.1, port: 22022}
        hostKeyFile: /keys/host
        remoteForwardAddress: 10.0.0.1
        keepalive: {interval: 5s, timeout: 20s}
        connectTimeout: 3s
        deniedDestinations: [10.96.0.1]
        users:
          - name: alice
            authorizedKeys: ["%s"]
            remoteForwards: [{name: web, port: 8080}]
            allowedDestinations: [10.0.0.0/8]
            maxChannels: 5
            maxSessions: 2
        """.formatted(ALICE_KEY));
    assertThat(config.listen().getPort()).isEqualTo(22022);
    assertThat(config.keepaliveTimeout()).isEqualTo(Duration.ofSeconds(20));
    TunnelUser alice = config.user("alice").orElseThrow();
    assertThat(alice.authorized(ALICE_FINGERPRINT)).isPresent();
    assertThat(alice.remoteForward(8080)).contains(new RemoteForward("web", 8080));
    assertThat(alice.destinations().refusal(InetAddress.getByName("10.1.2.3"), 443)).isEmpty();
    assertThat(alice.destinations().refusal(InetAddress.getByName("10.96.0.1"), 443))
        .contains("denied: in the tunnel's deniedDestinations");
    assertThat(alice.destinations().refusal(InetAddress.getByName("127.0.0.1"), 80)).contains("denied: loopback");
    assertThat(alice.destinations().refusal(InetAddress.getByName("192.168.1.1"), 443))
        .contains("not in users[0].allowedDestinations");
    assertThat(alice.destinations().refusal(InetAddress.getByName("10.1.2.3"), 25))
        .contains("port 25 needs users[0].allowSmtp");
  }

  @Test
  void defaultsAreSafe() throws Exception {
    TunnelConfig config = TunnelConfigParser.parse("""
        hostKeyFile: /keys/host
        users: [{name: alice, authorizedKeys: ["%s"]}]
        """.formatted(ALICE_KEY));
    assertThat(config.listen().getPort()).isEqualTo(2222);
    assertThat(config.remoteForwardAddress().getHostAddress()).as("-R on loopback, as sshd's GatewayPorts no").isEqualTo("127.0.0.1");
    assertThat(config.keepaliveInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.keepaliveTimeout()).isEqualTo(Duration.ofSeconds(25));
    TunnelUser alice = config.user("alice").orElseThrow();
    assertThat(alice.remoteForwards()).as("no -R port unless listed").isEmpty();
    assertThat(config.userCertificateAuthorities()).as("no certificates unless a CA is listed").isEmpty();
    assertThat(alice.destinations().refusal(InetAddress.getByName("10.1.2.3"), 80))
        .as("no -L/-D destination unless listed").isPresent();
  }

  @Test
  void withATrustedUserCaAUserNeedsNoKeyOfItsOwn() throws Exception {
    TunnelConfig config = TunnelConfigParser.parse("""
        hostKeyFile: /keys/host
        userCertificateAuthorities: ["%s"]
        users: [{name: alice}]
        """.formatted(ALICE_KEY));
    assertThat(config.certificateAuthority(ALICE_FINGERPRINT)).isPresent();
    assertThat(config.user("alice").orElseThrow().authorizedKeys()).isEmpty();
  }

  @Test
  void keysMayComeFromAnAuthorizedKeysFile(@TempDir Path dir) throws Exception {
    Path keys = dir.resolve("alice");
    Files.writeString(keys, "# alice's laptop\n" + ALICE_KEY + "\n\n");
    TunnelConfig config = TunnelConfigParser.parse("""
        hostKeyFile: /keys/host
        users: [{name: alice, authorizedKeysFile: %s}]
        """.formatted(keys));
    assertThat(config.user("alice").orElseThrow().authorized(ALICE_FINGERPRINT)).isPresent();
  }

  @Test
  void everyProblemIsNamed() {
    assertThatThrownBy(() -> TunnelConfigParser.parse("""
        listen: {port: 2222}
        keepalive: {interval: 30s, timeout: 10s}
        users:
          - name: Alice
            authorizedKeys: ["ssh-ed25519 notbase64"]
          - name: bob
          - name: carol
            authorizedKeys: ["command=\\"/bin/sh\\" %s"]
            remoteForwards: [{name: web, port: 2222}, {name: Web_2, port: 80}]
            allowedDestinations: [10.0.0.0/33]
        """.formatted(ALICE_KEY)))
        .isInstanceOfSatisfying(InvalidTunnelConfigException.class, e -> {
          assertThat(e.problems()).hasSize(8);
          assertThat(e.problems().get(3)).startsWith("users[0].authorizedKeys[0]: not a public key such as 'ssh-ed25519 AAAA");
          assertThat(e.problems()).contains(
              "hostKeyFile: required: the server's private host key (OpenSSH format, e.g. from ssh-keygen -t ed25519)",
              "keepalive.timeout: must be longer than keepalive.interval (PT30S), got PT10S",
              "users[0].name: required: a user name such as alice (lower-case letters, digits, '_', '.', '-')",
              "users[1]: needs authorizedKeys or authorizedKeysFile (or userCertificateAuthorities): a user without a key could never log in",
              "users[2].authorizedKeys[0]: authorized_keys options are not supported; the config says what a user may do",
              "users[2].remoteForwards[1].name: required: a DNS label (lower-case letters, digits, '-'), the name of its Service",
              "users[2].allowedDestinations[0]: prefix length must be 0-32, got 33");
        });
  }

  @Test
  void aPortBelongsToOneUserAndNeverToTheServer() {
    assertThatThrownBy(() -> TunnelConfigParser.parse("""
        hostKeyFile: /keys/host
        users:
          - name: alice
            authorizedKeys: ["%1$s"]
            remoteForwards: [{name: web, port: 8080}, {name: ssh, port: 2222}]
          - name: bob
            authorizedKeys: ["%1$s"]
            remoteForwards: [{name: web, port: 8080}]
        """.formatted(ALICE_KEY)))
        .isInstanceOfSatisfying(InvalidTunnelConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "users[0].remoteForwards: port 2222 is the server's own SSH port",
            "users[1].remoteForwards: port 8080 is already alice's: each port belongs to one user"));
  }
}
