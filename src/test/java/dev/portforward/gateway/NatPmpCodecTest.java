package dev.portforward.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** NAT-PMP messages byte for byte, as RFC 6886 sections 3.2 to 3.5 lay them out. */
class NatPmpCodecTest {

  private static final HexFormat HEX = HexFormat.of();

  @Test
  void theExternalAddressRequestIsVersionAndOpcode() {
    assertThat(HEX.formatHex(NatPmpCodec.externalAddressRequest())).isEqualTo("0000");
  }

  @Test
  void anExternalAddressResponseGivesEpochAndAddress() throws Exception {
    byte[] response = HEX.parseHex("0080" + "0000" + "00000e10" + "0b4d4d4d");

    NatPmpCodec.AddressResponse decoded = NatPmpCodec.decodeAddressResponse(response, response.length).orElseThrow();

    assertThat(decoded.resultCode()).isZero();
    assertThat(decoded.epoch()).isEqualTo(3600);
    assertThat(decoded.externalAddress()).isEqualTo(InetAddress.getByName("11.77.77.77"));
  }

  @Test
  void mappingRequestsCarryOpcodePortsAndLifetime() {
    assertThat(HEX.formatHex(NatPmpCodec.mapRequest(Transport.TCP, 8080, 18080, 7200)))
        .isEqualTo("0002" + "0000" + "1f90" + "46a0" + "00001c20");
    assertThat(HEX.formatHex(NatPmpCodec.mapRequest(Transport.UDP, 9090, 0, 0)))
        .as("a delete: lifetime 0, no suggested port").isEqualTo("0001" + "0000" + "2382" + "0000" + "00000000");
  }

  @Test
  void aMappingResponseGivesTheGrantedPortAndLifetime() {
    byte[] response = HEX.parseHex("0082" + "0000" + "0000002a" + "1f90" + "46a0" + "00000e10");

    NatPmpCodec.MapResponse decoded = NatPmpCodec.decodeMapResponse(response, response.length, Transport.TCP)
        .orElseThrow();

    assertThat(decoded.internalPort()).isEqualTo(8080);
    assertThat(decoded.externalPort()).isEqualTo(18080);
    assertThat(decoded.lifetime()).isEqualTo(3600);
    assertThat(decoded.epoch()).isEqualTo(42);
    assertThat(NatPmpCodec.decodeMapResponse(response, response.length, Transport.UDP))
        .as("an answer about TCP is none about UDP").isEmpty();
  }

  @Test
  void aRefusalCarriesItsResultCode() {
    byte[] response = HEX.parseHex("0082" + "0002" + "0000002a");

    assertThat(NatPmpCodec.decodeMapResponse(response, response.length, Transport.TCP).orElseThrow().resultCode())
        .isEqualTo(2);
    assertThat(NatPmpCodec.describe(4)).contains("out of mapping resources");
  }
}
