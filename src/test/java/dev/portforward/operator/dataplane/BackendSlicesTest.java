package dev.portforward.operator.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.common.ForwardSlices;
import dev.portforward.common.Sidecars;
import dev.portforward.testbed.PortForwards;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackendSlicesTest {

  @Test
  void aPodsTargetIsPublishedWithReadinessAndNodeInSlicesOfAtMostAThousandPerFamily() {
    PortForward pf = forward("web", "target: {pods: {selector: {app: web}, port: 8080}}");
    List<Pod> pods = new ArrayList<>();
    for (int i = 0; i < 1001; i++) {
      pods.add(pod("p" + i, "web", "10.1." + (i / 250) + "." + (i % 250 + 1), i != 0, "node-" + (i % 3)));
    }
    pods.add(pod("v6", "web", "fd00::7", true, "node-1"));
    pods.add(pod("other", "api", "10.9.0.1", true, "node-1"));

    List<EndpointSlice> slices = BackendSlices.desired(pf, pods);

    assertThat(slices).extracting(s -> s.getMetadata().getName())
        .containsExactly("web-target-ipv4-0", "web-target-ipv4-1", "web-target-ipv6-0");
    assertThat(slices).extracting(s -> s.getEndpoints().size()).containsExactly(1000, 1, 1);
    assertThat(slices).allSatisfy(slice -> {
      assertThat(slice.getMetadata().getLabels())
          .containsEntry(ForwardSlices.MANAGED_BY_LABEL, ForwardSlices.MANAGED_BY)
          .containsEntry(ForwardSlices.FORWARD_LABEL, "web")
          .containsEntry(ForwardSlices.RESOLVES_LABEL, ForwardSlices.TARGET)
          .doesNotContainKey("kubernetes.io/service-name");
      // Label values as the API server validates them.
      assertThat(slice.getMetadata().getLabels().values())
          .allMatch(value -> value.length() <= 63 && value.matches("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"));
      assertThat(slice.getMetadata().getOwnerReferences()).singleElement()
          .satisfies(owner -> assertThat(owner.getUid()).isEqualTo("uid-web"));
      assertThat(slice.getPorts()).singleElement().satisfies(port -> {
        assertThat(port.getPort()).isEqualTo(8080);
        assertThat(port.getProtocol()).isEqualTo("TCP");
      });
    });
    Endpoint first = slices.get(0).getEndpoints().get(0);
    assertThat(first.getAddresses()).containsExactly("10.1.0.1");
    assertThat(first.getConditions().getReady()).isFalse();
    assertThat(first.getNodeName()).isEqualTo("node-0");
    assertThat(ForwardSlices.endpoints(slices, ForwardSlices.TARGET)).hasSize(1002);
  }

  @Test
  void routesAndSidecarEvidenceGetTheirOwnSlicesAndRelayDeploymentsAndServicesNone() {
    PortForward pf = forward("web", """
        target: {pods: {selector: {app: web}, port: 8080}},
        routes: [{sourceRanges: [10.0.0.0/8], target: {pods: {selector: {app: api}, port: 9090}}}],
        relay: {mode: Sidecar}""");
    Pod carrying = pod("with", "web", "10.1.0.1", true, "n1");
    carrying.getMetadata().getAnnotations().put(Sidecars.ANNOTATION, "web");
    carrying.getSpec().getInitContainers().add(new io.fabric8.kubernetes.api.model.ContainerBuilder()
        .withName(Sidecars.CONTAINER).build());
    List<Pod> pods = List.of(carrying, pod("without", "web", "10.1.0.2", true, "n1"),
        pod("api", "api", "10.2.0.1", true, "n2"));

    List<EndpointSlice> slices = BackendSlices.desired(pf, pods);

    assertThat(slices).extracting(s -> s.getMetadata().getLabels().get(ForwardSlices.RESOLVES_LABEL))
        .containsExactly(ForwardSlices.TARGET, ForwardSlices.route(0), ForwardSlices.SIDECARS);
    assertThat(ForwardSlices.endpoints(slices, ForwardSlices.SIDECARS))
        .extracting(e -> e.address().getHostAddress()).containsExactly("10.1.0.1");
    assertThat(ForwardSlices.endpoints(slices, ForwardSlices.route(0)))
        .extracting(e -> e.address().getHostAddress() + ":" + e.port()).containsExactly("10.2.0.1:9090");
    assertThat(slices.get(2).getPorts()).isEmpty();

    assertThat(BackendSlices.desired(forward("relayed", """
        target: {pods: {selector: {app: web}, port: 8080}}, relay: {mode: Deployment}"""), pods)).isEmpty();
    assertThat(BackendSlices.desired(forward("svc", "target: {service: {name: web, port: 80}}"), pods)).isEmpty();
  }

  @Test
  void aLongNameGetsALabelValueTheApiAccepts() {
    String name = "a".repeat(100) + ".example";
    String label = ForwardSlices.forwardLabel(name);
    assertThat(label).hasSizeLessThanOrEqualTo(63).startsWith("aaaa").isNotEqualTo(ForwardSlices.forwardLabel(name + "x"));
    assertThat(ForwardSlices.forwardLabel("web.v2")).isEqualTo("web.v2");
  }

  private static PortForward forward(String name, String spec) {
    PortForward pf = PortForwards.of("n", name, "listen: {port: 8000}, " + spec);
    pf.getMetadata().setUid("uid-" + name);
    return pf;
  }

  private static Pod pod(String name, String app, String ip, boolean ready, String node) {
    return new PodBuilder().withNewMetadata().withNamespace("n").withName(name).addToLabels("app", app)
        .withAnnotations(new java.util.HashMap<>()).endMetadata()
        .withNewSpec().withNodeName(node).withInitContainers(new ArrayList<>()).endSpec()
        .withNewStatus().withPodIP(ip).addNewCondition().withType("Ready").withStatus(ready ? "True" : "False")
        .endCondition().endStatus()
        .build();
  }
}
