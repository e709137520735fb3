package dev.portforward.operator.target;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.List;
import java.util.Optional;

/** The cluster objects a target can refer to, as the operator currently sees them (its caches). */
public interface ClusterView {

  Optional<Service> service(String namespace, String name);

  /** EndpointSlices labelled kubernetes.io/service-name=service. */
  List<EndpointSlice> endpointSlices(String namespace, String service);

  List<Pod> pods(String namespace);
}
