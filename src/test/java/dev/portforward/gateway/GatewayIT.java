package dev.portforward.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.portforward.testbed.HomeGateway;
import dev.portforward.testbed.NetNs;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gateway clients against a real home gateway (miniupnpd in a router namespace; this test
 * process is a host on its LAN): each protocol maps, renews, restores after the gateway forgot
 * everything, and deletes, and the router's nftables show the DNAT that each mapping is.
 */
class GatewayIT {

  private static final Duration LEASE = Duration.ofMinutes(10);
  private static NetNs net;
  private static HomeGateway router;
  private static Gateways gateways;
  private static String host;

  @BeforeAll
  static void startRouter() throws Exception {
    net = NetNs.create();
    router = HomeGateway.start(net, 60);
    host = router.hostAddress();
    gateways = new Gateways(InetAddress.getByName(router.lanAddress()), Duration.ofSeconds(3), Clock.systemUTC());
  }

  @AfterAll
  static void stopRouter() throws Exception {
    if (router != null) {
      router.close();
    }
    if (net != null) {
      net.close();
    }
  }

  @Test
  void pcpMapsRenewsAndDeletes() throws Exception {
    assertMapsRenewsAndDeletes(Method.PCP, new MappingRequest(Transport.TCP, 8080, 18080, LEASE, "it pcp"));
  }

  @Test
  void natPmpMapsRenewsAndDeletes() throws Exception {
    assertMapsRenewsAndDeletes(Method.NATPMP, new MappingRequest(Transport.UDP, 9090, 19090, LEASE, "it natpmp"));
  }

  @Test
  void upnpMapsRenewsAndDeletes() throws Exception {
    assertMapsRenewsAndDeletes(Method.UPNP, new MappingRequest(Transport.TCP, 8081, 18081, LEASE, "it upnp"));
  }

  @Test
  void autoTakesPcpFirst() throws Exception {
    MappingRequest request = new MappingRequest(Transport.TCP, 8082, 18082, LEASE, "it auto");
    Mapping mapping = gateways.map(Optional.empty(), request);
    try {
      assertThat(mapping.method()).isEqualTo(Method.PCP);
      assertThat(router.dnatRules()).contains(dnat("tcp", 18082, 8082));
    } finally {
      gateways.unmap(mapping);
    }
  }

  @Test
  void everyProtocolRestoresItsMappingAfterTheGatewayForgotIt() throws Exception {
    MappingRequest pcp = new MappingRequest(Transport.TCP, 8083, 18083, LEASE, "it restore pcp");
    MappingRequest natpmp = new MappingRequest(Transport.TCP, 8084, 18084, LEASE, "it restore natpmp");
    MappingRequest upnp = new MappingRequest(Transport.UDP, 8085, 18085, LEASE, "it restore upnp");
    Mapping viaPcp = gateways.map(Optional.of(Method.PCP), pcp);
    Mapping viaNatPmp = gateways.map(Optional.of(Method.NATPMP), natpmp);
    Mapping viaUpnp = gateways.map(Optional.of(Method.UPNP), upnp);
    assertThat(gateways.refresh(viaUpnp, upnp)).as("a held UPnP mapping is only read").isEqualTo(viaUpnp);

    router.reboot();
    assertThat(router.dnatRules()).doesNotContain("18083", "18084", "18085");

    viaPcp = gateways.refresh(viaPcp, pcp);
    viaNatPmp = gateways.refresh(viaNatPmp, natpmp);
    viaUpnp = gateways.refresh(viaUpnp, upnp);
    assertThat(router.dnatRules())
        .contains(dnat("tcp", 18083, 8083), dnat("tcp", 18084, 8084), dnat("udp", 18085, 8085));
    for (Mapping mapping : new Mapping[] {viaPcp, viaNatPmp, viaUpnp}) {
      gateways.unmap(mapping);
    }
    assertThat(router.dnatRules()).doesNotContain("18083", "18084", "18085");
  }

  /**
   * The router allows external ports from 1024 up only. UPnP refuses port 1000; PCP and NAT-PMP
   * offer another port, which is given back: each reads as a refusal, and nothing stays mapped.
   */
  @Test
  void aRefusalSaysSoInWordsOfItsOwn() {
    MappingRequest forbidden = new MappingRequest(Transport.TCP, 8086, 1000, LEASE, "it refused");
    for (Method method : Method.values()) {
      GatewayException refusal = catchThrowableOfType(
          () -> gateways.map(Optional.of(method), forbidden), GatewayException.class);
      assertThat(refusal).as(method + " refuses").isNotNull();
      assertThat(refusal.isRefused()).as(method + ": the gateway answered").isTrue();
      assertThat(refusal.getMessage()).as(method.name()).startsWith("the ");
    }
    assertThat(router.dnatRules()).doesNotContain("10.77.60.2:8086");
  }

  /**
   * Auto tries every protocol and says none answered when no gateway is there: 10.77.60.3 is an
   * unused address on the router's LAN (the router's own SSDP answers come from another address
   * and are not believed).
   */
  @Test
  void autoSaysWhenNoGatewayAnswers() throws Exception {
    Gateways nobody = new Gateways(InetAddress.getByName("10.77.60.3"), Duration.ofSeconds(1), Clock.systemUTC());

    GatewayException silence = catchThrowableOfType(() -> nobody.map(Optional.empty(),
        new MappingRequest(Transport.TCP, 8088, 18088, LEASE, "it nobody")), GatewayException.class);

    assertThat(silence).isNotNull();
    assertThat(silence.isRefused()).isFalse();
    assertThat(silence.getMessage()).isEqualTo("no gateway answered PCP, NAT-PMP or UPnP IGD: no PCP answer from"
        + " 10.77.60.3:5351; no NAT-PMP answer from 10.77.60.3:5351; no UPnP IGD answered the search from 10.77.60.3");
  }

  private static void assertMapsRenewsAndDeletes(Method method, MappingRequest request) throws Exception {
    String transport = request.transport().name().toLowerCase();
    Instant before = Instant.now();
    Mapping mapping = gateways.map(Optional.of(method), request);

    assertThat(mapping.method()).isEqualTo(method);
    assertThat(mapping.externalAddress()).isEqualTo(InetAddress.getByName(HomeGateway.EXTERNAL_IP));
    assertThat(mapping.externalPort()).isEqualTo(request.externalPort());
    assertThat(mapping.internalAddress()).isEqualTo(InetAddress.getByName(host));
    assertThat(mapping.expiresAt()).get().satisfies(at -> assertThat(at).isAfter(before.plus(LEASE).minusSeconds(5)));
    String rule = dnat(transport, request.externalPort(), request.internalPort());
    assertThat(router.dnatRules()).contains(rule);

    // A renewal asks again: the lease moves on, the rule stays, once.
    Mapping renewed = gateways.map(Optional.of(method), request);
    assertThat(renewed.expiresAt().get()).isAfter(mapping.expiresAt().get());
    assertThat(router.dnatRules().lines().filter(line -> line.contains(rule))).hasSize(1);

    gateways.unmap(renewed);
    assertThat(router.dnatRules()).doesNotContain("dport " + request.externalPort() + " ");
  }

  /** The rule miniupnpd writes for a mapping to this host. */
  private static String dnat(String transport, int externalPort, int internalPort) {
    int number = "tcp".equals(transport) ? 6 : 17;
    return "@nh,72,8 0x" + Integer.toHexString(number) + " th dport " + externalPort + " dnat ip to " + host + ":"
        + internalPort;
  }
}
