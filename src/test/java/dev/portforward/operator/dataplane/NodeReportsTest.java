package dev.portforward.operator.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.ExternalEndpoint;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.Gateway;
import dev.portforward.api.v1alpha1.GatewayProtocol;
import dev.portforward.api.v1alpha1.GatewayReport;
import dev.portforward.api.v1alpha1.Listen;
import dev.portforward.api.v1alpha1.NodeReportStatus;
import dev.portforward.api.v1alpha1.NodeState;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.api.v1alpha1.PortForwardSpec;
import dev.portforward.api.v1alpha1.PortForwardStatus;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NodeReportsTest {

  private final Map<String, PortForwardNodeReport> reports = new HashMap<>();
  private final List<Node> nodes = List.of(node("edge-1", "edge"), node("edge-2", "edge"), node("core-1", "core"));

  @Test
  void onlySelectedNodesCount() {
    PortForward pf = pf(Map.of("role", "edge"));
    report("edge-1", "2026-01-01T00:00:00Z", entry(pf, true, "192.0.2.1"));
    report("edge-2", "2026-01-01T00:00:00Z", entry(pf, true, "192.0.2.2"));

    DataPlaneState state = aggregate(pf);

    assertThat(state.programmed().ok()).isTrue();
    assertThat(state.nodes()).extracting(NodeState::getName).containsExactly("edge-1", "edge-2");
    assertThat(aggregate(pf(Map.of("role", "gpu"))).programmed().reason()).isEqualTo(Reason.NO_SELECTED_NODES);
  }

  @Test
  void aRenewedSyncTimeKeepsTheNodesEntrySoNothingIsRewritten() {
    PortForward pf = pf(Map.of("role", "edge"));
    report("edge-1", "2026-01-01T00:00:00Z", entry(pf, true, "192.0.2.1"));
    report("edge-2", "2026-01-01T00:00:00Z", entry(pf, true, "192.0.2.2"));
    PortForwardStatus status = new PortForwardStatus();
    status.setNodes(aggregate(pf).nodes());
    pf.setStatus(status);

    report("edge-1", "2026-01-01T00:10:00Z", entry(pf, true, "192.0.2.1"));

    assertThat(aggregate(pf).nodes()).extracting(NodeState::getLastSyncTime).containsOnly("2026-01-01T00:00:00Z");
  }

  @Test
  void problemsAreListedFirstAndNamedInTheMessage() {
    PortForward pf = pf(Map.of());
    report("core-1", "t", entry(pf, false, "192.0.2.3"));
    report("edge-1", "t", entry(pf, true, "192.0.2.1"));

    DataPlaneState state = aggregate(pf);

    assertThat(state.programmed().reason()).isEqualTo(Reason.NODES_NOT_PROGRAMMED);
    assertThat(state.programmed().message()).isEqualTo(
        "programmed on 1 of 3 node(s); core-1: rules not applied; edge-2: no agent reports from this node");
    assertThat(state.nodes()).extracting(NodeState::getName).containsExactly("core-1", "edge-2", "edge-1");
    assertThat(state.endpoints()).hasSize(1);
  }

  @Test
  void aNodeThatIsNotReadyIsListedButNotCountedWhileAnotherSelectedNodeIsReady() {
    PortForward pf = pf(Map.of("role", "edge"));
    report("edge-1", "t", entry(pf, true, "192.0.2.1"));
    // The agent on edge-2 last said the forward is in place; then its kubelet stopped posting status.
    report("edge-2", "t", entry(pf, true, "192.0.2.2"));
    Node stopped = notReady(nodes.get(1));

    DataPlaneState state = NodeReports.aggregate(pf, List.of(nodes.get(0), stopped, nodes.get(2)),
        name -> Optional.ofNullable(reports.get(name)), false);

    assertThat(state.programmed().ok()).as("one node down does not take the forward's other nodes with it").isTrue();
    assertThat(state.programmed().message()).isEqualTo("programmed on 1 node(s); not counted while not Ready: edge-2");
    assertThat(state.nodes()).extracting(NodeState::getName, NodeState::isProgrammed)
        .containsExactly(org.assertj.core.api.Assertions.tuple("edge-2", false),
            org.assertj.core.api.Assertions.tuple("edge-1", true));
    assertThat(state.nodes().get(0).getMessage()).isEqualTo("the node is not Ready"
        + " (Ready=Unknown, NodeStatusUnknown: Kubelet stopped posting node status., since 2026-01-01T00:05:00Z);"
        + " its forward is not counted until the node is Ready again");
    assertThat(state.endpoints()).extracting(e -> e.getNode()).containsExactly("edge-1");

    // With no selected node Ready, the forward is not programmed, and says why.
    DataPlaneState none = NodeReports.aggregate(pf, List.of(notReady(nodes.get(0)), stopped, nodes.get(2)),
        name -> Optional.ofNullable(reports.get(name)), false);
    assertThat(none.programmed().ok()).isFalse();
    assertThat(none.programmed().reason()).isEqualTo(Reason.NODES_NOT_READY);
    assertThat(none.programmed().message()).startsWith("programmed on 0 of 2 node(s); edge-1: the node is not Ready");
    assertThat(none.endpoints()).isEmpty();

    Node back = new NodeBuilder(stopped).editStatus().editFirstCondition().withStatus("True")
        .withReason("KubeletReady").endCondition().endStatus().build();
    DataPlaneState recovered = NodeReports.aggregate(pf, List.of(nodes.get(0), back, nodes.get(2)),
        name -> Optional.ofNullable(reports.get(name)), false);
    assertThat(recovered.programmed().message()).isEqualTo("programmed on 2 node(s)");
    assertThat(recovered.endpoints()).extracting(e -> e.getNode()).containsExactly("edge-1", "edge-2");
  }

  /** {@code node} as the node lifecycle controller marks it once its kubelet stopped posting status. */
  private static Node notReady(Node node) {
    return new NodeBuilder(node).withNewStatus().addNewCondition().withType("Ready")
        .withStatus("Unknown").withReason("NodeStatusUnknown").withMessage("Kubelet stopped posting node status.")
        .withLastTransitionTime("2026-01-01T00:05:00Z").endCondition().endStatus().build();
  }

  @Test
  void controlPlaneNodesCountOnlyWhenAllowedAndTheRefusalSaysWhichSettingAllowsThem() {
    Node controlPlane = new NodeBuilder().withNewMetadata().withName("cp-1").addToLabels("role", "cp")
        .addToLabels(dev.portforward.common.NodeSelection.CONTROL_PLANE_LABEL, "").endMetadata().build();
    List<Node> withControlPlane = List.of(nodes.get(0), controlPlane);
    PortForward onlyThere = pf(Map.of("role", "cp"));

    DataPlaneState excluded = NodeReports.aggregate(onlyThere, withControlPlane, name -> Optional.empty(), false);
    DataPlaneState allowed = NodeReports.aggregate(onlyThere, withControlPlane, name -> Optional.empty(), true);
    DataPlaneState everywhere = NodeReports.aggregate(pf(Map.of()), withControlPlane, name -> Optional.empty(), false);

    assertThat(excluded.programmed().reason()).isEqualTo(Reason.NO_SELECTED_NODES);
    assertThat(excluded.programmed().message()).isEqualTo("only control-plane nodes match listen.nodeSelector"
        + " {role=cp}, and control-plane nodes carry no forwards unless the cluster admin allows them (chart value"
        + " policy.controlPlaneNodes)");
    assertThat(allowed.nodes()).extracting(NodeState::getName).containsExactly("cp-1");
    assertThat(everywhere.nodes()).extracting(NodeState::getName).containsExactly("edge-1");
  }

  private DataPlaneState aggregate(PortForward pf) {
    return NodeReports.aggregate(pf, nodes, name -> Optional.ofNullable(reports.get(name)), false);
  }

  private void report(String node, String syncTime, ForwardReport... forwards) {
    PortForwardNodeReport report = new PortForwardNodeReport();
    report.setMetadata(new ObjectMetaBuilder().withName(node).build());
    NodeReportStatus status = new NodeReportStatus();
    status.setProgrammed(true);
    status.setLastSyncTime(syncTime);
    status.setForwards(List.of(forwards));
    report.setStatus(status);
    reports.put(node, report);
  }

  @Test
  void gatewayMappedOnlyWhenAskedAndFromTheNodeThatHoldsTheMapping() {
    PortForward plain = pf(Map.of("role", "edge"));
    report("edge-1", "t", entry(plain, true, "192.0.2.1"));
    assertThat(aggregate(plain).gatewayMapped()).isEmpty();

    PortForward pf = pf(Map.of("role", "edge"));
    pf.getSpec().setGateway(new Gateway());
    report("edge-1", "t", entry(pf, true, "192.0.2.1"));
    report("edge-2", "t", entry(pf, true, "192.0.2.2"));
    assertThat(aggregate(pf).gatewayMapped()).get().extracting(c -> c.ok(), c -> c.reason())
        .containsExactly(false, Reason.PENDING);

    ForwardReport refused = entry(pf, true, "192.0.2.1");
    GatewayReport no = new GatewayReport();
    no.setReason(Reason.MAPPING_REFUSED);
    no.setMessage("the external port is already mapped to another host (UPnP ConflictInMappingEntry)");
    refused.setGateway(no);
    report("edge-1", "t", refused);
    assertThat(aggregate(pf).gatewayMapped()).get().extracting(c -> c.ok(), c -> c.reason(), c -> c.message())
        .containsExactly(false, Reason.MAPPING_REFUSED,
            "node edge-1: the external port is already mapped to another host (UPnP ConflictInMappingEntry)");
    assertThat(aggregate(pf).externalEndpoints()).isEmpty();

    ForwardReport granted = entry(pf, true, "192.0.2.1");
    GatewayReport yes = new GatewayReport();
    yes.setProtocol(GatewayProtocol.PCP);
    yes.setAddress("203.0.113.9");
    yes.setPort(8080);
    yes.setExpiresAt("2026-01-01T01:00:00Z");
    granted.setGateway(yes);
    report("edge-1", "t", granted);
    DataPlaneState state = aggregate(pf);
    assertThat(state.gatewayMapped()).get().extracting(c -> c.ok(), c -> c.reason(), c -> c.message())
        .containsExactly(true, Reason.MAPPED, "the gateway maps 203.0.113.9:8080 (PCP) to node edge-1 until"
            + " 2026-01-01T01:00:00Z (renewed at half the lease)");
    assertThat(state.externalEndpoints()).singleElement()
        .extracting(ExternalEndpoint::getNode, ExternalEndpoint::getAddress, ExternalEndpoint::getPort,
            ExternalEndpoint::getProtocol, ExternalEndpoint::getExpiresAt)
        .containsExactly("edge-1", "203.0.113.9", 8080, GatewayProtocol.PCP, "2026-01-01T01:00:00Z");
  }

  @Test
  void aNewReportConcernsOnlyTheEntriesItAddedChangedOrDropped() {
    PortForward kept = named("kept");
    PortForward changed = named("changed");
    PortForward dropped = named("dropped");
    PortForward added = named("added");
    report("edge-1", "t1", entry(kept, true, "192.0.2.1"), entry(changed, true, "192.0.2.1"),
        entry(dropped, true, "192.0.2.1"));
    PortForwardNodeReport before = reports.get("edge-1");
    // A later sync time and fresh objects of the same values: still the same entry.
    report("edge-1", "t2", entry(kept, true, "192.0.2.1"), entry(changed, false, "192.0.2.1"),
        entry(added, true, "192.0.2.1"));
    PortForwardNodeReport after = reports.get("edge-1");

    assertThat(NodeReports.changedEntries(before, after)).extracting(ForwardReport::getName)
        .containsExactlyInAnyOrder("changed", "added", "dropped");
    assertThat(NodeReports.changedEntries(null, after)).extracting(ForwardReport::getName)
        .containsExactlyInAnyOrder("kept", "changed", "added");
    assertThat(NodeReports.changedEntries(before, null)).extracting(ForwardReport::getName)
        .containsExactlyInAnyOrder("kept", "changed", "dropped");
    assertThat(NodeReports.changedEntries(after, after)).isEmpty();
  }

  private static PortForward named(String name) {
    PortForward pf = pf(Map.of("role", "edge"));
    pf.getMetadata().setName(name);
    return pf;
  }

  private static ForwardReport entry(PortForward pf, boolean programmed, String address) {
    ForwardReport entry = new ForwardReport();
    entry.setNamespace(pf.getMetadata().getNamespace());
    entry.setName(pf.getMetadata().getName());
    entry.setGeneration(pf.getMetadata().getGeneration());
    entry.setProgrammed(programmed);
    entry.setMessage(programmed ? null : "rules not applied");
    entry.setAddresses(List.of(address));
    return entry;
  }

  private static PortForward pf(Map<String, String> nodeSelector) {
    PortForward pf = new PortForward();
    pf.setMetadata(new ObjectMetaBuilder().withNamespace("n").withName("web").withGeneration(1L).build());
    PortForwardSpec spec = new PortForwardSpec();
    Listen listen = new Listen();
    listen.setPort(8080);
    listen.setNodeSelector(nodeSelector);
    spec.setListen(listen);
    pf.setSpec(spec);
    return pf;
  }

  private static Node node(String name, String role) {
    return new NodeBuilder().withNewMetadata().withName(name).addToLabels("role", role).endMetadata().build();
  }
}
