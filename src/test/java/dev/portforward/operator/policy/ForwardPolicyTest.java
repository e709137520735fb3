package dev.portforward.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.Gateway;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ForwardPolicyTest {

  @Test
  void badSettingsAreRefusedAtStartUpNamingTheSetting() {
    assertThatThrownBy(() -> ForwardPolicy.from(Settings.defaults().withPorts(2000, 1000)))
        .hasMessageStartingWith("portforward.policy.listen-port-min/max");
    assertThatThrownBy(() -> ForwardPolicy.from(Settings.defaults().withDenylist("10.0.0.0/8", "10.0.0.1/33")))
        .hasMessageStartingWith("portforward.policy.target-denylist[1]:");
    assertThatThrownBy(() -> ForwardPolicy.from(Settings.defaults().withExternal()))
        .hasMessageStartingWith("portforward.policy.external-target-cidrs must list at least one CIDR");
  }

  @Test
  void listenPortsOutsideTheRangeOrPrivilegedAreRefused() {
    ForwardPolicy policy = ForwardPolicy.from(Settings.defaults().withPorts(80, 9000));
    assertThat(policy.check(spec(9001, null))).get().extracting(Refusal::reason).isEqualTo(Reason.PORT_NOT_ALLOWED);
    assertThat(policy.check(spec(80, null))).get().extracting(Refusal::reason)
        .isEqualTo(Reason.PRIVILEGED_PORT_NOT_ALLOWED);
    assertThat(policy.check(spec(8080, null))).isEmpty();
  }

  @Test
  void externalTargetsNeedThePolicyAndAnAllowedAddress() {
    assertThat(ForwardPolicy.from(Settings.defaults()).check(spec(8080, "203.0.113.5"))).get()
        .extracting(Refusal::reason).isEqualTo(Reason.EXTERNAL_TARGET_NOT_ALLOWED);
    ForwardPolicy policy = ForwardPolicy.from(Settings.defaults().withExternal("203.0.113.0/24"));
    assertThat(policy.check(spec(8080, "203.0.113.5"))).isEmpty();
    assertThat(policy.check(spec(8080, "192.0.2.1"))).get().extracting(Refusal::message).asString()
        .contains("outside the CIDRs allowed for external targets");
    // Names are checked once resolved; the spec alone cannot tell.
    assertThat(policy.check(spec(8080, "db.example.com"))).isEmpty();
  }

  @Test
  void theBuiltInDenylistWinsOverAnyAllowedRange() {
    ForwardPolicy policy = ForwardPolicy.from(Settings.defaults().withExternal("0.0.0.0/0", "::/0"));
    for (String address : List.of("127.0.0.1", "169.254.169.254", "::1", "fe80::1", "0.0.0.0", "fd00:ec2::254")) {
      assertThat(policy.check(spec(8080, address))).as(address).get()
          .extracting(Refusal::reason).isEqualTo(Reason.TARGET_DENIED);
    }
    assertThat(policy.check(spec(8080, "169.254.169.254")).orElseThrow().message())
        .isEqualTo("external target 169.254.169.254 resolves to 169.254.169.254, which is link-local, where cloud"
            + " metadata services live (169.254.0.0/16); no forward may lead there");
  }

  @Test
  void theApiServerIsDeniedOnceKnown() {
    ForwardPolicy policy = ForwardPolicy.from(Settings.defaults())
        .denyingApiServer(List.of(Cidr.parseAddress("10.96.0.1")));
    assertThat(policy.checkAddress(Cidr.parseAddress("10.96.0.1"), "target service/web:80")).get()
        .extracting(Refusal::message).asString().contains("the API server");
    assertThat(policy.checkAddress(Cidr.parseAddress("10.96.0.2"), "target service/web:80")).isEmpty();
  }

  @Test
  void socks5AndGatewayMappingAreOffUnlessEnabled() {
    PortForwardSpec socks = spec(1080, null);
    Relay relay = new Relay();
    relay.setMode(RelayMode.Socks5);
    socks.setRelay(relay);
    assertThat(ForwardPolicy.from(Settings.defaults()).check(socks)).get()
        .extracting(Refusal::reason).isEqualTo(Reason.MODE_NOT_ALLOWED);
    Settings enabled = new Settings(1, 65535, false, false, Optional.empty(), Optional.empty(), true, false,
        Optional.empty(), Optional.empty(), "30000-32767", false);
    assertThat(ForwardPolicy.from(enabled).check(socks)).isEmpty();

    PortForwardSpec mapped = spec(8080, null);
    mapped.setGateway(new Gateway());
    assertThat(ForwardPolicy.from(Settings.defaults()).check(mapped)).get()
        .extracting(Refusal::message).isEqualTo(
            "spec.gateway is not allowed by the operator's default policy (portforward.policy.gateway-mapping=false)");
    Settings gatewayMapping = new Settings(1, 65535, false, false, Optional.empty(), Optional.empty(), false, true,
        Optional.empty(), Optional.empty(), "30000-32767", false);
    assertThat(ForwardPolicy.from(gatewayMapping).check(mapped)).isEmpty();
  }

  @Test
  void aSocks5RelayIsToldTheDenylistItCannotKnowItself() throws Exception {
    ForwardPolicy policy = ForwardPolicy.from(Settings.defaults().withDenylist("198.51.100.0/24"))
        .denyingApiServer(List.of(InetAddress.getByName("10.96.0.1")));

    assertThat(policy.deniedDestinations()).containsExactly("198.51.100.0/24", "10.96.0.1/32");
  }

  @Test
  void relayModesAreAllowed() {
    ForwardPolicy policy = ForwardPolicy.from(Settings.defaults().withExternal("203.0.113.0/24"));
    PortForwardSpec relayed = spec(8080, "203.0.113.7");
    Relay relay = new Relay();
    relayed.setRelay(relay);
    for (RelayMode mode : List.of(RelayMode.Deployment, RelayMode.Sidecar)) {
      relay.setMode(mode);
      assertThat(policy.check(relayed)).as(mode.name()).isEmpty();
    }
  }

  @Test
  void everyNodeAddressIsDeniedUnlessTheAdminAllowsIt() {
    Node node = new NodeBuilder().withNewMetadata().withName("worker-1").endMetadata().withNewStatus()
        .addNewAddress().withType("InternalIP").withAddress("10.0.0.7").endAddress()
        .addNewAddress().withType("ExternalIP").withAddress("2001:db8::7").endAddress()
        .addNewAddress().withType("Hostname").withAddress("10.0.0.8").endAddress()
        .addNewAddress().withType("Hostname").withAddress("worker-1").endAddress()
        .endStatus().build();
    ForwardPolicy policy = ForwardPolicy.from(Settings.defaults()).denyingNodes(List.of(node));

    assertThat(policy.checkAddress(Cidr.parseAddress("10.0.0.7"), "target service/web:80").orElseThrow().message())
        .isEqualTo("target service/web:80 resolves to 10.0.0.7, which is the address of node worker-1 (10.0.0.7/32);"
            + " no forward may lead there");
    assertThat(policy.checkAddress(Cidr.parseAddress("2001:db8::7"), "x")).get().extracting(Refusal::reason)
        .isEqualTo(Reason.TARGET_DENIED);
    assertThat(policy.checkAddress(Cidr.parseAddress("10.0.0.8"), "x")).isPresent();
    assertThat(policy.checkAddress(Cidr.parseAddress("10.0.0.9"), "x")).isEmpty();
    assertThat(policy.deniedDestinations()).containsExactly("10.0.0.7/32", "2001:db8::7/128", "10.0.0.8/32");

    ForwardPolicy allowing = ForwardPolicy.from(Settings.defaults().withNodeAddressTargets()).denyingNodes(List.of(node));
    assertThat(allowing.checkAddress(Cidr.parseAddress("10.0.0.7"), "x")).isEmpty();
  }

  static PortForwardSpec spec(int port, String externalHost) {
    PortForwardSpec spec = new PortForwardSpec();
    Listen listen = new Listen();
    listen.setPort(port);
    spec.setListen(listen);
    if (externalHost != null) {
      Target target = new Target();
      ExternalTarget external = new ExternalTarget();
      external.setHost(externalHost);
      external.setPort(443);
      target.setExternal(external);
      spec.setTarget(target);
    }
    return spec;
  }
}
