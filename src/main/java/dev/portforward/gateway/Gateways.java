package dev.portforward.gateway;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The gateway's mappers, one per protocol, and the one that tries them in turn (PCP, then
 * NAT-PMP, then UPnP IGD) for requests that name none. A mapping is renewed, checked and removed
 * by the protocol that made it.
 */
public final class Gateways {

  /** How often PCP and NAT-PMP requests are sent before a gateway counts as silent (3.75 s). */
  private static final int UDP_ATTEMPTS = 4;

  private final Map<Method, PortMapper> mappers = new EnumMap<>(Method.class);

  public Gateways(InetAddress gateway, Duration discoveryTimeout, Clock clock) {
    this(Map.of(
        Method.PCP, new PcpClient(gateway, GatewayUdp.PORT, UDP_ATTEMPTS, clock),
        Method.NATPMP, new NatPmpClient(gateway, GatewayUdp.PORT, UDP_ATTEMPTS, clock),
        Method.UPNP, new UpnpIgdClient(gateway, discoveryTimeout, clock)));
  }

  Gateways(Map<Method, PortMapper> mappers) {
    this.mappers.putAll(mappers);
  }

  /**
   * Maps with {@code method}, or with the first protocol the gateway answers when empty. A
   * gateway that answers and refuses ends the search: another protocol would meet the same rules.
   */
  public Mapping map(Optional<Method> method, MappingRequest request) throws GatewayException {
    if (method.isPresent()) {
      PortMapper mapper = mappers.get(method.get());
      return onAskedPort(mapper, mapper.map(request), request);
    }
    List<String> silent = new ArrayList<>();
    for (Method next : Method.values()) {
      try {
        PortMapper mapper = mappers.get(next);
        return onAskedPort(mapper, mapper.map(request), request);
      } catch (GatewayException e) {
        if (e.isRefused()) {
          throw e;
        }
        silent.add(e.getMessage());
      }
    }
    throw GatewayException.unavailable("no gateway answered PCP, NAT-PMP or UPnP IGD: " + String.join("; ", silent));
  }

  public Mapping refresh(Mapping current, MappingRequest request) throws GatewayException {
    PortMapper mapper = mappers.get(current.method());
    return onAskedPort(mapper, mapper.refresh(current, request), request);
  }

  public void unmap(Mapping mapping) throws GatewayException {
    mappers.get(mapping.method()).unmap(mapping);
  }

  /**
   * The mapping, if it is on the external port asked for. PCP and NAT-PMP treat that port as a
   * suggestion and may grant another; a forward's external port is what its users were told, so
   * another one is given back and reported as a refusal.
   */
  private static Mapping onAskedPort(PortMapper mapper, Mapping granted, MappingRequest request)
      throws GatewayException {
    if (granted.externalPort() != request.externalPort()) {
      mapper.unmap(granted);
      throw GatewayException.refused("the gateway offered external port " + granted.externalPort() + " instead of "
          + request.externalPort() + " (taken or not allowed there); choose another spec.gateway.externalPort");
    }
    return granted;
  }
}
