package dev.portforward.operator.status;

import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.NodeState;
import java.util.List;

/** Everything the reconciler concluded about one PortForward, before it becomes status. */
public record Verdict(
    Check accepted,
    Check resolvedRefs,
    Check programmed,
    Check ready,
    String target,
    List<NodeState> nodes,
    List<Endpoint> endpoints) {}
