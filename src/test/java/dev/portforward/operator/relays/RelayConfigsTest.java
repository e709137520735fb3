package dev.portforward.operator.relays;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.ProxyProtocol;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Socks5;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import dev.portforward.common.RelayNames;
import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.RelayConfig;
import dev.portforward.relay.config.RelayConfigParser;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every config the operator writes is one the relay accepts, and says what the spec says. */
class RelayConfigsTest {

  @Test
  void aDeploymentRelayListensOnTheRelayPortAndDialsTheCheckedAddress() throws Exception {
    PortForward pf = forward(RelayMode.Deployment);

    Forward forward = single(RelayConfigs.deployment(pf, "203.0.113.7", 443, List.of()));

    assertThat(forward.name()).isEqualTo("team-a/web");
    assertThat(forward.protocol()).isEqualTo(Forward.Protocol.TCP);
    assertThat(forward.listen()).isEqualTo(new InetSocketAddress("0.0.0.0", RelayNames.RELAY_PORT));
    assertThat(forward.target()).contains(new Forward.Target("203.0.113.7", 443));
    assertThat(forward.proxyProtocol()).isEqualTo(Forward.ProxyHeader.V2);
    assertThat(forward.maxConnections()).isEqualTo(50);
    assertThat(forward.idleTimeout()).isEqualTo(Duration.ofMinutes(5));
    assertThat(forward.sourceRanges()).containsExactly(Cidr.parse("192.0.2.0/24"));
  }

  @Test
  void aRelayWithSourceRangesAlsoAdmitsTheNodesThatMasqueradeToIt() throws Exception {
    PortForward pf = forward(RelayMode.Deployment);

    Forward forward = single(RelayConfigs.deployment(pf, "203.0.113.7", 443, List.of("10.0.0.11", "fd00::11")));

    assertThat(forward.sourceRanges())
        .containsExactly(Cidr.parse("192.0.2.0/24"), Cidr.parse("10.0.0.11/32"), Cidr.parse("fd00::11/128"));
    pf.getSpec().setSourceRanges(null);
    assertThat(single(RelayConfigs.deployment(pf, "203.0.113.7", 443, List.of("10.0.0.11"))).sourceRanges())
        .as("without sourceRanges every client is admitted: nothing to add").isEmpty();
  }

  @Test
  void aSidecarListensOnTheAppPortWithoutAnAddressAndDialsLoopback() throws Exception {
    PortForward pf = forward(RelayMode.Sidecar);
    pf.getSpec().setProtocol(Protocol.UDP);
    pf.getSpec().getRelay().setProxyProtocol(ProxyProtocol.None);

    String yaml = RelayConfigs.sidecar(pf, 8080, List.of());
    Forward forward = single(yaml);

    assertThat(yaml).doesNotContain("address");
    assertThat(forward.name()).isEqualTo("team-a/web/8080");
    assertThat(forward.protocol()).isEqualTo(Forward.Protocol.UDP);
    assertThat(forward.listen().getPort()).isEqualTo(8080);
    assertThat(forward.target()).contains(new Forward.Target("127.0.0.1", 8080));
    assertThat(forward.maxConnections()).isEqualTo(50);
  }

  @Test
  void unsetSettingsAreLeftToTheRelaysDefaults() throws Exception {
    PortForward pf = forward(RelayMode.Deployment);
    pf.getSpec().setRelay(new Relay());
    pf.getSpec().getRelay().setMode(RelayMode.Deployment);
    pf.getSpec().setSourceRanges(null);

    String yaml = RelayConfigs.deployment(pf, "2001:db8::7", 443, List.of());
    Forward forward = single(yaml);

    assertThat(yaml).doesNotContain("proxyProtocol", "maxConnections", "idleTimeout", "sourceRanges");
    assertThat(forward.target()).contains(new Forward.Target("2001:db8::7", 443));
    assertThat(forward.sourceRanges()).isEmpty();
  }

  @Test
  void aSocks5RelayChecksEveryConnectAgainstTheAllowlistTheOperatorsDenylistAndItsUsers() throws Exception {
    PortForward pf = forward(RelayMode.Socks5);
    pf.getSpec().setTarget(null);
    pf.getSpec().getRelay().setProxyProtocol(ProxyProtocol.None);
    Socks5 socks5 = new Socks5();
    socks5.setAllowedDestinations(List.of("203.0.113.0/24"));
    pf.getSpec().getRelay().setSocks5(socks5);

    RelayConfig config = RelayConfigParser.parse(RelayConfigs.socks5(pf, List.of("198.51.100.0/24"), List.of()));

    Forward forward = config.forwards().get(0);
    assertThat(forward.protocol()).isEqualTo(Forward.Protocol.SOCKS5);
    assertThat(forward.listen().getPort()).isEqualTo(RelayNames.RELAY_PORT);
    assertThat(forward.target()).isEmpty();
    assertThat(forward.sourceRanges()).containsExactly(Cidr.parse("192.0.2.0/24"));
    assertThat(forward.socks5()).get().satisfies(s -> {
      assertThat(s.allowedDestinations()).containsExactly(Cidr.parse("203.0.113.0/24"));
      assertThat(s.deniedDestinations()).anyMatch(d -> d.cidr().equals(Cidr.parse("198.51.100.0/24")));
    });
    // The users Secret is mounted in the pod; the relay reads it from there (not here: no such directory).
    socks5.setUsersSecretName("socks-users");
    assertThat(RelayConfigs.socks5(pf, List.of(), List.of())).contains("usersDirectory: " + RelayConfigs.USERS_DIR)
        .doesNotContain("deniedDestinations");
  }

  private static Forward single(String yaml) throws Exception {
    List<Forward> forwards = RelayConfigParser.parse(yaml).forwards();
    assertThat(forwards).hasSize(1);
    return forwards.get(0);
  }

  static PortForward forward(RelayMode mode) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace("team-a").withName("web").build());
    PortForwardSpec spec = new PortForwardSpec();
    Listen listen = new Listen();
    listen.setPort(8443);
    spec.setListen(listen);
    ExternalTarget external = new ExternalTarget();
    external.setHost("backend.example.com");
    external.setPort(443);
    Target target = new Target();
    target.setExternal(external);
    spec.setTarget(target);
    Relay relay = new Relay();
    relay.setMode(mode);
    relay.setProxyProtocol(ProxyProtocol.V2);
    relay.setMaxConnections(50);
    relay.setIdleTimeout("5m");
    spec.setRelay(relay);
    spec.setSourceRanges(List.of("192.0.2.0/24"));
    pf.setSpec(spec);
    return pf;
  }
}
