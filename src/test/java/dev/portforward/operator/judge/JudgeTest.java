package dev.portforward.operator.judge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.ForwardReport;
import dev.portforward.api.v1alpha1.NodeReportStatus;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.NamespaceSelector;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.PortForwardPolicySpec;
import dev.portforward.common.Cidr;
import dev.portforward.common.RelayNames;
import dev.portforward.operator.OperatorConfig;
import dev.portforward.operator.relays.RelaySettings;
import dev.portforward.operator.policy.ApiServer;
import dev.portforward.operator.policy.ForwardPolicy;
import dev.portforward.operator.policy.ReservedPorts;
import dev.portforward.operator.policy.Settings;
import dev.portforward.operator.status.Check;
import dev.portforward.operator.status.Verdict;
import dev.portforward.relay.config.Forward;
import dev.portforward.relay.config.RelayConfigParser;
import dev.portforward.testbed.PortForwards;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The operator's decision, path by path, over a snapshot written by hand: no cluster. */
class JudgeTest {

  static final OperatorConfig.Relays RELAYS = RelaySettings.of("registry.example/portforward:1", 1, List.of());

  private final Judge judge = new Judge(RELAYS,
      ReservedPorts.from(Settings.defaults(), ReservedPorts.ownPorts(9443, 15020)), false);
  private final FakeSnapshot cluster = new FakeSnapshot(ForwardPolicy.from(Settings.defaults()));

  @Test
  void aResolvedForwardProgrammedOnEveryNodeIsReady() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    webService("n", "10.244.0.5");
    cluster.nodes.add(node("node-1", "10.77.1.1"));
    report("node-1", pf, true);

    Judgement judgement = judge.judge(pf, cluster);

