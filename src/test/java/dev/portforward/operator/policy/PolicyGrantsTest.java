package dev.portforward.operator.policy;

import static dev.portforward.operator.policy.Policies.external;
import static dev.portforward.operator.policy.Policies.gateway;
import static dev.portforward.operator.policy.Policies.listenPorts;
import static dev.portforward.operator.policy.Policies.relayModes;
import static dev.portforward.operator.policy.Policies.selecting;
import static dev.portforward.operator.policy.ForwardPolicyTest.spec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.Gateway;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.PortRange;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.common.Cidr;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a PortForwardPolicy grants, each refusal naming it; the operator's denylist still applies. */
class PolicyGrantsTest {

  private static final ForwardPolicy DEFAULTS =
      ForwardPolicy.from(Settings.defaults().withDenylist("198.51.100.0/24"));

  @Test
  void unsetFieldsGrantNoMoreThanTheChartDefaults() {
    ForwardPolicy policy = DEFAULTS.grantedBy(selecting("team-a", Map.of()));

    assertThat(policy.check(spec(1024, null))).isEmpty();
    assertThat(policy.check(spec(80, null))).get().isEqualTo(new Refusal(Reason.PRIVILEGED_PORT_NOT_ALLOWED,
        "listen.port 80 is privileged (below 1024) and PortForwardPolicy team-a does not allow privileged ports;"
            + " use a port from 1024 up or ask an administrator to grant it (spec.listenPorts)"));
    assertThat(policy.check(withMode(spec(1080, null), RelayMode.Socks5))).get().isEqualTo(new Refusal(
        Reason.MODE_NOT_ALLOWED,
        "relay.mode Socks5 is not allowed by PortForwardPolicy team-a (spec.relayModes: None, Sidecar, Deployment)"));
    assertThat(policy.check(spec(8080, "192.0.2.7"))).get().isEqualTo(new Refusal(
        Reason.EXTERNAL_TARGET_NOT_ALLOWED,
        "external target 192.0.2.7 is not allowed: PortForwardPolicy team-a allows no external targets"
            + " (spec.externalTargets is not set)"));
    PortForwardSpec mapped = spec(8080, null);
    mapped.setGateway(new Gateway());
    assertThat(policy.check(mapped)).get().isEqualTo(new Refusal(Reason.MODE_NOT_ALLOWED,
        "spec.gateway is not allowed by PortForwardPolicy team-a (spec.gateway is not set)"));
    assertThat(policy.maxForwards()).isEmpty();
  }

  @Test
  void listenPortsGrantExactlyTheirRangesPrivilegedIncluded() {
    ForwardPolicy policy = DEFAULTS.grantedBy(
        listenPorts(selecting("web", Map.of()), new PortRange(80, 80), new PortRange(8000, 8999)));

    assertThat(policy.check(spec(80, null))).isEmpty();
    assertThat(policy.check(spec(8500, null))).isEmpty();
    assertThat(policy.check(spec(443, null))).get().isEqualTo(new Refusal(Reason.PORT_NOT_ALLOWED,
        "listen.port 443 is outside the ports PortForwardPolicy web allows (80, 8000-8999; spec.listenPorts)"));
    assertThat(policy.check(spec(9000, null))).get().extracting(Refusal::reason).isEqualTo(Reason.PORT_NOT_ALLOWED);
  }

  @Test
  void relayModesAreGrantedByListingThem() {
    ForwardPolicy policy = DEFAULTS.grantedBy(relayModes(selecting("socks", Map.of()), RelayMode.Socks5));

    assertThat(policy.check(withMode(spec(1080, null), RelayMode.Socks5))).isEmpty();
    assertThat(policy.check(spec(8080, null))).get().isEqualTo(new Refusal(Reason.MODE_NOT_ALLOWED,
        "relay.mode None is not allowed by PortForwardPolicy socks (spec.relayModes: Socks5)"));
  }

