package dev.portforward.common;

import dev.portforward.api.v1alpha1.NodeState;
import java.util.List;
import java.util.Optional;

/**
 * Which node holds a forward's gateway mapping: the first by name of the nodes its status lists
 * as programmed. Every agent reads the same status, so they agree without talking to each other.
 */
public final class MappingHolder {

  private MappingHolder() {}

  public static Optional<String> of(List<NodeState> nodes) {
    return nodes.stream().filter(NodeState::isProgrammed).map(NodeState::getName).min(String::compareTo);
  }
}
