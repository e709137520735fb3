package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/**
 * A port ssh -R may bind and the Service in the namespace that leads to it.
 */
public class TunnelRemoteForward {

  @Required
  @Min(1024)
  @Max(65535)
  @JsonPropertyDescription("The port the client asks for (ssh -R PORT:...). Unprivileged: the tunnel runs without root.")
  private Integer port;

  @Required
  @Size(max = 63)
  @Pattern("^[a-z]([-a-z0-9]*[a-z0-9])?$")
  @JsonPropertyDescription("The Service the operator keeps for this port, with the tunnel pod as its endpoint.")
  private String serviceName;

  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("The Service's port (default: port).")
  private Integer servicePort;

  public Integer getPort() {
    return port;
  }

  public void setPort(Integer port) {
    this.port = port;
  }

  public String getServiceName() {
    return serviceName;
  }

  public void setServiceName(String serviceName) {
    this.serviceName = serviceName;
  }

  public Integer getServicePort() {
    return servicePort;
  }

  public void setServicePort(Integer servicePort) {
    this.servicePort = servicePort;
  }
}
