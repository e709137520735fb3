package dev.portforward.gateway;

import dev.portforward.gateway.PcpCodec.MapResponse;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Arrays;
import java.util.Optional;

/**
 * Maps ports with PCP (RFC 6887) MAP requests. The nonce is derived from the mapping's internal
 * side instead of drawn at random, so that a restarted agent, or {@code agent --cleanup}, can renew
 * and delete a mapping it made before (a PCP server only accepts either with the original nonce);
 * on a LAN, where anyone can see the requests anyway, a random nonce would buy little.
 */
public final class PcpClient implements PortMapper {

  private final GatewayUdp udp;
  private final Clock clock;

  public PcpClient(InetAddress gateway, int port, int attempts, Clock clock) {
    this.udp = new GatewayUdp(gateway, port, attempts);
    this.clock = clock;
  }

  @Override
  public Mapping map(MappingRequest request) throws GatewayException {
    InetAddress local = udp.localAddress();
    MapResponse response = send(local, request.transport(), request.internalPort(), request.externalPort(),
        request.lease().toSeconds());
    if (response.lifetime() == 0) {
      throw GatewayException.unavailable("the gateway granted a PCP mapping with no lifetime");
    }
    return new Mapping(Method.PCP, request.transport(), local, request.internalPort(),
        // InetAddress.getByAddress already turns ::ffff:a.b.c.d into the IPv4 address.
        response.externalAddress(), response.externalPort(),
        Optional.of(clock.instant().plusSeconds(response.lifetime())));
  }

  @Override
  public void unmap(Mapping mapping) throws GatewayException {
    send(udp.localAddress(), mapping.transport(), mapping.internalPort(), 0, 0);
  }

  private MapResponse send(InetAddress local, Transport transport, int internalPort, int externalPort, long lifetime)
      throws GatewayException {
    byte[] nonce = nonce(local, transport, internalPort);
    MapResponse response = udp.exchange(
        client -> PcpCodec.mapRequest(nonce, transport, client, internalPort, externalPort, lifetime),
        (bytes, length) -> PcpCodec.decodeMapResponse(bytes, length)
            .filter(r -> r.resultCode() != PcpResult.SUCCESS.code() || PcpCodec.answers(r, nonce, transport, internalPort)),
        "PCP");
    if (response.resultCode() == PcpResult.UNSUPP_VERSION.code()) {
      throw GatewayException.unavailable("the gateway " + udp.address().getHostAddress() + " does not speak PCP");
    }
    if (response.resultCode() != PcpResult.SUCCESS.code()) {
      throw GatewayException.refused(PcpResult.describe(response.resultCode()));
    }
    return response;
  }

  /** The same 12 bytes for the same internal address, transport and port, whichever process asks. */
  static byte[] nonce(InetAddress local, Transport transport, int internalPort) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update("portforward-operator PCP MAP".getBytes(StandardCharsets.US_ASCII));
      sha.update(local.getAddress());
      sha.update(ByteBuffer.allocate(3).put((byte) transport.number()).putShort((short) internalPort).array());
      return Arrays.copyOf(sha.digest(), PcpCodec.NONCE_LENGTH);
    } catch (NoSuchAlgorithmException impossible) {
      throw new IllegalStateException(impossible);
    }
  }
}
