package dev.portforward.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.Map;

/** Pods in the PortForward's own namespace, chosen by labels. */
public class PodsTarget {

  @Required
  @Size(min = 1, max = Limits.MAX_SELECTOR_LABELS)
  @JsonPropertyDescription("Pods with all of these labels are the backends.")
  private Map<String, String> selector;

  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription("Port on the pods.")
  private int port;

  public Map<String, String> getSelector() {
    return selector;
  }

  public void setSelector(Map<String, String> selector) {
    this.selector = selector;
  }

  public int getPort() {
    return port;
  }

  public void setPort(int port) {
    this.port = port;
  }
}
