package dev.portforward.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.Protocol;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ReservedPortsTest {

  private final ReservedPorts defaults = ReservedPorts.from(Settings.defaults(), ReservedPorts.ownPorts(9443, 15020));

  @ParameterizedTest(name = "{0}/{1}: {2}")
  @CsvSource(delimiter = '|', textBlock = """
      TCP | 22    | SSH
      TCP | 53    | DNS
      UDP | 53    | DNS
      TCP | 179   | BGP (Calico, Cilium, MetalLB)
      TCP | 2379  | etcd
      TCP | 2380  | etcd
      TCP | 4240  | Cilium health checks
      TCP | 4244  | Cilium Hubble
      UDP | 4789  | VXLAN overlay
      UDP | 6081  | Geneve overlay
      TCP | 6443  | Kubernetes API server
      UDP | 8472  | VXLAN overlay (Flannel, Cilium)
      TCP | 10248 | kubelet health
      TCP | 10249 | kube-proxy metrics
      TCP | 10250 | kubelet API
      TCP | 10255 | kubelet read-only API
      TCP | 10256 | kube-proxy health
      TCP | 10257 | kube-controller-manager
      TCP | 10259 | kube-scheduler
      UDP | 51820 | WireGuard
      UDP | 51821 | WireGuard
      TCP | 30000 | the Service NodePort range 30000-32767
      UDP | 32767 | the Service NodePort range 30000-32767
      TCP | 9471  | portforward agent health and metrics
      TCP | 9443  | portforward operator webhook
      TCP | 9102  | portforward relay health and metrics
      TCP | 10000 | portforward relay listener
      UDP | 10000 | portforward relay listener
      TCP | 15020 | portforward relay sidecar health and metrics
      """)
  void reservedByDefault(Protocol protocol, int port, String what) {
    Refusal refusal = defaults.check(protocol, port).orElseThrow();
    assertThat(refusal.reason()).isEqualTo(Reason.RESERVED_PORT);
    assertThat(refusal.message()).startsWith("listen.port " + port + " is reserved: " + what + ";");
  }

  @ParameterizedTest(name = "{0}/{1}")
  @CsvSource(delimiter = '|', textBlock = """
      TCP | 8080
      TCP | 443
      UDP | 10250
      TCP | 8472
      TCP | 51820
      TCP | 2378
      TCP | 2381
      TCP | 29999
      TCP | 32768
      """)
  void freeByDefault(Protocol protocol, int port) {
    assertThat(defaults.check(protocol, port)).isEmpty();
  }

  @Test
  void theAdminAddsPortsAndRangesForOneOrBothProtocols() {
    ReservedPorts ports = ReservedPorts.from(
        Settings.defaults().withReserved(List.of("8443/TCP=the ingress controller", "7000-7002 = storage"), List.of(),
            "30000-32767"),
        List.of());
    assertThat(ports.check(Protocol.TCP, 8443).orElseThrow().message())
        .startsWith("listen.port 8443 is reserved: the ingress controller;");
    assertThat(ports.check(Protocol.UDP, 8443)).isEmpty();
    assertThat(ports.check(Protocol.UDP, 7001).orElseThrow().message()).contains("storage");
  }

  @Test
  void releasedPortsWinOverEveryReservation() {
    ReservedPorts ports = ReservedPorts.from(
        Settings.defaults().withReserved(List.of("8443=mine"), List.of("10255/TCP", "8443", "30000-30099"),
            "30000-32767"),
        List.of());
    assertThat(ports.check(Protocol.TCP, 10255)).isEmpty();
    assertThat(ports.check(Protocol.TCP, 10250)).isPresent();
    assertThat(ports.check(Protocol.TCP, 8443)).isEmpty();
    assertThat(ports.check(Protocol.TCP, 30080)).isEmpty();
    assertThat(ports.check(Protocol.TCP, 30100)).isPresent();
  }

  @Test
  void theNodePortRangeIsASetting() {
    ReservedPorts ports = ReservedPorts.from(Settings.defaults().withReserved(List.of(), List.of(), "20000-22767"),
        List.of());
    assertThat(ports.check(Protocol.TCP, 20080).orElseThrow().message())
        .contains("the Service NodePort range 20000-22767");
    assertThat(ports.check(Protocol.TCP, 30080)).isEmpty();
  }

  @Test
  void theApiServersOwnPortIsReserved() {
    ReservedPorts ports = defaults.withApiServer(new ApiServer(List.of(), List.of(16443)));
    assertThat(ports.check(Protocol.TCP, 16443).orElseThrow().message())
        .startsWith("listen.port 16443 is reserved: the Kubernetes API server (its endpoint in default/kubernetes)");
    assertThat(defaults.check(Protocol.TCP, 16443)).isEmpty();
  }

  @Test
  void badEntriesAreRefusedAtStartUpNamingTheSetting() {
    assertThatThrownBy(() -> from(List.of("8443"), List.of(), "30000-32767"))
        .hasMessageStartingWith("portforward.policy.reserved-ports[0]: \"8443\" must be PORT[-PORT][/TCP|/UDP]=");
    assertThatThrownBy(() -> from(List.of("1=a", "99999=b"), List.of(), "30000-32767"))
        .hasMessageStartingWith("portforward.policy.reserved-ports[1]: \"99999\" must satisfy");
    assertThatThrownBy(() -> from(List.of(), List.of("ssh"), "30000-32767"))
        .hasMessageStartingWith("portforward.policy.unreserved-ports[0]: \"ssh\" is not PORT");
    assertThatThrownBy(() -> from(List.of(), List.of(), "32767-30000"))
        .hasMessageStartingWith("portforward.policy.node-port-range: \"32767-30000\" must satisfy");
  }

  private static Optional<ReservedPorts> from(List<String> reserved, List<String> unreserved, String nodePorts) {
    return Optional.of(ReservedPorts.from(Settings.defaults().withReserved(reserved, unreserved, nodePorts), List.of()));
  }
}
