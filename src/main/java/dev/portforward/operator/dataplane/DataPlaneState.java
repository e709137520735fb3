package dev.portforward.operator.dataplane;

import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.operator.status.Check;
import java.util.List;

/** What the node agents' reports say about one PortForward. */
public record DataPlaneState(Check programmed, List<NodeState> nodes, List<Endpoint> endpoints) {}