  @Test
  void externalTargetsByCidrOrByNameWithinTheDenylist() throws Exception {
    ForwardPolicy policy = DEFAULTS.grantedBy(external(selecting("ext", Map.of()),
        List.of("192.0.2.0/24", "198.51.100.0/24"), List.of("db.example.com", "*.svc.example.net")));

    assertThat(policy.check(spec(8080, "192.0.2.9"))).isEmpty();
    assertThat(policy.check(spec(8080, "198.51.100.9"))).as("granted, but in the operator's denylist").get()
        .extracting(Refusal::message).asString().endsWith("which is in the operator's target denylist"
            + " (198.51.100.0/24); no forward may lead there");
    assertThat(policy.check(spec(8080, "db.example.com"))).isEmpty();

    // A name granted by name may resolve anywhere outside the denylist.
    assertThat(policy.checkExternalAddress("db.example.com", Cidr.parseAddress("203.0.113.5"), "target x")).isEmpty();
    assertThat(policy.checkExternalAddress("a.svc.example.net", Cidr.parseAddress("203.0.113.5"), "target x"))
        .isEmpty();
    assertThat(policy.checkExternalAddress("db.example.com", Cidr.parseAddress("169.254.169.254"), "target x"))
        .get().extracting(Refusal::reason).isEqualTo(Reason.TARGET_DENIED);
    // Any other name must resolve into a granted CIDR.
    assertThat(policy.checkExternalAddress("svc.example.net", Cidr.parseAddress("203.0.113.5"), "target x"))
        .get().isEqualTo(new Refusal(Reason.TARGET_DENIED, "target x resolves to 203.0.113.5, outside the CIDRs"
            + " allowed for external targets [192.0.2.0/24, 198.51.100.0/24] by PortForwardPolicy ext, and"
            + " svc.example.net is not among its hosts [db.example.com, *.svc.example.net]"));
  }

  @Test
  void hostsAloneRefuseOtherNamesAtOnce() {
    ForwardPolicy policy = DEFAULTS.grantedBy(external(selecting("names", Map.of()), null, List.of("db.example.com")));

    assertThat(policy.check(spec(8080, "db.example.com"))).isEmpty();
    assertThat(policy.check(spec(8080, "evil.example.com"))).get().isEqualTo(new Refusal(
        Reason.EXTERNAL_TARGET_NOT_ALLOWED, "external target evil.example.com is not allowed: it is not among the"
            + " hosts PortForwardPolicy names allows [db.example.com] (spec.externalTargets.hosts)"));
    assertThat(policy.check(spec(8080, "192.0.2.1"))).get().extracting(Refusal::reason)
        .isEqualTo(Reason.TARGET_DENIED);
  }

  @Test
  void gatewayMappingWithinTheGrantedExternalPorts() {
    ForwardPolicy policy = DEFAULTS.grantedBy(gateway(selecting("home", Map.of()), new PortRange(30000, 30099)));
    PortForwardSpec mapped = spec(30005, null);
    mapped.setGateway(new Gateway());
    assertThat(policy.check(mapped)).as("externalPort defaults to listen.port").isEmpty();

    mapped.getGateway().setExternalPort(443);
    assertThat(policy.check(mapped)).get().isEqualTo(new Refusal(Reason.PORT_NOT_ALLOWED,
        "spec.gateway.externalPort 443 is outside the external ports PortForwardPolicy home allows"
            + " (30000-30099; spec.gateway.externalPorts)"));

    PortForwardSpec implicit = spec(8080, null);
    implicit.setGateway(new Gateway());
    assertThat(policy.check(implicit)).get().extracting(Refusal::message).isEqualTo(
        "spec.gateway asks for external port 8080 (listen.port), which is outside the external ports"
            + " PortForwardPolicy home allows (30000-30099; spec.gateway.externalPorts)");
  }

  @Test
  void thePolicyKeepsTheOperatorsDenylistAndApiServer() throws Exception {
    ForwardPolicy policy = DEFAULTS.denyingApiServer(List.of(Cidr.parseAddress("10.96.0.1")))
        .grantedBy(selecting("team-a", Map.of()));

    assertThat(policy.checkAddress(Cidr.parseAddress("10.96.0.1"), "target service/web:80")).get()
        .extracting(Refusal::message).asString().contains("the API server");
    assertThat(policy.deniedDestinations()).containsExactly("198.51.100.0/24", "10.96.0.1/32");
    assertThat(policy.name()).isEqualTo("team-a");
    assertThat(policy.describe()).isEqualTo("PortForwardPolicy team-a");
  }

  private static PortForwardSpec withMode(PortForwardSpec spec, RelayMode mode) {
    Relay relay = new Relay();
    relay.setMode(mode);
    spec.setRelay(relay);
    return spec;
  }
}
