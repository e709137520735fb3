package dev.portforward.operator;

import dev.portforward.operator.target.ClusterView;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Optional;

/** The cluster as the operator's informer caches see it: no API call per reconcile. */
final class InformerClusterView implements ClusterView {

  private final InformerEventSource<Service, ?> services;
  private final InformerEventSource<EndpointSlice, ?> endpointSlices;
  private final InformerEventSource<Pod, ?> pods;

  InformerClusterView(
      InformerEventSource<Service, ?> services,
      InformerEventSource<EndpointSlice, ?> endpointSlices,
      InformerEventSource<Pod, ?> pods) {
    this.services = services;
    this.endpointSlices = endpointSlices;
    this.pods = pods;
  }

  @Override
  public Optional<Service> service(String namespace, String name) {
    return services.get(new ResourceID(name, namespace));
  }

  @Override
  public List<EndpointSlice> endpointSlices(String namespace, String service) {
    return endpointSlices
        .list(namespace, s -> s.getMetadata().getLabels() != null
            && service.equals(s.getMetadata().getLabels().get(PortForwardReconciler.SERVICE_NAME_LABEL)))
        .toList();
  }

  @Override
  public List<Pod> pods(String namespace) {
    return pods.list(namespace).toList();
  }
}