    Verdict verdict = judgement.verdict();
    assertThat(verdict.accepted()).isEqualTo(Check.ok(Reason.ACCEPTED,
        "the forward is valid and allowed, and owns port TCP/8080"));
    assertThat(verdict.resolvedRefs().message()).isEqualTo("Service web has 1 ready endpoint(s)");
    assertThat(verdict.programmed()).isEqualTo(Check.ok(Reason.PROGRAMMED, "programmed on 1 node(s)"));
    assertThat(verdict.ready()).isEqualTo(Check.ok(Reason.READY, "traffic can flow: programmed on 1 node(s), 1 ready backend(s)"));
    assertThat(verdict.target()).isEqualTo("service/web:80");
    assertThat(judgement.relays()).contains(List.of());
  }

  @Test
  void aMissingServiceLeavesTheRelaysAsTheyAre() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");

    Judgement judgement = judge.judge(pf, cluster);

    assertThat(judgement.verdict().accepted().ok()).isTrue();
    assertThat(judgement.verdict().resolvedRefs())
        .isEqualTo(Check.fail(Reason.SERVICE_NOT_FOUND, "Service web not found in namespace n"));
    assertThat(judgement.verdict().programmed().reason()).isEqualTo(Reason.REFS_NOT_RESOLVED);
    assertThat(judgement.relays()).as("a target gone for a moment must not take the relays down").isEmpty();
  }

  @Test
  void aMissingWeightedServiceTakesNoShareAndTheStatusSaysSo() {
    PortForward pf = forward("n", "canary", "listen: {port: 8080}, target: {services: [{name: web, port: 80, weight: 80},"
        + " {name: next, port: 80, weight: 20}]}");
    webService("n", "10.244.0.5");
    cluster.nodes.add(node("node-1", "10.77.1.1"));
    report("node-1", pf, true);

    Verdict verdict = judge.judge(pf, cluster).verdict();

    assertThat(verdict.accepted().ok()).isTrue();
    assertThat(verdict.resolvedRefs()).isEqualTo(Check.ok(Reason.RESOLVED_REFS, "Services web (weight 80, 1 ready);"
        + " Service next not found in namespace n: taking no share, the others get all the traffic"));
    assertThat(verdict.ready()).isEqualTo(Check.ok(Reason.READY,
        "traffic can flow: programmed on 1 node(s), 1 ready backend(s)"));
    assertThat(verdict.target()).isEqualTo("services/web:80=80,next:80=20");
  }

  @Test
  void weightedServicesOfWhichNoneExistsAreNotResolved() {
    PortForward pf = forward("n", "canary", "listen: {port: 8080}, target: {services: [{name: a, port: 80},"
        + " {name: b, port: 80}]}");

    Verdict verdict = judge.judge(pf, cluster).verdict();

    assertThat(verdict.resolvedRefs()).isEqualTo(Check.fail(Reason.SERVICE_NOT_FOUND,
        "Service a not found in namespace n; Service b not found in namespace n"));
  }

  @Test
  void onlyServicesWithAWeightCountAsReadyBackendsButEveryEndpointIsChecked() {
    PortForward pf = forward("n", "canary", "listen: {port: 8080}, target: {services: [{name: web, port: 80, weight: 0},"
        + " {name: next, port: 80}]}");
    webService("n", "10.244.0.5");
    cluster.services.add(service("n", "next"));
    cluster.endpointSlices.add(slice("n", "next", "10.244.0.6", false));
    cluster.nodes.add(node("node-1", "10.77.1.1"));
    report("node-1", pf, true);

    assertThat(judge.judge(pf, cluster).verdict().ready()).isEqualTo(Check.fail(Reason.NO_READY_BACKENDS,
        "programmed, but the target has no ready backend"));

    cluster.endpointSlices.removeIf(slice -> slice.getMetadata().getName().equals("web-1"));
    cluster.endpointSlices.add(slice("n", "web", "127.0.0.1", true));
    Check accepted = judge.judge(pf, cluster).verdict().accepted();
    assertThat(accepted.reason()).as("a Service without share still may not lead anywhere denied")
        .isEqualTo(Reason.TARGET_DENIED);
    assertThat(accepted.message()).startsWith("target services/web:80=0,next:80=1 resolves to 127.0.0.1");
  }

  @Test
  void weightedServicesWithASidecarAreRefused() {
    PortForward pf = forward("n", "canary", "listen: {port: 8080}, target: {services: [{name: web, port: 80}]},"
        + " relay: {mode: Sidecar}");
    webService("n", "10.244.0.5");

    Judgement judgement = judge.judge(pf, cluster);

    assertThat(judgement.verdict().accepted()).isEqualTo(Check.fail(Reason.WEIGHTED_SERVICES_WITH_SIDECAR,
        "target.services needs relay.mode None or Deployment: a sidecar runs next to the pods of one target; use a"
            + " single target.service with relay.mode Sidecar"));
    assertThat(judgement.relays()).contains(List.of());
  }

  @Test
  void aRelayDeploymentDialsTheClusterIpsOfTheWeightedServicesThatHaveAReadyEndpoint() throws Exception {
    PortForward pf = forward("n", "canary", "listen: {port: 8080}, target: {services: [{name: web, port: 80, weight: 3},"
        + " {name: idle, port: 80, weight: 5}, {name: gone, port: 80}]}, relay: {mode: Deployment}");
    webService("n", "10.244.0.5");
    cluster.services.add(service("n", "idle"));

    Judgement judgement = judge.judge(pf, cluster);

    assertThat(judgement.verdict().resolvedRefs().ok()).isTrue();
    ConfigMap config = (ConfigMap) judgement.relays().orElseThrow().get(0);
    assertThat(RelayConfigParser.parse(config.getData().get(RelayNames.CONFIG_KEY)).forwards().get(0).targets())
        .containsExactly(new Forward.Target("10.96.7.7", 80, 3));
  }

  @Test
  void aRefusedForwardGetsNoRelays() {
    PortForward pf = forward("n", "low", "listen: {port: 80}, target: {service: {name: web, port: 80}},"
        + " relay: {mode: Deployment}");
    webService("n", "10.244.0.5");

    Judgement judgement = judge.judge(pf, cluster);

    assertThat(judgement.verdict().accepted().reason()).isEqualTo(Reason.PRIVILEGED_PORT_NOT_ALLOWED);
    assertThat(judgement.verdict().ready().reason()).isEqualTo(Reason.NOT_ACCEPTED);
    assertThat(judgement.relays()).contains(List.of());
  }

  @Test
  void anEndpointOnLoopbackIsDenied() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    webService("n", "127.0.0.1");

    Check accepted = judge.judge(pf, cluster).verdict().accepted();

    assertThat(accepted.reason()).isEqualTo(Reason.TARGET_DENIED);
    assertThat(accepted.message()).isEqualTo(
        "target service/web:80 resolves to 127.0.0.1, which is loopback (127.0.0.0/8); no forward may lead there");
  }

  @Test
  void anEndpointAtTheApiServerIsDenied() {
    cluster.apiServer = new ApiServer(List.of(Cidr.parseAddress("10.96.0.1")), List.of(6443));
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    webService("n", "10.96.0.1");

    Check accepted = judge.judge(pf, cluster).verdict().accepted();

    assertThat(accepted.reason()).isEqualTo(Reason.TARGET_DENIED);
    assertThat(accepted.message()).contains("10.96.0.1", "the API server");
  }

  @Test
  void aReservedPortIsRefusedNamingItsOwnerAndClaimsNothing() {
    cluster.apiServer = new ApiServer(List.of(), List.of(16443));
    PortForward kubelet = forward("n", "kubelet", "listen: {port: 10250}, target: {service: {name: web, port: 80}}");
    PortForward api = forward("n", "api", "listen: {port: 16443}, target: {service: {name: web, port: 80}}");
    PortForward nodePort = forward("n", "np", "listen: {port: 30080, addresses: [10.77.1.1]},"
        + " target: {service: {name: web, port: 80}}");
    PortForward later = forward("m", "later", "listen: {port: 10250, addresses: [10.77.1.1]},"
        + " target: {service: {name: web, port: 80}}");
    later.getMetadata().setCreationTimestamp("2026-01-02T00:00:00Z");
    cluster.portForwards.addAll(List.of(kubelet, later));
    webService("n", "10.244.0.5");

    assertThat(judge.judge(kubelet, cluster).verdict().accepted()).isEqualTo(Check.fail(Reason.RESERVED_PORT,
        "listen.port 10250 is reserved: kubelet API; no PortForward may listen on it, pick another port (only an"
            + " administrator can release it, with portforward.policy.unreserved-ports)"));
    assertThat(judge.judge(api, cluster).verdict().accepted().message())
        .startsWith("listen.port 16443 is reserved: the Kubernetes API server");
    assertThat(judge.judge(nodePort, cluster).verdict().accepted().message())
        .startsWith("listen.port 30080 is reserved: the Service NodePort range 30000-32767");
    assertThat(judge.judge(later, cluster).verdict().accepted().reason())
        .as("refused for the port, not for a conflict with another refused forward").isEqualTo(Reason.RESERVED_PORT);
  }

  @Test
  void anEndpointAtANodesAddressIsDenied() {
    cluster.nodes.add(node("node-1", "10.77.1.1"));
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    webService("n", "10.77.1.1");

    assertThat(judge.judge(pf, cluster).verdict().accepted()).isEqualTo(Check.fail(Reason.TARGET_DENIED,
        "target service/web:80 resolves to 10.77.1.1, which is the address of node node-1 (10.77.1.1/32);"
            + " no forward may lead there"));

    cluster.policy = ForwardPolicy.from(Settings.defaults().withNodeAddressTargets());
    assertThat(judge.judge(pf, cluster).verdict().accepted().ok()).isTrue();
  }

  @Test
  void twoSpellingsOfOneListenAddressConflict() {
    PortForward first = forward("a", "first", "listen: {port: 8080, addresses: ['fd77:1::1']},"
        + " target: {service: {name: web, port: 80}}");
    PortForward second = forward("b", "second", "listen: {port: 8080,"
        + " addresses: ['FD77:0001:0000:0000:0000:0000:0000:0001']}, target: {service: {name: web, port: 80}}");
    second.getMetadata().setCreationTimestamp("2026-01-02T00:00:00Z");
    cluster.portForwards.addAll(List.of(first, second));
    webService("a", "10.244.0.5");
    webService("b", "10.244.0.6");

    assertThat(judge.judge(first, cluster).verdict().accepted().ok()).isTrue();
    assertThat(judge.judge(second, cluster).verdict().accepted().message())
        .startsWith("port TCP/8080 is already claimed by PortForward a/first");
  }

  @Test
  void theOlderForwardKeepsThePortTheNewerIsRefused() {
    PortForward old = forward("a", "old", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    old.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
    PortForward young = forward("b", "young", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    young.getMetadata().setCreationTimestamp("2026-01-02T00:00:00Z");
    cluster.portForwards.addAll(List.of(young, old));
    webService("a", "10.244.0.5");
    webService("b", "10.244.0.6");

    Judgement lost = judge.judge(young, cluster);

    assertThat(judge.judge(old, cluster).verdict().accepted().ok()).isTrue();
    assertThat(lost.verdict().accepted().reason()).isEqualTo(Reason.PORT_CONFLICT);
    assertThat(lost.verdict().accepted().message()).startsWith("port TCP/8080 is already claimed by PortForward a/old");
    assertThat(lost.relays()).contains(List.of());
  }

  @Test
  void aForwardLosingToAGatewayListenerIsToldWhichGatewayAndListenerHoldThePort() {
    PortForward derived = forward("a", "gw-tcp", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    derived.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
    derived.getMetadata().setLabels(java.util.Map.of("gateway.portforward.dev/gateway", "gw",
        "gateway.portforward.dev/listener", "tcp"));
    derived.getMetadata().setOwnerReferences(List.of(new io.fabric8.kubernetes.api.model.OwnerReferenceBuilder()
        .withApiVersion("gateway.networking.k8s.io/v1").withKind("Gateway").withName("gw").withUid("u")
        .withController(true).build()));
    PortForward young = forward("b", "young", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    young.getMetadata().setCreationTimestamp("2026-01-02T00:00:00Z");
    cluster.portForwards.addAll(List.of(young, derived));
    webService("a", "10.244.0.5");
    webService("b", "10.244.0.6");

    Check lost = judge.judge(young, cluster).verdict().accepted();

    assertThat(lost.reason()).isEqualTo(Reason.PORT_CONFLICT);
    assertThat(lost.message())
        .startsWith("port TCP/8080 is already claimed by Gateway a/gw listener tcp (PortForward a/gw-tcp) (created");
  }

  @Test
  void theNamespacesPolicyIsNamedAndItsLimitLeavesTheNewestOutOfEveryClaim() {
    PortForwardPolicy teamA = new PortForwardPolicy();
    teamA.setMetadata(new ObjectMetaBuilder().withName("team-a").build());
    teamA.setSpec(new PortForwardPolicySpec());
    teamA.getSpec().setNamespaceSelector(new NamespaceSelector());
    teamA.getSpec().setMaxForwards(1);
    cluster.policy = ForwardPolicy.from(Settings.defaults()).grantedBy(teamA);
    PortForward first = forward("a", "first", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    PortForward limited = forward("a", "limited", "listen: {port: 8081}, target: {service: {name: web, port: 80}}");
    limited.getMetadata().setCreationTimestamp("2026-01-02T00:00:00Z");
    PortForward elsewhere = forward("b", "elsewhere", "listen: {port: 8081}, target: {service: {name: web, port: 80}}");
    elsewhere.getMetadata().setCreationTimestamp("2026-01-03T00:00:00Z");
    cluster.portForwards.addAll(List.of(first, limited, elsewhere));
    webService("a", "10.244.0.5");
    webService("b", "10.244.0.6");

    Verdict refused = judge.judge(limited, cluster).verdict();

    assertThat(refused.accepted()).isEqualTo(Check.fail(Reason.FORWARD_LIMIT_REACHED,
        "namespace a is at the limit of 1 PortForward(s) that PortForwardPolicy team-a allows (spec.maxForwards),"
            + " and this one is newer than those holding the slots; delete one, or ask an administrator to raise"
            + " the limit"));
    assertThat(refused.policy()).isEqualTo("team-a");
    assertThat(judge.judge(first, cluster).verdict().accepted().ok()).isTrue();
    assertThat(judge.judge(elsewhere, cluster).verdict().accepted().ok()).as("the limited forward claims nothing")
        .isTrue();
    cluster.portForwards.remove(first);
    assertThat(judge.judge(limited, cluster).verdict().accepted().ok()).as("a slot freed").isTrue();
  }

  @Test
  void aForwardThePolicyRefusesClaimsNothing() {
    PortForward refused = forward("a", "refused", "listen: {port: 8080}, target: {external: {host: example.org, port: 80}}");
    refused.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
    PortForward next = forward("b", "next", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    next.getMetadata().setCreationTimestamp("2026-01-02T00:00:00Z");
    cluster.portForwards.addAll(List.of(refused, next));
    webService("b", "10.244.0.6");

    assertThat(judge.judge(refused, cluster).verdict().accepted().reason()).isEqualTo(Reason.EXTERNAL_TARGET_NOT_ALLOWED);
    assertThat(judge.judge(next, cluster).verdict().accepted().ok()).isTrue();
  }

  @Test
  void withoutNodesNothingIsProgrammed() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    webService("n", "10.244.0.5");

    Verdict verdict = judge.judge(pf, cluster).verdict();

    assertThat(verdict.programmed()).isEqualTo(Check.fail(Reason.NO_SELECTED_NODES, "the cluster has no nodes"));
    assertThat(verdict.ready().reason()).isEqualTo(Reason.NOT_PROGRAMMED);
  }

  @Test
  void programmedWithoutReadyBackendsIsNotReady() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");
    cluster.services.add(service("n", "web"));
    cluster.endpointSlices.add(slice("n", "web", "10.244.0.5", false));
    cluster.nodes.add(node("node-1", "10.77.1.1"));
    report("node-1", pf, true);

    Verdict verdict = judge.judge(pf, cluster).verdict();

    assertThat(verdict.programmed().ok()).isTrue();
    assertThat(verdict.ready()).isEqualTo(Check.fail(Reason.NO_READY_BACKENDS,
        "programmed, but the target has no ready backend"));
  }

  @Test
  void aDeploymentRelayCountsOnlyOnceItsPodIsReady() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}},"
        + " relay: {mode: Deployment}");
    webService("n", "10.244.0.5");
    cluster.nodes.add(node("node-1", "10.77.1.1"));
    report("node-1", pf, true);

    Judgement judgement = judge.judge(pf, cluster);

    assertThat(judgement.relays().orElseThrow()).extracting(HasMetadata::getKind)
        .containsExactly("ConfigMap", "Deployment", "Service");
    assertThat(((ConfigMap) judgement.relays().orElseThrow().get(0)).getData().values().iterator().next())
        .as("the relay dials the Service's cluster IP").contains("10.96.7.7");
    assertThat(judgement.verdict().programmed())
        .isEqualTo(Check.fail(Reason.RELAY_NOT_READY, "relay Deployment web-relay: 0/1 replicas ready"));

    cluster.deployments.add(new DeploymentBuilder().withNewMetadata().withNamespace("n").withName("web-relay")
        .endMetadata().withNewStatus().withReadyReplicas(1).endStatus().build());

    assertThat(judge.judge(pf, cluster).verdict().ready().ok()).isTrue();
  }

  @Test
  void aSidecarForwardWaitsForItsSidecars() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {pods: {selector: {app: web}, port: 8080}},"
        + " relay: {mode: Sidecar}");
    cluster.pods.add(new PodBuilder().withNewMetadata().withNamespace("n")
        .withName("web-0").addToLabels("app", "web").endMetadata()
        .withNewStatus().withPodIP("10.244.0.5").withPhase("Running").endStatus().build());
    cluster.nodes.add(node("node-1", "10.77.1.1"));
    report("node-1", pf, true);

    Check programmed = judge.judge(pf, cluster).verdict().programmed();

    assertThat(programmed.reason()).isEqualTo(Reason.SIDECARS_MISSING);
    assertThat(programmed.message()).startsWith("1 selected pod(s) without the relay sidecar: web-0");
  }

  @Test
  void anExternalHostThatDoesNotResolveIsNotResolved() {
    cluster.policy = ForwardPolicy.from(Settings.defaults().withExternal("203.0.113.0/24"));
    PortForward pf = forward("n", "ext", "listen: {port: 8080}, target: {external: {host: db.example, port: 5432}}");

    assertThat(judge.judge(pf, cluster).verdict().resolvedRefs().reason()).isEqualTo(Reason.HOST_NOT_FOUND);

    cluster.hosts.put("db.example", List.of(Cidr.parseAddress("203.0.113.9")));
    assertThat(judge.judge(pf, cluster).verdict().accepted().ok()).isTrue();

    cluster.hosts.put("db.example", List.of(Cidr.parseAddress("198.51.100.9")));
    assertThat(judge.judge(pf, cluster).verdict().accepted().message())
        .contains("198.51.100.9", "outside the CIDRs allowed for external targets");
  }

  @Test
  void anErrorTurnsEveryConditionFalse() {
    PortForward pf = forward("n", "web", "listen: {port: 8080}, target: {service: {name: web, port: 80}}");

    Verdict verdict = Judge.error(pf, new IllegalStateException("boom"));

    assertThat(List.of(verdict.accepted(), verdict.resolvedRefs(), verdict.programmed(), verdict.ready()))
        .allSatisfy(c -> assertThat(c).isEqualTo(Check.fail(Reason.RECONCILE_ERROR,
            "the operator failed to evaluate this forward and will retry: IllegalStateException")));
  }

  static PortForward forward(String namespace, String name, String spec) {
    PortForward pf = PortForwards.of(namespace, name, spec);
    pf.getMetadata().setGeneration(1L);
    pf.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
    return pf;
  }

  /** A Service web with port 80 and one ready endpoint at {@code address}. */
  private void webService(String namespace, String address) {
    cluster.services.add(service(namespace, "web"));
    cluster.endpointSlices.add(slice(namespace, "web", address, true));
  }

  static Service service(String namespace, String name) {
    return new ServiceBuilder()
        .withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
        .withNewSpec().withClusterIP("10.96.7.7").addNewPort().withPort(80).withProtocol("TCP").endPort().endSpec()
        .build();
  }

  static EndpointSlice slice(String namespace, String service, String address, boolean ready) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(namespace).withName(service + "-1")
        .addToLabels("kubernetes.io/service-name", service).endMetadata()
        .withAddressType(address.contains(":") ? "IPv6" : "IPv4")
        .addNewEndpoint().withAddresses(address).withNewConditions().withReady(ready).endConditions().endEndpoint()
        .addNewPort().withPort(80).withProtocol("TCP").endPort()
        .build();
  }

  static Node node(String name, String address) {
    return new NodeBuilder().withNewMetadata().withName(name).endMetadata()
        .withNewStatus().addNewAddress().withType("InternalIP").withAddress(address).endAddress().endStatus().build();
  }

  private void report(String node, PortForward pf, boolean programmed) {
    ForwardReport entry = new ForwardReport();
    entry.setNamespace(pf.getMetadata().getNamespace());
    entry.setName(pf.getMetadata().getName());
    entry.setGeneration(pf.getMetadata().getGeneration());
    entry.setProgrammed(programmed);
    entry.setAddresses(List.of("10.77.1.1"));
    PortForwardNodeReport report = new PortForwardNodeReport();
    report.setMetadata(new ObjectMetaBuilder().withName(node).build());
    NodeReportStatus status = new NodeReportStatus();
    status.setProgrammed(true);
    status.setLastSyncTime("2026-01-01T00:00:00Z");
    status.setForwards(List.of(entry));
    report.setStatus(status);
    cluster.reports.put(node, report);
  }
}
