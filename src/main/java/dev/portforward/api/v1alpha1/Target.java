package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * Where traffic goes: exactly one of a Service, several Services with weights, a set of Pods, or a
 * host outside the cluster.
 */
@ValidationRule(
    value = "[has(self.service), has(self.services), has(self.pods), has(self.external)].filter(x, x).size() == 1",
    message = "target must set exactly one of service, services, pods or external")
public class Target {

  @JsonPropertyDescription("A Service in the PortForward's namespace; traffic goes to its ready endpoints.")
  private ServiceTarget service;

  @Size(min = 1, max = Limits.MAX_WEIGHTED_SERVICES)
  @ValidationRule(
      value = "self.all(a, self.exists_one(b, b.name == a.name && b.port == a.port))",
      message = "services must not name the same Service and port twice")
  @ValidationRule(
      value = "self.exists(s, !has(s.weight) || s.weight > 0)",
      message = "services needs a weight above 0 on at least one Service: with all weights 0 nothing gets traffic")
  @JsonPropertyDescription("Services in the PortForward's namespace with weights (a canary, or a Gateway API route's"
      + " backendRefs): each new connection goes to one of them in proportion to its weight, and within it to one of"
      + " its ready endpoints. A Service that does not exist or has no ready endpoint takes no share: the others get"
      + " all the traffic. With relay.mode None (the node's kernel deals the weights) or Deployment (the relay picks a"
      + " Service per connection and dials its cluster IP); not with Sidecar.")
  private List<WeightedService> services;

  @JsonPropertyDescription("Pods in the PortForward's namespace chosen by labels; traffic goes to the ready ones.")
  private PodsTarget pods;

  @JsonPropertyDescription(
      "A host outside the cluster. Only where the operator's policy allows external targets.")
  private ExternalTarget external;

  public ServiceTarget getService() {
    return service;
  }

  public void setService(ServiceTarget service) {
    this.service = service;
  }

  public List<WeightedService> getServices() {
    return services;
  }

  public void setServices(List<WeightedService> services) {
    this.services = services;
  }

  public PodsTarget getPods() {
    return pods;
  }

  public void setPods(PodsTarget pods) {
    this.pods = pods;
  }

  public ExternalTarget getExternal() {
    return external;
  }

  public void setExternal(ExternalTarget external) {
    this.external = external;
  }
}
