package dev.portforward.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** PCP MAP messages byte for byte, as RFC 6887 sections 7.1, 7.2 and 11.1 lay them out. */
class PcpCodecTest {

  private static final HexFormat HEX = HexFormat.of();
  private static final byte[] NONCE = HEX.parseHex("0102030405060708090a0b0c");

  @Test
  void aMapRequestIsTheCommonHeaderThenTheMapOpcode() throws Exception {
    byte[] request = PcpCodec.mapRequest(NONCE, Transport.TCP, InetAddress.getByName("10.77.50.2"), 8080, 18080, 3600);

    assertThat(HEX.formatHex(request)).isEqualTo(
        // version 2, R=0 opcode MAP, reserved, lifetime 3600
        "0201" + "0000" + "00000e10"
            // client address 10.77.50.2 as ::ffff:10.77.50.2
            + "00000000000000000000ffff0a4d3202"
            // nonce, protocol 6, reserved, internal 8080, suggested external 18080
            + "0102030405060708090a0b0c" + "06" + "000000" + "1f90" + "46a0"
            // suggested external address: none (::ffff:0.0.0.0)
            + "00000000000000000000ffff00000000");
  }

  @Test
  void aDeleteIsAMapWithLifetimeZero() throws Exception {
    byte[] request = PcpCodec.mapRequest(NONCE, Transport.UDP, InetAddress.getByName("10.77.50.2"), 9090, 0, 0);

    assertThat(request).hasSize(PcpCodec.MAP_LENGTH);
    assertThat(HEX.formatHex(request, 4, 8)).isEqualTo("00000000");
    assertThat(request[36]).isEqualTo((byte) 17);
  }

  @Test
  void aMapResponseGivesResultLifetimeEpochAndTheExternalAddressAndPort() throws Exception {
    byte[] response = HEX.parseHex(
        "0281" + "00" + "00" + "00000708" + "0000002a" + "000000000000000000000000"
            + "0102030405060708090a0b0c" + "06" + "000000" + "1f90" + "46a0"
            + "00000000000000000000ffff0b4d4d4d");

    PcpCodec.MapResponse decoded = PcpCodec.decodeMapResponse(response, response.length).orElseThrow();

    assertThat(decoded.resultCode()).isZero();
    assertThat(decoded.lifetime()).isEqualTo(1800);
    assertThat(decoded.epoch()).isEqualTo(42);
    assertThat(decoded.internalPort()).isEqualTo(8080);
    assertThat(decoded.externalPort()).isEqualTo(18080);
    assertThat(decoded.externalAddress()).isEqualTo(InetAddress.getByName("11.77.77.77"));
    assertThat(PcpCodec.answers(decoded, NONCE, Transport.TCP, 8080)).isTrue();
    assertThat(PcpCodec.answers(decoded, new byte[12], Transport.TCP, 8080)).as("another nonce").isFalse();
  }

  @Test
  void aRefusalCarriesItsResultCode() {
    byte[] response = HEX.parseHex("0281000b" + "00000000" + "00000001" + "0".repeat(24)
        + "0102030405060708090a0b0c" + "06000000" + "1f90" + "0000" + "0".repeat(32));

    assertThat(PcpCodec.decodeMapResponse(response, response.length).orElseThrow().resultCode()).isEqualTo(11);
    assertThat(PcpResult.describe(11)).contains("CANNOT_PROVIDE_EXTERNAL");
    assertThat(PcpResult.describe(200)).isEqualTo("the gateway refused with PCP result code 200");
  }

  @Test
  void aNatPmpGatewaysVersionAnswerMeansPcpIsUnsupported() {
    // RFC 6887 section 9: a NAT-PMP server answers version 2 with its own "unsupported version".
    byte[] response = HEX.parseHex("0081000100000005");

    assertThat(PcpCodec.decodeMapResponse(response, response.length).orElseThrow().resultCode())
        .isEqualTo(PcpResult.UNSUPP_VERSION.code());
  }

  @Test
  void otherBytesAreNoResponse() {
    byte[] request = HEX.parseHex("0201" + "0".repeat(116));
    assertThat(PcpCodec.decodeMapResponse(request, request.length)).as("a request, not a response").isEmpty();
    assertThat(PcpCodec.decodeMapResponse(new byte[10], 10)).isEmpty();
  }

  @Test
  void theNonceIsStableForTheSameInternalSideAndDiffersOtherwise() throws Exception {
    InetAddress host = InetAddress.getByName("10.77.50.2");
    assertThat(PcpClient.nonce(host, Transport.TCP, 8080)).isEqualTo(PcpClient.nonce(host, Transport.TCP, 8080))
        .isNotEqualTo(PcpClient.nonce(host, Transport.UDP, 8080))
        .isNotEqualTo(PcpClient.nonce(host, Transport.TCP, 8081))
        .hasSize(12);
  }
}
