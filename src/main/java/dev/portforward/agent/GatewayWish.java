package dev.portforward.agent;

import dev.portforward.gateway.MappingRequest;
import dev.portforward.gateway.Method;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * A gateway mapping this node should hold for one forward.
 *
 * @param id the PortForward's namespace/name
 * @param method the protocol spec.gateway asks for; empty for Auto
 * @param listenAddresses the forward's listen.addresses on this node; empty means any address,
 *     otherwise the mapping must lead to one of them
 */
public record GatewayWish(String id, Optional<Method> method, MappingRequest request, List<InetAddress> listenAddresses) {}
