package dev.portforward.operator.status;

import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.ExternalEndpoint;
import dev.portforward.api.v1alpha1.NodeState;
import java.util.List;
import java.util.Optional;

/**
 * Everything the reconciler concluded about one PortForward, before it becomes status;
 * {@code gatewayMapped} only when the spec asks for a gateway mapping; {@code policy} names the
 * policy it was judged by (a PortForwardPolicy's name, or "default").
 */
public record Verdict(
    Check accepted,
    Check resolvedRefs,
    Check programmed,
    Check ready,
    String target,
    List<NodeState> nodes,
    List<Endpoint> endpoints,
    Optional<Check> gatewayMapped,
    List<ExternalEndpoint> externalEndpoints,
    String policy) {}
