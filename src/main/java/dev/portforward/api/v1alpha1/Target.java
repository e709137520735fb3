package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.ValidationRule;

/** Where traffic goes: exactly one of a Service, a set of Pods, or a host outside the cluster. */
@ValidationRule(
    value = "[has(self.service), has(self.pods), has(self.external)].filter(x, x).size() == 1",
    message = "target must set exactly one of service, pods or external")
public class Target {

  @JsonPropertyDescription("A Service in the PortForward's namespace; traffic goes to its ready endpoints.")
  private ServiceTarget service;

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
