package dev.portforward.operator.target;

import static org.assertj.core.api.Assertions.assertThat;

import dev.portforward.api.v1alpha1.Conditions.Reason;
import dev.portforward.api.v1alpha1.ExternalTarget;
import dev.portforward.api.v1alpha1.PodsTarget;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.api.v1alpha1.ServiceTarget;
import dev.portforward.api.v1alpha1.Target;
import dev.portforward.common.Cidr;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TargetResolverTest {

  private Service service;
  private List<EndpointSlice> slices = List.of();
  private List<Pod> pods = List.of();

  private final ClusterView cluster = new ClusterView() {
    @Override public Optional<Service> service(String namespace, String name) {
      return Optional.ofNullable(service).filter(s -> s.getMetadata().getName().equals(name));
    }
    @Override public List<EndpointSlice> endpointSlices(String namespace, String name) {
      return slices;
    }
    @Override public List<Pod> pods(String namespace) {
      return pods;
    }
  };
  private final TargetResolver resolver = new TargetResolver(cluster, host -> {
    if (host.equals("db.internal")) {
      return new InetAddress[] {Cidr.parseAddress("203.0.113.7")};
    }
    throw new UnknownHostException(host);
  });

  @Test
  void aMissingServiceOrPortIsNamed() {
    assertThat(resolver.resolve("n", service("web", 80), Protocol.TCP))
        .isEqualTo(new Resolution(false, Reason.SERVICE_NOT_FOUND, "Service web not found in namespace n", List.of()));

    service = new ServiceBuilder().withNewMetadata().withName("web").endMetadata()
        .withNewSpec().addNewPort().withPort(443).withProtocol("TCP").endPort().addNewPort().withPort(80)
        .withProtocol("UDP").endPort().endSpec().build();
    Resolution wrongPort = resolver.resolve("n", service("web", 80), Protocol.TCP);
    assertThat(wrongPort.reason()).isEqualTo(Reason.SERVICE_PORT_NOT_FOUND);
    assertThat(wrongPort.message()).isEqualTo("Service web has no TCP port 80; its ports are 443/TCP, 80/UDP");
  }

  @Test
  void serviceEndpointsComeFromTheSlicePortOfTheSameName() {
    service = new ServiceBuilder().withNewMetadata().withName("web").endMetadata()
        .withNewSpec().addNewPort().withName("http").withPort(80).withProtocol("TCP").endPort().endSpec().build();
    slices = List.of(new EndpointSliceBuilder().withAddressType("IPv4")
        .addNewPort().withName("http").withPort(8080).endPort()
        .addNewEndpoint().withAddresses("10.244.0.5").withNewConditions().withReady(true).endConditions().endEndpoint()
        .addNewEndpoint().withAddresses("10.244.0.6").withNewConditions().withReady(false).endConditions().endEndpoint()
        .build());

    Resolution r = resolver.resolve("n", service("web", 80), Protocol.TCP);
    assertThat(r.resolved()).isTrue();
    assertThat(r.backends()).containsExactly(
        new Backend(Cidr.parseAddress("10.244.0.5"), 8080, true),
        new Backend(Cidr.parseAddress("10.244.0.6"), 8080, false));
    assertThat(r.message()).isEqualTo("Service web has 1 ready endpoint(s)");
  }

  @Test
  void podsMatchBySelectorAndCountWhenReady() {
    PodsTarget podsTarget = new PodsTarget();
    podsTarget.setSelector(Map.of("app", "web"));
    podsTarget.setPort(8080);
    Target target = new Target();
    target.setPods(podsTarget);

    assertThat(resolver.resolve("n", target, Protocol.TCP).message()).isEqualTo("no Pod in namespace n matches app=web");

    pods = List.of(pod("a", "web", "10.244.1.2", "True"), pod("b", "web", "10.244.1.3", "False"),
        pod("c", "db", "10.244.1.4", "True"));
    Resolution r = resolver.resolve("n", target, Protocol.TCP);
    assertThat(r.backends()).extracting(Backend::ready).containsExactly(true, false);
    assertThat(r.readyBackends()).isEqualTo(1);
  }

  @Test
  void externalNamesResolveOnceOrSayTheyDoNot() {
    assertThat(resolver.resolve("n", external("db.internal"), Protocol.TCP).backends())
        .containsExactly(new Backend(Cidr.parseAddress("203.0.113.7"), 5432, true));
    assertThat(resolver.resolve("n", external("nowhere.internal"), Protocol.TCP).reason())
        .isEqualTo(Reason.HOST_NOT_FOUND);
    assertThat(TargetResolver.describe(external("db.internal"))).isEqualTo("external/db.internal:5432");
  }

  private static Target service(String name, int port) {
    ServiceTarget svc = new ServiceTarget();
    svc.setName(name);
    svc.setPort(port);
    Target target = new Target();
    target.setService(svc);
    return target;
  }

  private static Target external(String host) {
    ExternalTarget external = new ExternalTarget();
    external.setHost(host);
    external.setPort(5432);
    Target target = new Target();
    target.setExternal(external);
    return target;
  }

  private static Pod pod(String name, String app, String ip, String ready) {
    return new PodBuilder().withNewMetadata().withName(name).addToLabels("app", app).endMetadata()
        .withNewStatus().withPodIP(ip).addNewCondition().withType("Ready").withStatus(ready).endCondition()
        .endStatus().build();
  }
}
