package dev.portforward.operator.dataplane;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.Endpoint;
import dev.portforward.api.v1alpha1.ExternalEndpoint;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.GatewayReport;
import dev.portforward.api.v1alpha1.Limits;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.common.NodeSelection;
import dev.portforward.operator.status.Check;
import io.fabric8.kubernetes.api.model.Node;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Aggregates the node agents' reports into one PortForward's data-plane state. Pure: the caller
 * passes the nodes and reports it sees. A forward is Programmed when every node that its
 * listen.nodeSelector selects reports the forward's current generation in place; control-plane
 * nodes count only where the cluster admin allows them ({@link NodeSelection}, as the agents decide).
 * A selected node that is not Ready (its kubelet stopped posting status, or reports a problem) is
 * listed as not programmed whatever its agent last said, since nothing vouches for its rules, and
 * left out of the endpoints; it is not counted against the forward while other selected nodes are
 * Ready, so one node going down never turns every forward of the cluster not Ready.
 */
public final class NodeReports {

  private NodeReports() {}

  /**
   * @param controlPlaneAllowed the operator's portforward.policy.control-plane-nodes, which must
   *     equal the agents' portforward.agent.control-plane-nodes (the chart sets both from one value)
   */
  public static DataPlaneState aggregate(PortForward pf, List<Node> nodes,
      Function<String, Optional<PortForwardNodeReport>> reportOf, boolean controlPlaneAllowed) {
    Map<String, String> selector = Optional.ofNullable(pf.getSpec().getListen().getNodeSelector()).orElse(Map.of());
    List<String> selected = nodes.stream()
        .filter(n -> NodeSelection.selects(selector, n, controlPlaneAllowed))
        .map(n -> n.getMetadata().getName())
        .sorted()
        .toList();
    if (selected.isEmpty()) {
      String why;
      if (nodes.stream().anyMatch(n -> NodeSelection.selects(selector, n, true))) {
        why = (selector.isEmpty() ? "the cluster has only control-plane nodes" : "only control-plane nodes match"
            + " listen.nodeSelector " + selector) + ", and control-plane nodes carry no forwards unless the cluster"
            + " admin allows them (chart value policy.controlPlaneNodes)";
      } else {
        why = selector.isEmpty() ? "the cluster has no nodes" : "no node matches listen.nodeSelector " + selector;
      }
      return new DataPlaneState(Check.fail(Reason.NO_SELECTED_NODES, why),
          List.of(), List.of(), gatewayPending(pf, "no node is selected"), List.of());
    }
    Map<String, Node> byName = nodes.stream()
        .collect(Collectors.toMap(n -> n.getMetadata().getName(), Function.identity(), (a, b) -> a));
    Map<String, NodeState> previous = pf.getStatus() == null ? Map.of()
        : pf.getStatus().getNodes().stream().collect(Collectors.toMap(NodeState::getName, Function.identity(), (a, b) -> a));

    List<NodeState> states = new ArrayList<>();
    List<String> notReadyNodes = new ArrayList<>();
    List<Endpoint> endpoints = new ArrayList<>();
    Map<String, GatewayReport> gateway = new LinkedHashMap<>();
    for (String node : selected) {
      PortForwardNodeReport report = reportOf.apply(node).orElse(null);
      Optional<ForwardReport> entry = entries(report).stream()
          .filter(f -> pf.getMetadata().getNamespace().equals(f.getNamespace())
              && pf.getMetadata().getName().equals(f.getName()))
          .findFirst();
      Optional<String> notReady = notReady(byName.get(node));
      boolean programmed = notReady.isEmpty() && entry.filter(ForwardReport::isProgrammed)
          .filter(f -> f.getGeneration() == pf.getMetadata().getGeneration())
          .isPresent();
      String message;
      if (notReady.isPresent()) {
        message = notReady.get();
        notReadyNodes.add(node);
      } else if (report == null || report.getStatus() == null) {
        message = "no agent reports from this node";
      } else if (entry.isEmpty() || entry.get().getGeneration() != pf.getMetadata().getGeneration()) {
        message = "the agent has not programmed generation " + pf.getMetadata().getGeneration() + " yet";
      } else {
        message = programmed ? null : Objects.requireNonNullElse(entry.get().getMessage(), "not programmed");
      }
      String syncTime = report == null || report.getStatus() == null ? null : report.getStatus().getLastSyncTime();
      states.add(nodeState(node, programmed, message, syncTime, previous.get(node)));
      // Whatever generation: a mapping outlives an edit of its forward, until the agent says otherwise.
      entry.filter(f -> f.getGateway() != null).ifPresent(f -> gateway.put(node, f.getGateway()));
      if (programmed) {
        for (String address : Optional.ofNullable(entry.get().getAddresses()).orElse(List.of())) {
          endpoints.add(endpoint(node, address, pf));
        }
      }
    }

    long done = states.stream().filter(NodeState::isProgrammed).count();
    long readyNodes = states.size() - notReadyNodes.size();
    Check programmed;
    if (readyNodes == 0) {
      programmed = Check.fail(Reason.NODES_NOT_READY, notProgrammed(done, states));
    } else if (done == readyNodes) {
      programmed = Check.ok(Reason.PROGRAMMED, "programmed on " + done + " node(s)" + (notReadyNodes.isEmpty() ? ""
          : "; not counted while not Ready: " + notReadyNodes.stream().limit(3).collect(Collectors.joining(", "))
              + (notReadyNodes.size() > 3 ? " and " + (notReadyNodes.size() - 3) + " more" : "")));
    } else if (states.stream().allMatch(s -> s.getLastSyncTime() == null)) {
      programmed = Check.fail(Reason.AWAITING_DATA_PLANE, "no node agent has reported yet");
    } else {
      programmed = Check.fail(Reason.NODES_NOT_PROGRAMMED, notProgrammed(done, states));
    }
    // Nodes with a problem first, so the bounded list always shows them.
    List<NodeState> listed = states.stream()
        .sorted(Comparator.comparing(NodeState::isProgrammed).thenComparing(NodeState::getName))
        .limit(Limits.MAX_STATUS_NODES)
        .toList();
    return new DataPlaneState(programmed, listed, endpoints, gatewayMapped(pf, gateway), externalEndpoints(gateway));
  }

