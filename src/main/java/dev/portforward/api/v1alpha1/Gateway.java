package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;

/** A port mapping requested from the gateway in front of the cluster. */
public class Gateway {

  @Default("Auto")
  @JsonPropertyDescription("Auto (PCP, then NAT-PMP, then UPnP IGD), UPnP, NATPMP or PCP.")
  private GatewayProtocol protocol = GatewayProtocol.Auto;

  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("External port to ask for. Defaults to listen.port.")
  private Integer externalPort;

  @Default("1h")
  @Size(max = 32)
  @Pattern("^([0-9]+(s|m|h))+$")
  @JsonPropertyDescription("Lease to ask for, renewed well before it ends, such as 1h.")
  private String lease = "1h";

  public GatewayProtocol getProtocol() {
    return protocol;
  }

  public void setProtocol(GatewayProtocol protocol) {
    this.protocol = protocol;
  }

  public Integer getExternalPort() {
    return externalPort;
  }

  public void setExternalPort(Integer externalPort) {
    this.externalPort = externalPort;
  }

  public String getLease() {
    return lease;
  }

  public void setLease(String lease) {
    this.lease = lease;
  }
}
