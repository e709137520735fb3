package dev.portforward.operator.dataplane;

import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.ExternalEndpoint;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.operator.status.Check;
import java.util.List;
import java.util.Optional;

/**
 * What the node agents' reports say about one PortForward; {@code gatewayMapped} only when its
 * spec asks for a gateway mapping.
 */
public record DataPlaneState(Check programmed, List<NodeState> nodes, List<Endpoint> endpoints,
    Optional<Check> gatewayMapped, List<ExternalEndpoint> externalEndpoints) {}
