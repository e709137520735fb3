package dev.portforward.gateway;

import dev.portforward.gateway.NatPmpCodec.AddressResponse;
import dev.portforward.gateway.NatPmpCodec.MapResponse;
import java.net.InetAddress;
import java.time.Clock;
import java.util.Optional;

/** Maps ports with NAT-PMP (RFC 6886): the external address request, then the mapping request. */
public final class NatPmpClient implements PortMapper {

  private final GatewayUdp udp;
  private final Clock clock;

  public NatPmpClient(InetAddress gateway, int port, int attempts, Clock clock) {
    this.udp = new GatewayUdp(gateway, port, attempts);
    this.clock = clock;
  }

  @Override
  public Mapping map(MappingRequest request) throws GatewayException {
    AddressResponse address = udp.exchange(client -> NatPmpCodec.externalAddressRequest(),
        NatPmpCodec::decodeAddressResponse, "NAT-PMP");
    if (address.resultCode() != 0) {
      throw refusedOrUnavailable(address.resultCode());
    }
    MapResponse response = send(request.transport(), request.internalPort(), request.externalPort(),
        request.lease().toSeconds());
    if (response.lifetime() == 0) {
      throw GatewayException.unavailable("the gateway granted a NAT-PMP mapping with no lifetime");
    }
    return new Mapping(Method.NATPMP, request.transport(), udp.localAddress(), request.internalPort(),
        address.externalAddress(), response.externalPort(),
        Optional.of(clock.instant().plusSeconds(response.lifetime())));
  }

  /** Lifetime 0 with suggested external port 0 deletes the internal port's mapping (section 3.4). */
  @Override
  public void unmap(Mapping mapping) throws GatewayException {
    send(mapping.transport(), mapping.internalPort(), 0, 0);
  }

  private MapResponse send(Transport transport, int internalPort, int externalPort, long lifetime)
      throws GatewayException {
    MapResponse response = udp.exchange(
        client -> NatPmpCodec.mapRequest(transport, internalPort, externalPort, lifetime),
        (bytes, length) -> NatPmpCodec.decodeMapResponse(bytes, length, transport)
            .filter(r -> r.resultCode() != 0 || r.internalPort() == internalPort),
        "NAT-PMP");
    if (response.resultCode() != 0) {
      throw refusedOrUnavailable(response.resultCode());
    }
    return response;
  }

  /** "Unsupported version" means no NAT-PMP here, which lets the next protocol try. */
  private GatewayException refusedOrUnavailable(int code) {
    return code == 1
        ? GatewayException.unavailable("the gateway " + udp.address().getHostAddress() + " does not speak NAT-PMP")
        : GatewayException.refused(NatPmpCodec.describe(code));
  }
}