  /**
   * The entries that differ between two versions of one node's report (either may be absent):
   * added, changed or dropped. Only their forwards can read anything new in the later version.
   */
  public static List<ForwardReport> changedEntries(PortForwardNodeReport before, PortForwardNodeReport after) {
    Map<List<String>, ForwardReport> earlier = new LinkedHashMap<>();
    entries(before).forEach(f -> earlier.put(List.of(f.getNamespace(), f.getName()), f));
    List<ForwardReport> changed = new ArrayList<>();
    for (ForwardReport entry : entries(after)) {
      if (!entry.equals(earlier.remove(List.of(entry.getNamespace(), entry.getName())))) {
        changed.add(entry);
      }
    }
    changed.addAll(earlier.values());
    return changed;
  }

  private static List<ForwardReport> entries(PortForwardNodeReport report) {
    return report == null || report.getStatus() == null ? List.of() : report.getStatus().getForwards();
  }

  private static String notProgrammed(long done, List<NodeState> states) {
    return "programmed on " + done + " of " + states.size() + " node(s); " + states.stream()
        .filter(s -> !s.isProgrammed())
        .limit(3)
        .map(s -> s.getName() + ": " + s.getMessage())
        .collect(Collectors.joining("; "));
  }

  /**
   * Why a node is not Ready, from its Ready condition (the kubelet's, or the node lifecycle
   * controller's once the kubelet stopped posting status); empty when Ready, or when the node
   * carries no Ready condition at all (nothing says it is down).
   */
  public static Optional<String> notReady(Node node) {
    if (node == null || node.getStatus() == null || node.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return node.getStatus().getConditions().stream()
        .filter(c -> "Ready".equals(c.getType()) && !"True".equals(c.getStatus()))
        .findFirst()
        .map(c -> "the node is not Ready (Ready=" + c.getStatus()
            + (c.getReason() == null ? "" : ", " + c.getReason())
            + (c.getMessage() == null ? "" : ": " + c.getMessage().strip())
            + (c.getLastTransitionTime() == null ? "" : ", since " + c.getLastTransitionTime())
            + "); its forward is not counted until the node is Ready again");
  }

  /**
   * GatewayMapped from the node that holds the mapping (agents agree on one; while the holder
   * changes, two may report for a moment, and the first by name counts).
   */
  private static Optional<Check> gatewayMapped(PortForward pf, Map<String, GatewayReport> reports) {
    if (pf.getSpec().getGateway() == null) {
      return Optional.empty();
    }
    Optional<Map.Entry<String, GatewayReport>> granted = reports.entrySet().stream()
        .filter(e -> e.getValue().getAddress() != null).findFirst();
    if (granted.isPresent()) {
      GatewayReport g = granted.get().getValue();
      String until = g.getExpiresAt() == null ? "permanently (the gateway grants no finite lease)"
          : "until " + g.getExpiresAt() + " (renewed at half the lease)";
      return Optional.of(Check.ok(Reason.MAPPED, "the gateway maps " + g.getAddress() + ":" + g.getPort() + " ("
          + g.getProtocol() + ") to node " + granted.get().getKey() + " " + until
          + (g.getMessage() == null ? "" : "; last attempt: " + g.getMessage())));
    }
    Optional<Map.Entry<String, GatewayReport>> failed = reports.entrySet().stream()
        .filter(e -> e.getValue().getReason() != null).findFirst();
    if (failed.isPresent()) {
      return Optional.of(Check.fail(failed.get().getValue().getReason(),
          "node " + failed.get().getKey() + ": " + failed.get().getValue().getMessage()));
    }
    return gatewayPending(pf, "waiting for the first node (by name) with the forward in place to ask the gateway");
  }

  /** GatewayMapped=False, Pending, when the spec asks for a mapping; empty otherwise. */
  private static Optional<Check> gatewayPending(PortForward pf, String why) {
    return pf.getSpec().getGateway() == null ? Optional.empty()
        : Optional.of(Check.fail(Reason.PENDING, "not mapped yet: " + why));
  }

  private static List<ExternalEndpoint> externalEndpoints(Map<String, GatewayReport> reports) {
    return reports.entrySet().stream().filter(e -> e.getValue().getAddress() != null).limit(1).map(e -> {
      ExternalEndpoint endpoint = new ExternalEndpoint();
      endpoint.setNode(e.getKey());
      endpoint.setAddress(e.getValue().getAddress());
      endpoint.setPort(e.getValue().getPort());
      endpoint.setProtocol(e.getValue().getProtocol());
      endpoint.setExpiresAt(e.getValue().getExpiresAt());
      return endpoint;
    }).toList();
  }

  /**
   * A node's entry keeps its lastSyncTime while nothing about it changes, so an agent's periodic
   * resync does not rewrite every PortForward's status.
   */
  private static NodeState nodeState(String node, boolean programmed, String message, String syncTime,
      NodeState previous) {
    NodeState state = new NodeState();
    state.setName(node);
    state.setProgrammed(programmed);
    state.setMessage(message);
    boolean same = previous != null && previous.isProgrammed() == programmed
        && Objects.equals(previous.getMessage(), message);
    state.setLastSyncTime(same ? previous.getLastSyncTime() : syncTime);
    return state;
  }

  private static Endpoint endpoint(String node, String address, PortForward pf) {
    Endpoint endpoint = new Endpoint();
    endpoint.setNode(node);
    endpoint.setAddress(address);
    endpoint.setPort(pf.getSpec().getListen().getPort());
    endpoint.setProtocol(pf.getSpec().getProtocol());
    return endpoint;
  }
}
