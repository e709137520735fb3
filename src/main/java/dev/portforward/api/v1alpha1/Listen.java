package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

/** Where a forward accepts traffic: a port on the selected nodes. */
public class Listen {

  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("Port on the node that clients connect to (1-65535).")
  private int port;

  @Size(max = Limits.MAX_SELECTOR_LABELS)
  @JsonPropertyDescription("Only nodes with all of these labels listen. Empty means every node.")
  private Map<String, String> nodeSelector;

  @Size(max = Limits.MAX_LISTEN_ADDRESSES)
  @ValidationRule(
      value = "self.all(a, isIP(a))",
      message = "listen.addresses must be IP addresses such as 192.0.2.10 or 2001:db8::10")
  @JsonPropertyDescription(
      "Only these node addresses accept the forward. Empty means every address of the node.")
  private List<@Size(max = Limits.MAX_IP) String> addresses;

  public int getPort() {
    return port;
  }

  public void setPort(int port) {
    this.port = port;
  }

  public Map<String, String> getNodeSelector() {
    return nodeSelector;
  }

  public void setNodeSelector(Map<String, String> nodeSelector) {
    this.nodeSelector = nodeSelector;
  }

  public List<String> getAddresses() {
    return addresses;
  }

  public void setAddresses(List<String> addresses) {
    this.addresses = addresses;
  }
}
