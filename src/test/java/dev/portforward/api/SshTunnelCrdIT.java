package dev.portforward.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.portforward.api.v1alpha1.SshTunnel;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The SSHTunnel CRD in crds/, installed in a real API server, rejects bad tunnels naming the field. */
@ExtendWith(RealCluster.class)
class SshTunnelCrdIT {

  private static final String KEYS = "authorizedKeys: {name: alice-keys}";

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      no users          | users: []                                                   | spec.users: Invalid value: 0: spec.users in body should have at least 1 items
      same user twice   | users: [{name: alice, %1$s}, {name: alice, %1$s}]           | spec.users: Invalid value: users[].name must be unique
      user name         | users: [{name: Alice, %1$s}]                                | spec.users[0].name: Invalid value: "Alice": spec.users[0].name in body should match
      no keys           | users: [{name: alice}]                                      | spec.users[0].authorizedKeys: Required value
      privileged port   | users: [{name: alice, %1$s, remoteForwards: [{port: 80, serviceName: web}]}] | spec.users[0].remoteForwards[0].port: Invalid value: 80: spec.users[0].remoteForwards[0].port in body should be greater than or equal to 1024
      same port twice   | users: [{name: alice, %1$s, remoteForwards: [{port: 8080, serviceName: a}, {port: 8080, serviceName: b}]}] | remoteForwards[].port must be unique
      bad CIDR          | users: [{name: alice, %1$s, allowedDestinations: [10.0.0.0/33]}] | allowedDestinations must be CIDRs such as 10.0.0.0/8
      bad keepalive     | users: [{name: alice, %1$s}], keepalive: {timeout: 30sec}    | spec.keepalive.timeout: Invalid value: "30sec": spec.keepalive.timeout in body should match
      """)
  void rejectsWithTheFieldAndTheReason(String description, String spec, String expected,
      KubernetesClient client, TestNamespace ns) {
    KubernetesClientException error = catchThrowableOfType(KubernetesClientException.class,
        () -> client.resource(yaml(ns, spec.formatted(KEYS))).create());

    assertThat(error).as(description).isNotNull();
    assertThat(error.getCode()).isEqualTo(422);
    assertThat(error.getStatus().getMessage()).contains(expected);
  }

  @Test
  void acceptsATunnel(KubernetesClient client, TestNamespace ns) {
    client.resource(yaml(ns, "users: [{name: alice, " + KEYS + ", remoteForwards: [{port: 8080, serviceName: laptop-web}],"
        + " allowedDestinations: [10.0.0.0/8]}], keepalive: {interval: 10s, timeout: 30s}")).create();

    SshTunnel tunnel = client.resources(SshTunnel.class).inNamespace(ns.name()).withName("dev").get();
    assertThat(tunnel.getSpec().getUsers().get(0).getRemoteForwards().get(0).getServiceName()).isEqualTo("laptop-web");
  }

  private static String yaml(TestNamespace ns, String spec) {
    return """
        apiVersion: portforward.dev/v1alpha1
        kind: SSHTunnel
        metadata: {name: dev, namespace: %s}
        spec: {%s}
        """.formatted(ns.name(), spec);
  }
}
