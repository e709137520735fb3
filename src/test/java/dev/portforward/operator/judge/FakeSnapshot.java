package dev.portforward.operator.judge;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.operator.policy.ApiServer;
import dev.portforward.operator.policy.ForwardPolicy;
import dev.portforward.operator.policy.PortClaims;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A snapshot held in plain collections, as a test writes the cluster it needs. */
final class FakeSnapshot implements Snapshot {

  ForwardPolicy policy;
  ApiServer apiServer = new ApiServer(List.of(), List.of());
  final List<PortForward> portForwards = new ArrayList<>();
  final List<Service> services = new ArrayList<>();
  final List<EndpointSlice> endpointSlices = new ArrayList<>();
  final List<Pod> pods = new ArrayList<>();
  final List<Node> nodes = new ArrayList<>();
  final Map<String, PortForwardNodeReport> reports = new HashMap<>();
  final List<Deployment> deployments = new ArrayList<>();
  final Map<String, List<InetAddress>> hosts = new HashMap<>();

  FakeSnapshot(ForwardPolicy policy) {
    this.policy = policy;
  }

  @Override
  public Optional<Service> service(String namespace, String name) {
    return services.stream().filter(s -> is(s.getMetadata(), namespace, name)).findFirst();
  }

  @Override
  public List<EndpointSlice> endpointSlices(String namespace, String service) {
    return endpointSlices.stream()
        .filter(s -> namespace.equals(s.getMetadata().getNamespace()))
        .filter(s -> service.equals(s.getMetadata().getLabels().get("kubernetes.io/service-name")))
        .toList();
  }

  @Override
  public List<Pod> pods(String namespace) {
    return pods.stream().filter(p -> namespace.equals(p.getMetadata().getNamespace())).toList();
  }

  @Override
  public ForwardPolicy policy(String namespace) {
    return policy;
  }

  @Override
  public List<PortForward> forwards(String namespace) {
    return portForwards.stream().filter(pf -> namespace.equals(pf.getMetadata().getNamespace())).toList();
  }

  @Override
  public List<PortForward> claimants(String claimKey) {
    return portForwards.stream().filter(pf -> PortClaims.key(pf).equals(claimKey)).toList();
  }

  @Override
  public List<Node> nodes() {
    return nodes;
  }

  @Override
  public Optional<PortForwardNodeReport> report(String node) {
    return Optional.ofNullable(reports.get(node));
  }

  @Override
  public Optional<Deployment> relayDeployment(String namespace, String name) {
    return deployments.stream().filter(d -> is(d.getMetadata(), namespace, name)).findFirst();
  }

  @Override
  public ApiServer apiServer() {
    return apiServer;
  }

  @Override
  public InetAddress[] lookup(String host) throws UnknownHostException {
    List<InetAddress> found = hosts.get(host);
    if (found == null) {
      throw new UnknownHostException(host);
    }
    return found.toArray(InetAddress[]::new);
  }

  private static boolean is(ObjectMeta meta, String namespace, String name) {
    return namespace.equals(meta.getNamespace()) && name.equals(meta.getName());
  }
}
