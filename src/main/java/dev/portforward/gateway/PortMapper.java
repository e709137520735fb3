package dev.portforward.gateway;

/** One way of asking a gateway for mappings (PCP, NAT-PMP, UPnP IGD, or trying them in turn). */
public interface PortMapper {

  /** Creates the mapping, or renews it: asking again for the same mapping extends its lease. */
  Mapping map(MappingRequest request) throws GatewayException;

  /**
   * The mapping as the gateway holds it now, made again when the gateway lost it (gateways forget
   * mappings when they restart). PCP and NAT-PMP have no way to read a mapping, and asking again
   * for the same one is idempotent, so they renew; UPnP reads the entry and adds it only when it
   * is gone or leads elsewhere.
   */
  default Mapping refresh(Mapping current, MappingRequest request) throws GatewayException {
    return map(request);
  }

  /**
   * Removes the mapping. Whether removing one the gateway no longer has fails depends on the
   * gateway (miniupnpd answers such a PCP delete with NO_RESOURCES).
   */
  void unmap(Mapping mapping) throws GatewayException;
}
