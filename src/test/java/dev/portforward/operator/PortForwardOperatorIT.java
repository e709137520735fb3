package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.WAIT;
import static dev.portforward.testbed.PortForwards.awaitAccepted;
import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.toService;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.Relay;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.ForwardSlices;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.ReadyPods;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.ArgoHealth;
import dev.portforward.testbed.KStatus;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The operator, packaged and running as its own process, against a real API server. */
@ExtendWith({RealCluster.class, SharedOperator.class})
class PortForwardOperatorIT {

  @Test
  void statusFollowsTheTargetFromMissingToResolved(KubernetesClient client, TestNamespace ns) {
    int port = uniquePort();
    // No node carries this label, so the data-plane verdict is fixed whatever nodes other tests add.
    client.resource(toService(ns.name(), "web", port, "web", 8080,
        spec -> spec.getListen().setNodeSelector(java.util.Map.of("portforward.dev/test", ns.name())))).create();

    PortForward pf = awaitCondition(client, ns.name(), "web", Conditions.RESOLVED_REFS, "False", Reason.SERVICE_NOT_FOUND);
    assertThat(condition(pf, Conditions.ACCEPTED)).get().extracting(Condition::getStatus).isEqualTo("True");
    assertThat(condition(pf, Conditions.RESOLVED_REFS).orElseThrow().getMessage())
        .isEqualTo("Service web not found in namespace " + ns.name());
    assertThat(condition(pf, Conditions.PROGRAMMED).orElseThrow().getReason()).isEqualTo(Reason.REFS_NOT_RESOLVED);
    assertThat(condition(pf, Conditions.READY).orElseThrow().getStatus()).isEqualTo("False");
    assertThat(pf.getStatus().getObservedGeneration()).isEqualTo(1L);
    assertThat(pf.getStatus().getTarget()).isEqualTo("service/web:8080");
    assertThat(pf.getMetadata().getFinalizers()).containsExactly("portforwards.portforward.dev/finalizer");

    client.resource(service(ns.name(), "web", 8080)).create();
    client.resource(endpointSlice(ns.name(), "web", "10.244.0.5", 8080)).create();

    pf = await().atMost(WAIT).until(
        () -> client.resources(PortForward.class).inNamespace(ns.name()).withName("web").get(),
        p -> condition(p, Conditions.RESOLVED_REFS).map(Condition::getMessage)
            .filter("Service web has 1 ready endpoint(s)"::equals).isPresent());
    assertThat(condition(pf, Conditions.RESOLVED_REFS).orElseThrow().getStatus()).isEqualTo("True");
    // Never True without evidence from the data plane.
    assertThat(condition(pf, Conditions.PROGRAMMED).orElseThrow().getReason()).isEqualTo(Reason.NO_SELECTED_NODES);
    assertThat(condition(pf, Conditions.READY).orElseThrow().getStatus()).isEqualTo("False");

    // Events are sent after the status, by their own thread.
    await().atMost(WAIT).untilAsserted(() -> assertThat(events(client, ns.name(), "web")).extracting(Event::getReason)
        .contains(Reason.SERVICE_NOT_FOUND, Reason.RESOLVED_REFS, Reason.NO_SELECTED_NODES));

    // The operator owns the status and its finalizer, and never touches the user's spec.
    assertThat(pf.getMetadata().getManagedFields())
        .filteredOn(m -> "portforward".equals(m.getManager()))
        .allSatisfy(m -> {
          String fields = m.getFieldsV1().getAdditionalProperties().keySet().toString();
          assertThat(fields).isIn("[f:status]", "[f:metadata]");
          if (fields.equals("[f:metadata]")) {
            assertThat(m.getFieldsV1().getAdditionalProperties().get("f:metadata").toString())
                .isEqualTo("{f:finalizers={v:\"portforwards.portforward.dev/finalizer\"={}}}");
          }
        })
        .hasSize(2);
  }

