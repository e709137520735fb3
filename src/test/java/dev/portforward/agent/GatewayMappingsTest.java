package dev.portforward.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.gateway.Mapping;
import dev.portforward.gateway.MappingRequest;
import dev.portforward.gateway.Method;
import dev.portforward.gateway.Transport;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class GatewayMappingsTest {

  private static final Mapping UPNP_TCP = mapping(Method.UPNP, Transport.TCP, 40000);

  @Test
  void aMappingHeldBeforeLeavesWhenItsForwardNowAsksForAnotherTransportOnTheSamePort() {
    var adoption = GatewayMappings.adopt(Map.of("n/web", UPNP_TCP),
        Map.of("n/web", wish(Optional.of(Method.UPNP), Transport.UDP, 40000)));

    assertThat(adoption.kept()).isEmpty();
    assertThat(adoption.leaving()).containsExactly(UPNP_TCP);
  }

  @Test
  void aMappingHeldBeforeLeavesWhenItsForwardNowAsksForAnotherProtocolAndIsKeptForAuto() {
    assertThat(GatewayMappings.adopt(Map.of("n/web", UPNP_TCP),
        Map.of("n/web", wish(Optional.of(Method.PCP), Transport.TCP, 40000))).leaving()).containsExactly(UPNP_TCP);

    var auto = GatewayMappings.adopt(Map.of("n/web", UPNP_TCP, "n/gone", mapping(Method.PCP, Transport.TCP, 40001)),
        Map.of("n/web", wish(Optional.empty(), Transport.TCP, 40000)));
    assertThat(auto.kept()).containsExactly(Map.entry("n/web", UPNP_TCP));
    assertThat(auto.leaving()).extracting(Mapping::externalPort).containsExactly(40001);
  }

  @Test
  void onlyTheSameEntryAtTheGatewayCountsAsTakenOver() {
    assertThat(GatewayMappings.takenOver(UPNP_TCP, List.of(mapping(Method.UPNP, Transport.TCP, 40000)))).isTrue();
    assertThat(GatewayMappings.takenOver(UPNP_TCP, List.of(mapping(Method.UPNP, Transport.UDP, 40000)))).isFalse();
    assertThat(GatewayMappings.takenOver(UPNP_TCP, List.of(mapping(Method.PCP, Transport.TCP, 40000)))).isFalse();
    assertThat(GatewayMappings.takenOver(UPNP_TCP, List.of(mapping(Method.UPNP, Transport.TCP, 40001)))).isFalse();
    assertThat(GatewayMappings.takenOver(UPNP_TCP, List.of())).as("a wish not mapped yet holds nothing").isFalse();
  }

  private static GatewayWish wish(Optional<Method> method, Transport transport, int externalPort) {
    return new GatewayWish("n/web", method,
        new MappingRequest(transport, 8080, externalPort, Duration.ofHours(1), "portforward n/web"), List.of());
  }

  private static Mapping mapping(Method method, Transport transport, int externalPort) {
    return new Mapping(method, transport, InetAddress.getLoopbackAddress(), 8080,
        InetAddress.getLoopbackAddress(), externalPort, Optional.of(Instant.parse("2026-01-01T01:00:00Z")));
  }
}
