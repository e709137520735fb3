package dev.portforward.operator;

import static dev.portforward.testbed.PortForwards.uniquePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.portforward.api.v1alpha1.Conditions;
import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.testbed.ControlPlane;
import dev.portforward.testbed.PortForwards;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.RoleProcess;
import dev.portforward.testbed.SharedOperator;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The API server's endpoints as the cluster lists them. The shared test bed's API server keeps
 * no endpoints (it advertises 127.0.0.1, which no endpoint may hold), so this test runs a control
 * plane of its own whose API server advertises an address and writes the {@code kubernetes}
 * EndpointSlice, as a cluster's does, and an operator of its own against it. A tenant's
 * EndpointSlice that leads a forward to that endpoint is refused naming the API server.
 */
class ApiServerEndpointsIT {

  /** TEST-NET-1: only written into the kubernetes Service's endpoints; nothing dials it. */
  private static final String ADVERTISED = "192.0.2.10";
  private static final Duration WAIT = Duration.ofMinutes(2);

  @Test
  void aTargetAtTheApiServersEndpointIsDenied() throws Exception {
    Path target = Files.createDirectories(ControlPlane.projectRoot().resolve("target"));
    try (ControlPlane cp = ControlPlane.startAdvertising(Files.createTempDirectory(target, "testbed-endpoints-"),
        ADVERTISED); KubernetesClient client = RealCluster.clientFor(cp)) {
      RealCluster.installCrds(client);
      EndpointSlice apiServer = await("the kubernetes EndpointSlice").atMost(WAIT).until(
          () -> client.discovery().v1().endpointSlices().inNamespace("default")
              .withLabel("kubernetes.io/service-name", "kubernetes").list().getItems(),
          slices -> !slices.isEmpty()).get(0);
      assertThat(apiServer.getEndpoints()).flatExtracting(e -> e.getAddresses()).containsExactly(ADVERTISED);
      int apiPort = apiServer.getPorts().get(0).getPort();

      String ns = "t-endpoints";
      client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
      client.resource(PortForwardOperatorIT.service(ns, "api", apiPort)).create();
      client.resource(PortForwardOperatorIT.endpointSlice(ns, "api", ADVERTISED, apiPort)).create();
      RoleProcess operator = RoleProcess.operator(cp, SharedOperator.TEST_SETTINGS);
      try {
        operator.start();
        client.resource(PortForwards.of(ns, "sneaky",
            "listen: {port: " + uniquePort() + "}, target: {service: {name: api, port: " + apiPort + "}}")).create();

        PortForward refused = await("refused").atMost(WAIT).until(
            () -> client.resources(PortForward.class).inNamespace(ns).withName("sneaky").get(),
            pf -> PortForwards.condition(pf, Conditions.ACCEPTED)
                .filter(c -> "False".equals(c.getStatus()) && Reason.TARGET_DENIED.equals(c.getReason())).isPresent());
        assertThat(PortForwards.condition(refused, Conditions.ACCEPTED).orElseThrow().getMessage())
            .startsWith("target service/api:" + apiPort + " resolves to " + ADVERTISED + ", which is the API server");
      } finally {
        operator.close();
      }
    }
  }
}
