package dev.portforward.operator;

import dev.portforward.api.v1alpha1.PortForward;
import dev.portforward.api.v1alpha1.PortForwardNodeReport;
import dev.portforward.operator.judge.Snapshot;
import dev.portforward.operator.policy.ApiServer;
import dev.portforward.operator.policy.ForwardPolicy;
import dev.portforward.operator.relays.RelayObjects;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The judge's snapshot read straight from the operator's informer caches: no API call per
 * reconcile (the API server's addresses are looked up once; external host names are resolved).
 */
final class InformerSnapshot implements Snapshot {

  /** The informers the snapshot reads. */
  record Caches(
      InformerEventSource<Service, PortForward> services,
      InformerEventSource<EndpointSlice, PortForward> endpointSlices,
      InformerEventSource<Pod, PortForward> pods,
      Function<String, List<PortForward>> claimants,
      Function<String, List<PortForward>> forwards,
      InformerEventSource<Node, PortForward> nodes,
      InformerEventSource<PortForwardNodeReport, PortForward> reports,
      RelayObjects relays) {}

  private final Caches caches;
  private final Function<String, ForwardPolicy> policies;
  private final Supplier<ApiServer> apiServer;

  InformerSnapshot(Caches caches, Function<String, ForwardPolicy> policies, Supplier<ApiServer> apiServer) {
    this.caches = caches;
    this.policies = policies;
    this.apiServer = apiServer;
  }

  @Override
  public Optional<Service> service(String namespace, String name) {
    return caches.services().get(new ResourceID(name, namespace));
  }

  @Override
  public List<EndpointSlice> endpointSlices(String namespace, String service) {
    return caches.endpointSlices()
        .list(namespace, s -> s.getMetadata().getLabels() != null
            && service.equals(s.getMetadata().getLabels().get(PortForwardReconciler.SERVICE_NAME_LABEL)))
        .toList();
  }

  @Override
  public List<Pod> pods(String namespace) {
    return caches.pods().list(namespace).toList();
  }

  @Override
  public ForwardPolicy policy(String namespace) {
    return policies.apply(namespace);
  }

  @Override
  public List<PortForward> forwards(String namespace) {
    return caches.forwards().apply(namespace);
  }

  @Override
  public List<PortForward> claimants(String claimKey) {
    return caches.claimants().apply(claimKey);
  }

  @Override
  public List<Node> nodes() {
    return caches.nodes().list().toList();
  }

  @Override
  public Optional<PortForwardNodeReport> report(String node) {
    return caches.reports().get(new ResourceID(node));
  }

  @Override
  public Optional<Deployment> relayDeployment(String namespace, String name) {
    return caches.relays().deployment(namespace, name);
  }

  @Override
  public ApiServer apiServer() {
    return apiServer.get();
  }

  @Override
  public InetAddress[] lookup(String host) throws UnknownHostException {
    return InetAddress.getAllByName(host);
  }
}