  @Test
  void theOldestClaimantKeepsThePortAndTheNextIsPromotedWhenItGoes(KubernetesClient client, TestNamespace ns) {
    String other = "t-" + UUID.randomUUID().toString().substring(0, 8);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(other).endMetadata().build()).create();
    try {
      int port = uniquePort();
      client.resource(toService(ns.name(), "first", port, "web", 80, spec -> {})).create();
      awaitAccepted(client, ns.name(), "first");
      client.resource(toService(other, "second", port, "web", 80, spec -> {})).create();

      PortForward second = awaitCondition(client, other, "second", Conditions.ACCEPTED, "False", Reason.PORT_CONFLICT);
      assertThat(ArgoHealth.of(second).status()).as("Argo CD health of a refused forward").isEqualTo("Degraded");
      assertThat(KStatus.of(second)).as("kstatus of a refused forward: Flux stops waiting")
          .isEqualTo(new KStatus.Result("Failed", condition(second, Conditions.ACCEPTED).orElseThrow().getMessage()));
      assertThat(condition(second, Conditions.ACCEPTED).orElseThrow().getMessage())
          .startsWith("port TCP/" + port + " is already claimed by PortForward " + ns.name() + "/first");
      PortForward first = client.resources(PortForward.class).inNamespace(ns.name()).withName("first").get();
      assertThat(condition(first, Conditions.ACCEPTED).orElseThrow().getStatus()).isEqualTo("True");

      // A third, newer claimant changes nothing for the owner: no flapping, no write.
      String ownerVersion = first.getMetadata().getResourceVersion();
      client.resource(toService(ns.name(), "third", port, "web", 80, spec -> {})).create();
      awaitCondition(client, ns.name(), "third", Conditions.ACCEPTED, "False", Reason.PORT_CONFLICT);
      assertThat(client.resources(PortForward.class).inNamespace(ns.name()).withName("first").get()
          .getMetadata().getResourceVersion()).isEqualTo(ownerVersion);

      // Listening on one address still collides with a forward that listens on every address.
      client.resource(toService(ns.name(), "elsewhere", port, "web", 80,
          spec -> spec.getListen().setAddresses(List.of("192.0.2.10")))).create();
      PortForward elsewhere = awaitCondition(client, ns.name(), "elsewhere", Conditions.ACCEPTED, "False", Reason.PORT_CONFLICT);
      assertThat(condition(elsewhere, Conditions.ACCEPTED).orElseThrow().getMessage()).contains(ns.name() + "/first");

      // The next oldest (creationTimestamp, then namespace/name) is promoted; the rest still lose to it.
      client.resources(PortForward.class).inNamespace(ns.name()).withName("first").delete();
      List<PortForward> remaining = Stream.of(second, third(client, ns), elsewhere)
          .sorted(Comparator.comparing((PortForward p) -> p.getMetadata().getCreationTimestamp())
              .thenComparing(p -> p.getMetadata().getNamespace())
              .thenComparing(p -> p.getMetadata().getName()))
          .toList();
      PortForward next = remaining.get(0);
      awaitAccepted(client, next.getMetadata().getNamespace(), next.getMetadata().getName());
      for (PortForward loser : remaining.subList(1, remaining.size())) {
        PortForward now = awaitCondition(client, loser.getMetadata().getNamespace(), loser.getMetadata().getName(),
            Conditions.ACCEPTED, "False", Reason.PORT_CONFLICT);
        assertThat(message(now)).contains(next.getMetadata().getNamespace() + "/" + next.getMetadata().getName());
      }
    } finally {
      client.namespaces().withName(other).delete();
    }
  }

  @Test
  void forwardsOnDifferentAddressesOrNodesShareAPort(KubernetesClient client, TestNamespace ns) {
    int port = uniquePort();
    client.resource(toService(ns.name(), "a", port, "web", 80,
        spec -> spec.getListen().setAddresses(List.of("192.0.2.10")))).create();
    client.resource(toService(ns.name(), "b", port, "web", 80,
        spec -> spec.getListen().setAddresses(List.of("192.0.2.11")))).create();
    awaitAccepted(client, ns.name(), "a");
    awaitAccepted(client, ns.name(), "b");
  }

  /**
   * A relay sidecar runs without capabilities and cannot bind below 1024: a Sidecar forward
   * through a Service whose targetPort is 80 is refused naming it, and accepted once it is 8080.
   */
  @Test
  void aSidecarForwardThroughAServiceTargetPortBelow1024IsRefused(KubernetesClient client, TestNamespace ns) {
    client.resource(service(ns.name(), "web", 80)).create(); // targetPort defaults to the port, 80
    client.resource(toService(ns.name(), "low", uniquePort(), "web", 80, spec -> {
      Relay relay = new Relay();
      relay.setMode(RelayMode.Sidecar);
      spec.setRelay(relay);
    })).create();

    assertThat(message(awaitCondition(client, ns.name(), "low", Conditions.ACCEPTED, "False", Reason.UNSUPPORTED_VALUE)))
        .contains("Service web has targetPort 80, below 1024");

    client.services().inNamespace(ns.name()).withName("web").edit(svc -> {
      svc.getSpec().getPorts().get(0).setTargetPort(new IntOrString(8080));
      return svc;
    });
    awaitAccepted(client, ns.name(), "low");
  }

  @Test
  void aPodsTargetsBackendsArePublishedPutBackAndWithdrawn(KubernetesClient client, TestNamespace ns) {
    ReadyPods.create(client, ns, "echo", "10.244.0.9");
    client.resource(PortForwards.of(ns.name(), "by-pods", ("listen: {port: %d, nodeSelector: {portforward.dev/test: %s}},"
        + " target: {pods: {selector: {app: echo}, port: 8080}}").formatted(uniquePort(), ns.name()))).create();
    Supplier<List<EndpointSlice>> published = () -> client.discovery().v1().endpointSlices().inNamespace(ns.name())
        .withLabel(ForwardSlices.FORWARD_LABEL, "by-pods").list().getItems();

    String name = await().atMost(WAIT).until(published::get, slices -> slices.size() == 1).get(0).getMetadata().getName();
    assertThat(published.get().get(0).getEndpoints()).singleElement()
        .satisfies(e -> assertThat(e.getAddresses()).containsExactly("10.244.0.9"));

    client.discovery().v1().endpointSlices().inNamespace(ns.name()).withName(name).delete();
    await("a deleted slice put back").atMost(WAIT).until(published::get, slices -> slices.size() == 1);

    // Refused (a privileged port): its backends are withdrawn.
    client.resources(PortForward.class).inNamespace(ns.name()).withName("by-pods").edit(pf -> {
      pf.getSpec().getListen().setPort(80);
      return pf;
    });
    awaitCondition(client, ns.name(), "by-pods", Conditions.ACCEPTED, "False", Reason.PRIVILEGED_PORT_NOT_ALLOWED);
    await("the refused forward's slices withdrawn").atMost(WAIT).until(published::get, List::isEmpty);
  }

  @Test
  void deletingRemovesTheFinalizerAndTheObject(KubernetesClient client, TestNamespace ns) {
    client.resource(toService(ns.name(), "gone", uniquePort(), "web", 80, spec -> {})).create();
    PortForward pf = awaitAccepted(client, ns.name(), "gone");
    assertThat(pf.getMetadata().getFinalizers()).isNotEmpty();

    client.resource(pf).delete();
    await().atMost(WAIT).until(() -> client.resources(PortForward.class).inNamespace(ns.name()).withName("gone").get() == null);
  }

  @Test
  void policyViolationsAreRefusedWithTheReason(KubernetesClient client, TestNamespace ns) {
    client.resource(toService(ns.name(), "privileged", 80, "web", 8080, spec -> {})).create();
    client.resource(external(ns.name(), "metadata", "169.254.169.254")).create();
    client.resource(external(ns.name(), "configured-deny", "198.51.100.7")).create();
    client.resource(external(ns.name(), "outside-allowed", "192.0.2.1")).create();
    client.resource(external(ns.name(), "by-name", "localhost")).create();
    client.resource(external(ns.name(), "allowed", "203.0.113.10")).create();
    // A selector-less Service whose endpoints point at a denied address (the API server already
    // refuses link-local and loopback endpoints, so the operator's own denylist is what is left).
    client.resource(service(ns.name(), "sneaky", 80)).create();
    client.resource(endpointSlice(ns.name(), "sneaky", "198.51.100.9", 80)).create();
    client.resource(toService(ns.name(), "sneaky", uniquePort(), "sneaky", 80, spec -> {})).create();

    assertThat(message(awaitCondition(client, ns.name(), "privileged", Conditions.ACCEPTED, "False", Reason.PRIVILEGED_PORT_NOT_ALLOWED)))
        .startsWith("listen.port 80 is privileged");
    assertThat(message(awaitCondition(client, ns.name(), "metadata", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED)))
        .contains("169.254.169.254", "link-local");
    assertThat(message(awaitCondition(client, ns.name(), "configured-deny", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED)))
        .contains("198.51.100.0/24", "denylist");
    assertThat(message(awaitCondition(client, ns.name(), "outside-allowed", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED)))
        .contains("outside the CIDRs allowed for external targets");
    assertThat(message(awaitCondition(client, ns.name(), "by-name", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED)))
        .contains("localhost", "127.0.0.1", "loopback");
    assertThat(message(awaitCondition(client, ns.name(), "sneaky", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED)))
        .contains("service/sneaky:80", "198.51.100.9");
    awaitAccepted(client, ns.name(), "allowed");
  }

  @Test
  void reconcilingAnUnchangedWorldWritesNothing(KubernetesClient client, TestNamespace ns, RoleProcess operator)
      throws Exception {
    client.resource(service(ns.name(), "web", 80)).create();
    client.resource(toService(ns.name(), "steady", uniquePort(), "web", 80, spec -> {})).create();
    String version = awaitCondition(client, ns.name(), "steady", Conditions.RESOLVED_REFS, "True", Reason.RESOLVED_REFS)
        .getMetadata().getResourceVersion();

    for (int i = 0; i < 5; i++) {
      double before = reconciles(operator, ns.name(), "steady");
      // Any change to the Service wakes the PortForward that refers to it.
      client.services().inNamespace(ns.name()).withName("web").edit(s -> {
        s.getMetadata().setLabels(java.util.Map.of("touch", String.valueOf(System.nanoTime())));
        return s;
      });
      await().atMost(WAIT).until(() -> reconciles(operator, ns.name(), "steady") > before);
    }
    assertThat(client.resources(PortForward.class).inNamespace(ns.name()).withName("steady").get()
        .getMetadata().getResourceVersion()).isEqualTo(version);
  }

  @Test
  void aKilledOperatorRestartsAndConvergesWithoutRewritingSettledStatus(
      KubernetesClient client, TestNamespace ns, RoleProcess operator) throws Exception {
    client.resource(service(ns.name(), "web", 80)).create();
    client.resource(toService(ns.name(), "settled", uniquePort(), "web", 80, spec -> {})).create();
    client.resource(toService(ns.name(), "waiting", uniquePort(), "later", 80, spec -> {})).create();
    String settled = awaitCondition(client, ns.name(), "settled", Conditions.RESOLVED_REFS, "True", Reason.RESOLVED_REFS)
        .getMetadata().getResourceVersion();
    awaitCondition(client, ns.name(), "waiting", Conditions.RESOLVED_REFS, "False", Reason.SERVICE_NOT_FOUND);

    operator.kill();
    client.resource(service(ns.name(), "later", 80)).create();
    RoleProcess restarted = operator.start();

    awaitCondition(client, ns.name(), "waiting", Conditions.RESOLVED_REFS, "True", Reason.RESOLVED_REFS);
    await().atMost(WAIT).until(() -> reconciles(restarted, ns.name(), "settled") >= 1);
    assertThat(client.resources(PortForward.class).inNamespace(ns.name()).withName("settled").get()
        .getMetadata().getResourceVersion()).isEqualTo(settled);
    await().atMost(WAIT).untilAsserted(() -> assertThat(events(client, ns.name(), "waiting"))
        .filteredOn(e -> Reason.RESOLVED_REFS.equals(e.getReason())).hasSize(1));
  }

  @Test
  void healthAndMetricsAreServed(KubernetesClient client, TestNamespace ns, RoleProcess operator) throws Exception {
    client.resource(toService(ns.name(), "measured", uniquePort(), "web", 80, spec -> {})).create();
    awaitAccepted(client, ns.name(), "measured");
    assertThat(operator.get("/q/health/live").statusCode()).isEqualTo(200);
    assertThat(operator.get("/q/health/ready").body()).contains("\"status\": \"UP\"");
    assertThat(operator.get("/q/metrics").body())
        .contains("operator_sdk_reconciliations_success_total", "operator_sdk_controllers_execution_reconcile_seconds");
  }

  /** How many reconciles of one forward the operator counted (per-resource metrics, on in tests). */
  static double reconciles(RoleProcess operator, String namespace, String name) throws Exception {
    Matcher m = Pattern.compile(
            "^operator_sdk_reconciliations_success_total\\{[^}]*name=\"" + name + "\",namespace=\"" + namespace
                + "\"[^}]*} (\\S+)$", Pattern.MULTILINE)
        .matcher(operator.get("/q/metrics").body());
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private static PortForward third(KubernetesClient client, TestNamespace ns) {
    return client.resources(PortForward.class).inNamespace(ns.name()).withName("third").get();
  }

  private static String message(PortForward pf) {
    return condition(pf, Conditions.ACCEPTED).orElseThrow().getMessage();
  }

  private static List<Event> events(KubernetesClient client, String namespace, String name) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> name.equals(e.getInvolvedObject().getName()))
        .toList();
  }

  private static PortForward external(String namespace, String name, String host) {
    return toService(namespace, name, uniquePort(), "unused", 80, spec -> {
      Target target = new Target();
      ExternalTarget external = new ExternalTarget();
      external.setHost(host);
      external.setPort(443);
      target.setExternal(external);
      spec.setTarget(target);
    });
  }

  static Service service(String namespace, String name, int port) {
    return new ServiceBuilder()
        .withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
        .withNewSpec().addNewPort().withName("main").withPort(port).withProtocol("TCP").endPort().endSpec()
        .build();
  }

  static io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice endpointSlice(
      String namespace, String service, String address, int port) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withNamespace(namespace).withGenerateName(service + "-")
        .addToLabels("kubernetes.io/service-name", service).endMetadata()
        .withAddressType(address.contains(":") ? "IPv6" : "IPv4")
        .addNewPort().withName("main").withPort(port).withProtocol("TCP").endPort()
        .addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint()
        .build();
  }
}
