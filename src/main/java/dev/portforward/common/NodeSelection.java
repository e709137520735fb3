package dev.portforward.common;

import io.fabric8.kubernetes.api.model.Node;
import java.util.Map;
import java.util.Optional;

/**
 * Which nodes carry a forward: those its listen.nodeSelector matches, control-plane nodes only
 * where the cluster admin allows them. The agent (what to program) and the operator (which nodes
 * must report before a forward is Programmed) share this one function, so they never disagree.
 */
public final class NodeSelection {

  /** The label kubeadm and most distributions put on control-plane nodes. */
  public static final String CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

  private NodeSelection() {}

  /**
   * Whether {@code node} carries a forward with this nodeSelector (null or empty selects every
   * node). A control-plane node runs the API server, etcd and the scheduler: a tenant's forward
   * stays off it unless {@code controlPlaneAllowed}.
   */
  public static boolean selects(Map<String, String> nodeSelector, Node node, boolean controlPlaneAllowed) {
    Map<String, String> labels = labels(node);
    return labels.entrySet().containsAll(Optional.ofNullable(nodeSelector).orElse(Map.of()).entrySet())
        && (controlPlaneAllowed || !isControlPlane(node));
  }

  /** Whether the node carries the control-plane role label (with any value, as kubeadm sets ""). */
  public static boolean isControlPlane(Node node) {
    return labels(node).containsKey(CONTROL_PLANE_LABEL);
  }

  private static Map<String, String> labels(Node node) {
    return Optional.ofNullable(node.getMetadata().getLabels()).orElse(Map.of());
  }
}
