package dev.portforward.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.tuple;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardPolicy;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.RelayMode;
import dev.portforward.api.v1alpha1.WeightedService;
import dev.portforward.testbed.RealCluster;
import dev.portforward.testbed.TestNamespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CRD in crds/, installed in a real API server, rejects bad PortForwards with an error that
 * names the field, before any operator sees them.
 */
@ExtendWith(RealCluster.class)
class CrdValidationIT {

  private static final String SERVICE_TARGET = "target: {service: {name: web, port: 8080}}";
  /** One more than target.services may hold. */
  private static final String SEVENTEEN_SERVICES = IntStream.range(0, 17)
      .mapToObj(i -> "{name: web" + i + ", port: 8080}").collect(Collectors.joining(", "));

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      port 0            | listen: {port: 0}, %1$s                      | spec.listen.port: Invalid value: 0: spec.listen.port in body should be greater than or equal to 1
      port -1           | listen: {port: -1}, %1$s                     | spec.listen.port: Invalid value: -1: spec.listen.port in body should be greater than or equal to 1
      port 65536        | listen: {port: 65536}, %1$s                  | spec.listen.port: Invalid value: 65536: spec.listen.port in body should be less than or equal to 65535
      string port       | listen: {port: "80"}, %1$s                   | spec.listen.port: Invalid value: "string": spec.listen.port in body must be of type integer: "string"
      unknown protocol  | protocol: SCTP, listen: {port: 8080}, %1$s   | spec.protocol: Unsupported value: "SCTP": supported values: "TCP", "UDP"
      no target         | listen: {port: 8080}                         | spec.target: Required value: spec.target is required: set exactly one of service, services, pods or external
      two targets       | listen: {port: 8080}, target: {service: {name: web, port: 80}, pods: {selector: {app: web}, port: 80}} | spec.target: Invalid value: target must set exactly one of service, services, pods or external
      invalid CIDR      | listen: {port: 8080}, %1$s, sourceRanges: [10.0.0.1/33] | spec.sourceRanges: Invalid value: sourceRanges must be CIDRs such as 10.0.0.0/8 or 2001:db8::/32
      listen address    | listen: {port: 8080, addresses: [eth0]}, %1$s | spec.listen.addresses: Invalid value: listen.addresses must be IP addresses such as 192.0.2.10 or 2001:db8::10
      service port 0    | listen: {port: 8080}, target: {service: {name: web, port: 0}} | spec.target.service.port: Invalid value: 0: spec.target.service.port in body should be greater than or equal to 1
      services and service | listen: {port: 8080}, target: {service: {name: web, port: 80}, services: [{name: web, port: 80}]} | spec.target: Invalid value: target must set exactly one of service, services, pods or external
      17 services       | listen: {port: 8080}, target: {services: [%2$s]} | spec.target.services: Too many: 17: must have at most 16 items
      no services       | listen: {port: 8080}, target: {services: []} | spec.target.services: Invalid value: 0: spec.target.services in body should have at least 1 items
      weight -1         | listen: {port: 8080}, target: {services: [{name: a, port: 80, weight: -1}]} | spec.target.services[0].weight: Invalid value: -1: spec.target.services[0].weight in body should be greater than or equal to 0
      weight 1000001    | listen: {port: 8080}, target: {services: [{name: a, port: 80, weight: 1000001}]} | spec.target.services[0].weight: Invalid value: 1000001: spec.target.services[0].weight in body should be less than or equal to 1000000
      duplicate service | listen: {port: 8080}, target: {services: [{name: a, port: 80, weight: 1}, {name: a, port: 80, weight: 2}]} | spec.target.services: Invalid value: services must not name the same Service and port twice
      all weights 0     | listen: {port: 8080}, target: {services: [{name: a, port: 80, weight: 0}, {name: b, port: 80, weight: 0}]} | spec.target.services: Invalid value: services needs a weight above 0 on at least one Service: with all weights 0 nothing gets traffic
      route services 0  | listen: {port: 8080}, %1$s, routes: [{sourceRanges: [10.0.0.0/8], target: {services: [{name: a, port: 80, weight: 0}]}}] | spec.routes[0].target.services: Invalid value: services needs a weight above 0 on at least one Service
      proxy without relay | listen: {port: 8080}, %1$s, relay: {proxyProtocol: V2} | spec.relay: Invalid value: relay.proxyProtocol needs relay.mode Sidecar or Deployment: kernel DNAT cannot add a header
      idle without relay | listen: {port: 8080}, %1$s, relay: {idleTimeout: 30m} | spec.relay: Invalid value: relay.idleTimeout needs a relay: set relay.mode to Sidecar, Deployment or Socks5
      open SOCKS5       | listen: {port: 1080}, relay: {mode: Socks5, socks5: {allowedDestinations: [10.0.0.0/8]}} | spec: Required value: relay.mode Socks5 needs relay.socks5.usersSecretName or spec.sourceRanges: an open SOCKS5 proxy is not allowed
      SOCKS5 with target | listen: {port: 1080}, %1$s, sourceRanges: [10.0.0.0/8], relay: {mode: Socks5, socks5: {allowedDestinations: [10.0.0.0/8]}} | spec: Forbidden: spec.target must not be set with relay.mode Socks5
      routes with relay | listen: {port: 8080}, %1$s, relay: {mode: Deployment}, routes: [{sourceRanges: [10.0.0.0/8], target: {service: {name: admin, port: 80}}}] | spec: Forbidden: spec.routes needs relay.mode None: per-source targets are kernel rules, a relay carries one target
      UDP with PROXY    | protocol: UDP, listen: {port: 5353}, %1$s, relay: {mode: Deployment, proxyProtocol: V2} | spec: Invalid value: relay.proxyProtocol needs protocol TCP: the relay sends the header on TCP connections
      relay to pods     | listen: {port: 8080}, target: {pods: {selector: {app: web}, port: 8080}}, relay: {mode: Deployment} | spec.target: Invalid value: relay.mode Deployment needs a service or external target: a relay dials one address, so put a Service in front of the pods
      sidecar external  | listen: {port: 8080}, target: {external: {host: 203.0.113.7, port: 443}}, relay: {mode: Sidecar} | spec.target: Invalid value: relay.mode Sidecar needs a service or pods target: the sidecar runs next to the target pods
      sidecar port 80   | listen: {port: 8080}, target: {pods: {selector: {app: web}, port: 80}}, relay: {mode: Sidecar} | spec.target: Invalid value: relay.mode Sidecar needs target.pods.port from 1024 up: the sidecar runs without root or capabilities
      source rate 0     | listen: {port: 8080}, %1$s, relay: {maxConnectionsPerSecondPerSource: 0} | spec.relay.maxConnectionsPerSecondPerSource: Invalid value: 0: spec.relay.maxConnectionsPerSecondPerSource in body should be greater than or equal to 1
      source rate 100001 | listen: {port: 8080}, %1$s, relay: {maxConnectionsPerSecondPerSource: 100001} | spec.relay.maxConnectionsPerSecondPerSource: Invalid value: 100001: spec.relay.maxConnectionsPerSecondPerSource in body should be less than or equal to 100000
      no connections    | listen: {port: 8080}, %1$s, relay: {maxConnections: 0} | spec.relay.maxConnections: Invalid value: 0: spec.relay.maxConnections in body should be greater than or equal to 1
      external host     | listen: {port: 8080}, target: {external: {host: "evil host", port: 80}} | spec.target.external.host: Invalid value: "evil host": external.host must be an IP address or a lower-case DNS name
      FTP through relay | listen: {port: 2121}, %1$s, applicationProtocol: FTP, relay: {mode: Deployment} | spec.applicationProtocol: Invalid value: applicationProtocol FTP needs protocol TCP and relay.mode None: the node's kernel follows the FTP control connection to forward its data connections, which a relay cannot do
      FTP over UDP      | protocol: UDP, listen: {port: 2121}, %1$s, applicationProtocol: FTP | spec.applicationProtocol: Invalid value: applicationProtocol FTP needs protocol TCP and relay.mode None: the node's kernel follows the FTP control connection to forward its data connections, which a relay cannot do
      unknown app protocol | listen: {port: 2121}, %1$s, applicationProtocol: SIP | spec.applicationProtocol: Unsupported value: "SIP": supported values: "FTP", "None"
      """)
  void rejectsWithTheFieldAndTheReason(String description, String spec, String expected,
      KubernetesClient client, TestNamespace ns) {
    KubernetesClientException error = catchThrowableOfType(KubernetesClientException.class,
        () -> client.resource(yaml(ns, spec.formatted(SERVICE_TARGET, SEVENTEEN_SERVICES))).create());

    assertThat(error).as(description).isNotNull();
    assertThat(error.getCode()).isEqualTo(422);
    assertThat(error.getStatus().getMessage()).contains(expected);
  }

  @Test
  void rejectsTenThousandSourceRanges(KubernetesClient client, TestNamespace ns) {
    String ranges = IntStream.range(0, 10_000)
        .mapToObj(i -> "10." + (i / 256) % 256 + "." + i % 256 + ".0/24")
        .collect(Collectors.joining(", ", "[", "]"));
    KubernetesClientException error = catchThrowableOfType(KubernetesClientException.class,
        () -> client.resource(yaml(ns, "listen: {port: 8080}, " + SERVICE_TARGET + ", sourceRanges: " + ranges)).create());

    assertThat(error.getStatus().getMessage()).contains("spec.sourceRanges: Too many: 10000: must have at most 256 items");
  }

  @Test
  void acceptsAMinimalForwardAndFillsInTheDefaults(KubernetesClient client, TestNamespace ns) {
    client.resource(yaml(ns, "listen: {port: 8080}, target: {service: {name: web, port: 80}}, relay: {}")).create();

    PortForward pf = client.resources(PortForward.class).inNamespace(ns.name()).withName("pf").get();
    assertThat(pf.getSpec().getProtocol()).isEqualTo(Protocol.TCP);
    assertThat(pf.getSpec().getRelay().getMode()).isEqualTo(RelayMode.None);
  }

  @Test
  void acceptsWeightedServicesAndDefaultsTheWeightToOne(KubernetesClient client, TestNamespace ns) {
    client.resource(yaml(ns, "listen: {port: 8080}, target: {services: [{name: web-v1, port: 8080, weight: 0},"
        + " {name: web-v2, port: 8080}]}")).create();

    PortForward pf = client.resources(PortForward.class).inNamespace(ns.name()).withName("pf").get();
    assertThat(pf.getSpec().getTarget().getServices())
        .extracting(WeightedService::getName, WeightedService::getWeight)
        .containsExactly(tuple("web-v1", 0), tuple("web-v2", 1));
  }

  @Test
  void acceptsKernelLimitsWithoutARelay(KubernetesClient client, TestNamespace ns) {
    client.resource(yaml(ns, "listen: {port: 8080}, " + SERVICE_TARGET
        + ", relay: {maxConnections: 2, maxConnectionsPerSecondPerSource: 5}")).create();

    PortForward pf = client.resources(PortForward.class).inNamespace(ns.name()).withName("pf").get();
    assertThat(pf.getSpec().getRelay().getMode()).isEqualTo(RelayMode.None);
    assertThat(pf.getSpec().getRelay().getMaxConnections()).isEqualTo(2);
    assertThat(pf.getSpec().getRelay().getMaxConnectionsPerSecondPerSource()).isEqualTo(5);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      no spec           | bad | - | Required value: spec is required: a policy states the namespaces it selects
      reserved name     | default | {namespaceSelector: {}} | <nil>: Invalid value: the name default is reserved: status.policy says default for the operator's default policy
      no selector       | bad | {maxForwards: 3} | spec.namespaceSelector: Required value
      range backwards   | bad | {namespaceSelector: {}, listenPorts: [{from: 9000, to: 8000}]} | spec.listenPorts[0]: Invalid value: a port range's from must not be greater than its to
      port 0 granted    | bad | {namespaceSelector: {}, listenPorts: [{from: 0, to: 80}]} | spec.listenPorts[0].from: Invalid value: 0: spec.listenPorts[0].from in body should be greater than or equal to 1
      no ranges         | bad | {namespaceSelector: {}, listenPorts: []} | spec.listenPorts: Invalid value: 0: spec.listenPorts in body should have at least 1 items
      unknown mode      | bad | {namespaceSelector: {}, relayModes: [Tunnel]} | spec.relayModes[0]: Unsupported value: "Tunnel": supported values: "Deployment", "None", "Sidecar", "Socks5"
      empty externals   | bad | {namespaceSelector: {}, externalTargets: {}} | spec.externalTargets: Required value: externalTargets must list at least one of cidrs or hosts; leave externalTargets out to grant none
      bad CIDR          | bad | {namespaceSelector: {}, externalTargets: {cidrs: [10.0.0.0/33]}} | spec.externalTargets.cidrs: Invalid value: externalTargets.cidrs must be CIDRs such as 203.0.113.0/24 or 2001:db8::/32
      bad host          | bad | {namespaceSelector: {}, externalTargets: {hosts: ["DB.example.com"]}} | spec.externalTargets.hosts: Invalid value: externalTargets.hosts must be lower-case DNS names such as db.example.com, or *.example.com for its subdomains
      bare wildcard     | bad | {namespaceSelector: {}, externalTargets: {hosts: ["*"]}} | spec.externalTargets.hosts: Invalid value: externalTargets.hosts must be lower-case DNS names such as db.example.com, or *.example.com for its subdomains
      gateway no ports  | bad | {namespaceSelector: {}, gateway: {}} | spec.gateway.externalPorts: Required value
      negative limit    | bad | {namespaceSelector: {}, maxForwards: -1} | spec.maxForwards: Invalid value: -1: spec.maxForwards in body should be greater than or equal to 0
      precedence high   | bad | {namespaceSelector: {}, precedence: 10001} | spec.precedence: Invalid value: 10001: spec.precedence in body should be less than or equal to 10000
      In without values | bad | {namespaceSelector: {matchExpressions: [{key: team, operator: In}]}} | spec.namespaceSelector.matchExpressions[0]: Required value: values must be non-empty when operator is In or NotIn
      Exists with values | bad | {namespaceSelector: {matchExpressions: [{key: team, operator: Exists, values: [a]}]}} | spec.namespaceSelector.matchExpressions[0]: Forbidden: values must be empty when operator is Exists or DoesNotExist
      unknown operator  | bad | {namespaceSelector: {matchExpressions: [{key: team, operator: Equals, values: [a]}]}} | spec.namespaceSelector.matchExpressions[0].operator: Unsupported value: "Equals": supported values: "DoesNotExist", "Exists", "In", "NotIn"
      """)
  void rejectsABadPolicyWithTheFieldAndTheReason(String description, String name, String spec, String expected,
      KubernetesClient client) {
    KubernetesClientException error = catchThrowableOfType(KubernetesClientException.class,
        () -> client.resource(policyYaml(name, spec.equals("-") ? null : spec)).create());

    assertThat(error).as(description).isNotNull();
    assertThat(error.getCode()).isEqualTo(422);
    assertThat(error.getStatus().getMessage()).contains(expected);
  }

  @Test
  void acceptsAPolicyAndFillsInThePrecedence(KubernetesClient client) {
    String name = "p-" + java.util.UUID.randomUUID().toString().substring(0, 8);
    client.resource(policyYaml(name, "{namespaceSelector: {matchLabels: {team: a}},"
        + " listenPorts: [{from: 80, to: 80}], relayModes: [None, Socks5], externalTargets: {hosts:"
        + " [db.example.com, \"*.example.net\"]}, gateway: {externalPorts: [{from: 30000, to: 30099}]},"
        + " maxForwards: 0}")).create();
    try {
      // Read as stored, not through the Java model (whose field has the same default).
      Object spec = client.genericKubernetesResources("portforward.dev/v1alpha1", "PortForwardPolicy")
          .withName(name).get().getAdditionalProperties().get("spec");
      assertThat(spec).asInstanceOf(InstanceOfAssertFactories.MAP)
          .containsEntry("precedence", 1000).containsEntry("maxForwards", 0);
    } finally {
      client.resources(PortForwardPolicy.class).withName(name).delete();
    }
  }

  private static String policyYaml(String name, String spec) {
    return """
        apiVersion: portforward.dev/v1alpha1
        kind: PortForwardPolicy
        metadata: {name: %s}
        """.formatted(name) + (spec == null ? "" : "spec: " + spec + "\n");
  }

  private static String yaml(TestNamespace ns, String spec) {
    return """
        apiVersion: portforward.dev/v1alpha1
        kind: PortForward
        metadata: {name: pf, namespace: %s}
        spec: {%s}
        """.formatted(ns.name(), spec);
  }
}
