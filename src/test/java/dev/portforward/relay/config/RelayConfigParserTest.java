package dev.portforward.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.portforward.common.Cidr;
import dev.portforward.relay.config.Forward.Protocol;
import dev.portforward.relay.config.Forward.ProxyHeader;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RelayConfigParserTest {

  @Test
  void aMinimalForwardGetsDocumentedDefaults() throws Exception {
    RelayConfig config = RelayConfigParser.parse("""
        forwards:
          - name: web
            listen: {port: 8080}
            target: {host: backend.example, port: 80}
        """);
    assertThat(config.drainTimeout()).isEqualTo(Duration.ofSeconds(30));
    Forward web = config.forwards().get(0);
    assertThat(web.protocol()).isEqualTo(Protocol.TCP);
    assertThat(web.listen().getAddress()).isEqualTo(InetAddress.getByName("0.0.0.0"));
    assertThat(web.target()).contains(new Forward.Target("backend.example", 80));
    assertThat(web.proxyProtocol()).isEqualTo(ProxyHeader.None);
    assertThat(web.maxConnections()).isEqualTo(10_000);
    assertThat(web.idleTimeout()).isEqualTo(Duration.ofHours(1));
    assertThat(web.connectTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(web.sourceRanges()).isEmpty();
  }

  @Test
  void weightedTargetsArePickedInProportionToTheirWeights() throws Exception {
    Forward web = RelayConfigParser.parse("""
        forwards:
          - name: web
            listen: {port: 8080}
            targets: [{host: 10.96.0.10, port: 80, weight: 3}, {host: 10.96.0.11, port: 80}]
        """).forwards().get(0);
    assertThat(web.targets()).containsExactly(new Forward.Target("10.96.0.10", 80, 3), new Forward.Target("10.96.0.11", 80));
    assertThat(web.target()).as("not one target").isEmpty();

    // Slots 0-2 are the first target's, slot 3 the second's.
    assertThat(web.pick(fixed(0)).host()).isEqualTo("10.96.0.10");
    assertThat(web.pick(fixed(2)).host()).isEqualTo("10.96.0.10");
    assertThat(web.pick(fixed(3)).host()).isEqualTo("10.96.0.11");
    SplittableRandom random = new SplittableRandom(7);
    long first = IntStream.range(0, 4000).filter(i -> web.pick(random).weight() == 3).count();
    assertThat(first).as("3 of 4 of 4000 picks, give or take a few standard deviations (27)").isBetween(2850L, 3150L);
  }

  /** A generator whose every draw is {@code slot}. */
  private static RandomGenerator fixed(long slot) {
    return new RandomGenerator() {
      @Override public long nextLong() {
        throw new UnsupportedOperationException();
      }

      @Override public long nextLong(long bound) {
        return slot;
      }
    };
  }

  @Test
  void udpSessionsExpireSoonerByDefault() throws Exception {
    Forward dns = RelayConfigParser.parse("""
        forwards:
          - {name: dns, protocol: UDP, listen: {port: 53}, target: {host: 10.0.0.10, port: 53}}
        """).forwards().get(0);
    assertThat(dns.idleTimeout()).isEqualTo(Duration.ofMinutes(2));
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', value = {
      "{name: web, listen: {port: 0}, target: {host: a, port: 80}}| forwards[0].listen.port: must be 1-65535, got 0",
      "{name: web, listen: {port: 80}}| forwards[0].target.host: required",
      "{name: Web, listen: {port: 80}, target: {host: a, port: 80}}| forwards[0].name: required: lower-case",
      "{name: web, protocol: SCTP, listen: {port: 80}, target: {host: a, port: 80}}| forwards[0].protocol: 'SCTP' is not one of TCP, UDP, SOCKS5",
      "{name: web, listen: {address: example.com, port: 80}, target: {host: a, port: 80}}| forwards[0].listen.address: 'example.com' is not an IP address",
      "{name: web, idleTimeout: 5 minutes, listen: {port: 80}, target: {host: a, port: 80}}| forwards[0].idleTimeout: '5 minutes' is not a duration",
      "{name: web, sourceRanges: [10.0.0.0/33], listen: {port: 80}, target: {host: a, port: 80}}| forwards[0].sourceRanges[0]: prefix length must be 0-32",
      "{name: dns, protocol: UDP, proxyProtocol: V2, listen: {port: 53}, target: {host: a, port: 53}}| forwards[0].proxyProtocol: only TCP and SOCKS5",
      "{name: web, listen: {port: 80}, targets: []}| forwards[0].targets: must hold 1-16 targets, got 0",
      "{name: web, listen: {port: 80}, targets: [{host: a, port: 80, weight: 0}]}| forwards[0].targets[0].weight: must be 1-1000000, got 0",
      "{name: web, listen: {port: 80}, target: {host: a, port: 80}, targets: [{host: a, port: 80}]}| forwards[0].targets: set target or targets, not both",
      "{name: web, listen: {port: 80}, target: {host: a, port: 80, weight: 2}}| forwards[0].target.weight: only in targets",
      "{name: s, protocol: SOCKS5, listen: {port: 1080}, socks5: {allowedDestinations: [10.0.0.0/8]}}| forwards[0].socks5: needs users (usersDirectory) or sourceRanges",
      "{name: s, protocol: SOCKS5, sourceRanges: [10.0.0.0/8], listen: {port: 1080}, socks5: {}}| forwards[0].socks5.allowedDestinations: required",
      "{name: s, protocol: SOCKS5, sourceRanges: [10.0.0.0/8], listen: {port: 1080}, target: {host: a, port: 1}, socks5: {allowedDestinations: [10.0.0.0/8]}}| forwards[0].target: not allowed with protocol SOCKS5",
      "{name: web, listen: {port: 80}, target: {host: a, port: 80}, socks5: {allowedDestinations: [10.0.0.0/8]}}| forwards[0].socks5: only allowed with protocol SOCKS5",
      "{name: web, listen: {port: 80}, target: {host: a, port: 80}, colour: blue}| forwards[0].colour: Unrecognized field",
      "{name: web, maxConnections: lots, listen: {port: 80}, target: {host: a, port: 80}}| forwards[0].maxConnections: Cannot deserialize",
  })
  void badInputNamesItsField(String forward, String error) {
    assertThatThrownBy(() -> RelayConfigParser.parse("forwards:\n  - " + forward))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining(error.strip());
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    assertThatThrownBy(() -> RelayConfigParser.parse("""
        drainTimeout: soon
        forwards:
          - {name: a, listen: {port: 80}, target: {host: x, port: 80}}
          - {name: a, listen: {port: 80}, target: {host: x, port: 99999}}
        """))
        .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "drainTimeout: 'soon' is not a duration such as 250ms, 30s, 5m or 1h30m",
            "forwards[1].target.port: must be 1-65535, got 99999"));
  }

  @Test
  void namesAndListenAddressesAreUnique() {
    assertThatThrownBy(() -> RelayConfigParser.parse("""
        forwards:
          - {name: a, listen: {port: 80}, target: {host: x, port: 80}}
          - {name: a, listen: {port: 80}, target: {host: x, port: 81}}
          - {name: b, protocol: UDP, listen: {port: 80}, target: {host: x, port: 81}}
        """))
        .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "forwards[1].name: 'a' is used by an earlier forward",
            "forwards[1].listen: /0.0.0.0:80 is used by an earlier forward"));
  }

  @Test
  void socks5UsersComeFromAMountedSecretDirectory(@TempDir Path secret) throws Exception {
    Files.writeString(secret.resolve("alice"), "wonderland\n");
    Files.createDirectory(secret.resolve("..2026_11_25"));
    Forward socks = RelayConfigParser.parse("""
        deniedDestinations: [10.96.0.1]
        forwards:
          - name: s
            protocol: SOCKS5
            listen: {port: 1080}
            socks5: {allowedDestinations: [10.0.0.0/8], usersDirectory: %s}
        """.formatted(secret)).forwards().get(0);
    Socks5 rules = socks.socks5().orElseThrow();
    assertThat(rules.users()).containsExactly(java.util.Map.entry("alice", "wonderland"));
    assertThat(rules.authenticates("alice", "wonderland")).isTrue();
    assertThat(rules.authenticates("alice", "wonder")).isFalse();
    assertThat(rules.authenticates("bob", "wonderland")).isFalse();
    assertThat(rules.refusal(InetAddress.getByName("10.1.2.3"), 443)).isEmpty();
    assertThat(rules.refusal(InetAddress.getByName("10.96.0.1"), 443)).contains("denied: in the relay's deniedDestinations");
    assertThat(rules.refusal(InetAddress.getByName("10.1.2.3"), 25)).contains("port 25 needs socks5.allowSmtp");
    assertThat(rules.refusal(InetAddress.getByName("192.168.1.1"), 443)).contains("not in socks5.allowedDestinations");
    assertThat(rules.allowedDestinations()).containsExactly(Cidr.parse("10.0.0.0/8"));
  }

  /** A projected volume of two ConfigMaps, as the kubelet lays it out: symlinks into ..data. */
  @Test
  void aDirectoryIsOneConfigOfAllItsFiles(@TempDir Path mount) throws Exception {
    Path data = Files.createDirectory(mount.resolve("..2026_11_25_10_00_00.1"));
    Files.writeString(data.resolve("web.yaml"), """
        drainTimeout: 10s
        forwards:
          - {name: web, listen: {port: 8080}, target: {host: 127.0.0.1, port: 8080}}
        """);
    Files.writeString(data.resolve("dns.yaml"), """
        drainTimeout: 2m
        deniedDestinations: [10.96.0.1]
        forwards:
          - {name: dns, protocol: UDP, listen: {address: 0.0.0.0, port: 53}, target: {host: 127.0.0.1, port: 5353}}
        """);
    Files.createSymbolicLink(mount.resolve("..data"), data.getFileName());
    Files.createSymbolicLink(mount.resolve("web.yaml"), Path.of("..data/web.yaml"));
    Files.createSymbolicLink(mount.resolve("dns.yaml"), Path.of("..data/dns.yaml"));

    RelayConfig config = RelayConfigParser.read(mount, InetAddress.getByName("10.244.1.7"));

    assertThat(config.forwards()).extracting(Forward::name).containsExactly("dns", "web");
    assertThat(config.forwards().get(0).listen().getAddress()).isEqualTo(InetAddress.getByName("0.0.0.0"));
    assertThat(config.forwards().get(1).listen().getAddress())
        .as("a listen without an address binds the default address")
        .isEqualTo(InetAddress.getByName("10.244.1.7"));
    assertThat(config.drainTimeout()).as("the longest").isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void aDirectoryNamesTheFileOfEachProblem(@TempDir Path mount) throws Exception {
    Files.writeString(mount.resolve("a.yaml"), "forwards: [{name: web, listen: {port: 80}, target: {host: x, port: 80}}]");
    Files.writeString(mount.resolve("b.yaml"), "forwards: [{name: web, listen: {port: 0}, target: {host: x, port: 80}}]");
    Files.writeString(mount.resolve("notes.txt"), "not a config");

    assertThatThrownBy(() -> RelayConfigParser.read(mount, InetAddress.getByName("0.0.0.0")))
        .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "b.yaml: forwards[0].listen.port: must be 1-65535, got 0"));
    Files.writeString(mount.resolve("b.yaml"), "forwards: [{name: web, listen: {port: 81}, target: {host: x, port: 80}}]");
    assertThatThrownBy(() -> RelayConfigParser.read(mount, InetAddress.getByName("0.0.0.0")))
        .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "b.yaml: forwards[0].name: 'web' is used by an earlier forward"));
  }

  @Test
  void anEmptyDirectoryIsAConfigWithoutForwards(@TempDir Path mount) throws Exception {
    assertThat(RelayConfigParser.read(mount, InetAddress.getByName("0.0.0.0")).forwards()).isEmpty();
  }
}
