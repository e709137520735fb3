package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** A host outside the cluster, allowed only by the operator's policy. */
public class ExternalTarget {

  @Required
  @Size(min = 1, max = Limits.MAX_HOST)
  @ValidationRule(
      value = "isIP(self) || self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
      message = "external.host must be an IP address or a lower-case DNS name")
  @JsonPropertyDescription("IP address or DNS name. A name is resolved once and that address is checked and used.")
  private String host;

  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("Port on the host.")
  private int port;

  public String getHost() {
    return host;
  }

  public void setHost(String host) {
    this.host = host;
  }

  public int getPort() {
    return port;
  }

  public void setPort(int port) {
    this.port = port;
  }
}
