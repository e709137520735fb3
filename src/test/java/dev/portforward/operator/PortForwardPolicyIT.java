package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.awaitAccepted;
import static dev.portforward.testbed.PortForwards.awaitCondition;
import static dev.portforward.testbed.PortForwards.condition;
import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.SharedOperator;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Per-namespace policy against a real API server and the packaged operator: a PortForwardPolicy
 * grants what its namespace's labels select it for, the grant goes with the label, refusals name
 * the policy, and its forward limit holds the newest back until a slot frees.
 */
@ExtendWith({RealCluster.class, SharedOperator.class})
class PortForwardPolicyIT {

  /** Each test's policy selects only its own namespace, so other tests keep the default. */
  private static final String LABEL = "portforward.dev/policy-test";

  private KubernetesClient client;
  private String policyName;

  @AfterEach
  void deletePolicy() {
    if (client != null && policyName != null) {
      client.resources(PortForwardPolicy.class).withName(policyName).delete();
    }
  }

  @Test
  void aLabelGrantsThePolicyAndTakesItAwayAgain(KubernetesClient client, TestNamespace ns) {
    PortForward pf = external(ns.name(), "ext", "192.0.2.10");
    client.resource(pf).create();

    // No policy selects the namespace: the default (external targets in 203.0.113.0/24 only).
    PortForward refused = awaitCondition(client, ns.name(), "ext", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED);
    assertThat(message(refused)).isEqualTo("external target 192.0.2.10 resolves to 192.0.2.10, outside the CIDRs"
        + " allowed for external targets [203.0.113.0/24] by the operator's default policy");
    assertThat(refused.getStatus().getPolicy()).isEqualTo("default");

    createPolicy(client, ns, "maxForwards: 10, externalTargets: {cidrs: [192.0.2.0/24]}");
    label(client, ns, ns.name());

    PortForward granted = awaitAccepted(client, ns.name(), "ext");
    assertThat(granted.getStatus().getPolicy()).isEqualTo(policyName);

    // The policy grants ports from 1024 only: a refusal names it.
    client.resource(PortForwards.of(ns.name(), "privileged",
        "listen: {port: 80}, target: {service: {name: web, port: 8080}}")).create();
    assertThat(message(awaitCondition(client, ns.name(), "privileged", Conditions.ACCEPTED, "False",
        Reason.PRIVILEGED_PORT_NOT_ALLOWED))).isEqualTo("listen.port 80 is privileged (below 1024) and"
            + " PortForwardPolicy " + policyName + " does not allow privileged ports; use a port from 1024 up or ask"
            + " an administrator to grant it (spec.listenPorts)");

    label(client, ns, null);

    PortForward revoked = awaitCondition(client, ns.name(), "ext", Conditions.ACCEPTED, "False", Reason.TARGET_DENIED);
    assertThat(message(revoked)).endsWith("by the operator's default policy");
    assertThat(revoked.getStatus().getPolicy()).isEqualTo("default");
  }

  @Test
  void theForwardLimitRefusesTheNewestAndAdmitsItAfterADelete(KubernetesClient client, TestNamespace ns) {
    label(client, ns, ns.name());
    createPolicy(client, ns, "maxForwards: 2");
    create(client, ns, "first");
    awaitAccepted(client, ns.name(), "first");
    create(client, ns, "second");
    awaitAccepted(client, ns.name(), "second");

    // Sorts first by name, but came last: the accepted forwards keep their slots.
    create(client, ns, "a-third");

    PortForward limited = awaitCondition(client, ns.name(), "a-third", Conditions.ACCEPTED, "False",
        Reason.FORWARD_LIMIT_REACHED);
    assertThat(message(limited)).isEqualTo("namespace " + ns.name() + " is at the limit of 2 PortForward(s) that"
        + " PortForwardPolicy " + policyName + " allows (spec.maxForwards), and this one is newer than those holding"
        + " the slots; delete one, or ask an administrator to raise the limit");
    assertThat(condition(limited, Conditions.PROGRAMMED)).get().extracting(Condition::getReason)
        .isEqualTo(Reason.NOT_ACCEPTED);

    client.resources(PortForward.class).inNamespace(ns.name()).withName("first").delete();

    assertThat(awaitAccepted(client, ns.name(), "a-third").getStatus().getPolicy()).isEqualTo(policyName);
    assertThat(condition(client.resources(PortForward.class).inNamespace(ns.name()).withName("second").get(),
        Conditions.ACCEPTED)).get().extracting(Condition::getStatus).isEqualTo("True");
  }

  /** A policy selecting this test's namespace by its label, with these grants (spec fields). */
  private void createPolicy(KubernetesClient client, TestNamespace ns, String grants) {
    this.client = client;
    this.policyName = "policy-" + ns.name();
    client.resource(Serialization.unmarshal("""
        apiVersion: portforward.dev/v1alpha1
        kind: PortForwardPolicy
        metadata: {name: %s}
        spec: {namespaceSelector: {matchLabels: {%s: %s}}, %s}
        """.formatted(policyName, LABEL, ns.name(), grants), PortForwardPolicy.class)).create();
  }

  /** Sets this test's label on its namespace, or removes it ({@code value} null). */
  private static void label(KubernetesClient client, TestNamespace ns, String value) {
    client.namespaces().withName(ns.name()).edit(n -> {
      Map<String, String> labels = new java.util.HashMap<>(
          n.getMetadata().getLabels() == null ? Map.of() : n.getMetadata().getLabels());
      if (value == null) {
        labels.remove(LABEL);
      } else {
        labels.put(LABEL, value);
      }
      n.getMetadata().setLabels(labels);
      return n;
    });
  }

  /** A forward no node selects, so only acceptance is at stake. */
  private static void create(KubernetesClient client, TestNamespace ns, String name) {
    client.resource(PortForwards.of(ns.name(), name, "listen: {port: " + uniquePort() + ", nodeSelector: {"
        + LABEL + ": none}}, target: {service: {name: web, port: 8080}}")).create();
  }

  private static PortForward external(String namespace, String name, String host) {
    return PortForwards.of(namespace, name, "listen: {port: " + uniquePort() + ", nodeSelector: {" + LABEL
        + ": none}}, target: {external: {host: \"" + host + "\", port: 443}}");
  }

  private static String message(PortForward pf) {
    return condition(pf, Conditions.ACCEPTED).orElseThrow().getMessage();
  }
}
