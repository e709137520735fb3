package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/** Gateway mapping granted by a policy, limited to the external ports it lists. */
public class GatewayGrant {

  @Required
  @Size(min = 1, max = Limits.MAX_PORT_RANGES)
  @JsonPropertyDescription(
      "External ports a PortForward may ask the gateway for (spec.gateway.externalPort, by default listen.port).")
  private List<PortRange> externalPorts;

  public List<PortRange> getExternalPorts() {
    return externalPorts;
  }

  public void setExternalPorts(List<PortRange> externalPorts) {
    this.externalPorts = externalPorts;
  }
}
